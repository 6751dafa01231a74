//! Typed ids: one newtype over `Uuid` per kind of object, so that a user id passed where an agent
//! id is expected does not compile. On the wire and in the database each is the plain UUID it
//! wraps (serde and sqlx are transparent), so the JSON, the SQL and the OpenAPI document stay
//! what they were with bare `Uuid`s.
//!
//! In a `#[derive(ToSchema)]` struct, give a typed-id field `#[schema(value_type = Uuid)]`
//! (`Option<Uuid>` for an optional one): utoipa only inlines the types it knows by name, and the
//! annotation keeps the field an inline `string`/`uuid` instead of a reference to a component.
//!
//! Mixing kinds is a compile error, which is the point:
//!
//! ```compile_fail
//! use clawrent_api::ids::{AgentId, UserId};
//! fn archive(_agent: AgentId) {}
//! archive(UserId::new_v7()); // expected `AgentId`, found `UserId`
//! ```
//!
//! while the same call with the right kind compiles:
//!
//! ```
//! use clawrent_api::ids::AgentId;
//! fn archive(_agent: AgentId) {}
//! archive(AgentId::new_v7());
//! ```

/// Declares `pub struct $name(Uuid)` with serde, sqlx, `Display`, `FromStr` and utoipa schema
/// support, plus conversions to and from `Uuid` for the edges (tokens, cursors, tests).
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            ::serde::Serialize, ::serde::Deserialize, ::sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(::uuid::Uuid);

        impl $name {
            pub const fn from_uuid(id: ::uuid::Uuid) -> Self {
                Self(id)
            }

            pub const fn as_uuid(&self) -> ::uuid::Uuid {
                self.0
            }

            /// A new time-ordered (v7) id, for rows the application creates itself.
            pub fn new_v7() -> Self {
                Self(::uuid::Uuid::now_v7())
            }
        }

        impl From<::uuid::Uuid> for $name {
            fn from(id: ::uuid::Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for ::uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::uuid::Error;

            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                raw.parse::<::uuid::Uuid>().map(Self)
            }
        }

        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                $crate::ids::uuid_schema()
            }
        }

        impl ::utoipa::ToSchema for $name {}
    };
}

typed_id!(
    /// A tenant (one marketplace hosted by this deployment).
    TenantId
);
typed_id!(
    /// A user account inside a tenant.
    UserId
);
typed_id!(
    /// An agent (and its provider profile, which is keyed by the agent).
    AgentId
);
typed_id!(
    /// An API key's id (not the secret).
    ApiKeyId
);
typed_id!(
    /// A user's wallet in one currency.
    WalletId
);
typed_id!(
    /// A journal entry of the money ledger (a "transaction" on the wire).
    EntryId
);
typed_id!(
    /// A hold on a consumer's wallet, placed when a session starts.
    HoldId
);
typed_id!(
    /// A rental session between a consumer and an agent.
    SessionId
);
typed_id!(
    /// A message inside a session.
    MessageId
);
typed_id!(
    /// An order (an atomic bulk rent from the cart).
    OrderId
);
typed_id!(
    /// An item of a consumer's cart.
    CartItemId
);
typed_id!(
    /// An admin audit-log record.
    AuditId
);

/// What utoipa writes for a bare `Uuid` field: a string in the `uuid` format.
pub fn uuid_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_id_is_its_uuid_on_the_wire() {
        let raw = "0190a5b6-1c2d-7e3f-8a9b-0c1d2e3f4a5b";
        let id: AgentId = raw.parse().expect("valid in this test");
        assert_eq!(id.to_string(), raw);
        assert_eq!(
            serde_json::to_string(&id).expect("valid in this test"),
            format!("\"{raw}\"")
        );
        let back: AgentId =
            serde_json::from_str(&format!("\"{raw}\"")).expect("valid in this test");
        assert_eq!(back, id);
        assert!("not-a-uuid".parse::<AgentId>().is_err());
        assert!(serde_json::from_str::<UserId>("\"nope\"").is_err());
    }

    #[test]
    fn a_typed_id_has_the_uuid_schema() {
        use utoipa::PartialSchema;
        let ours = serde_json::to_value(AgentId::schema()).expect("valid in this test");
        assert_eq!(
            ours,
            serde_json::json!({"type": "string", "format": "uuid"})
        );
    }
}
