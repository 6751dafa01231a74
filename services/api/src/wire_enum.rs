//! `wire_enum!`: the one way an enum crosses the wire and the database, shared by every context.

/// An enum sent as snake_case strings, stored as a Postgres enum and parsed with a field error.
///
/// The wire names are matched as `tt`, not `literal`: a `literal` fragment reaches the derives
/// wrapped in an invisible group, which serde unwraps but utoipa's `#[serde(rename)]` parser
/// silently skips, so the OpenAPI document listed the Rust variant names (`PerSession`) while
/// the wire carried `per_session`. A bare token reaches both derives as a plain string literal.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $sql:literal, $field:literal, { $($variant:ident => $text:tt),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema, ::sqlx::Type)]
        #[sqlx(type_name = $sql)]
        pub enum $name {
            $(#[serde(rename = $text)] #[sqlx(rename = $text)] $variant),*
        }

        impl $name {
            pub const ALL: &'static [&'static str] = &[$($text),*];
            pub const VARIANTS: &'static [Self] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            pub fn parse(raw: &str) -> $crate::error::ApiResult<Self> {
                match raw {
                    $($text => Ok($name::$variant),)*
                    _ => Err($crate::error::ApiError::field($field, format!("must be one of {}", Self::ALL.join(", ")))),
                }
            }
        }
    };
}

pub(crate) use wire_enum;
