//! Opaque browse cursors, sealed by the server (HMAC, see [`Sealer`]): they name the tenant, the
//! user, a fingerprint of the query (filters and sort) and where the next page starts. A tampered
//! cursor, or one from another tenant, user or query, is 400 `cursor`; decoded keys are
//! range-checked against the sort's column anyway.

use super::repo::{Position, Sort};
use crate::error::{ApiError, ApiResult};
use crate::http::seal::Sealer;
use crate::ids::{AgentId, TenantId, UserId};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Tenant.
    t: TenantId,
    /// User.
    u: UserId,
    /// Query fingerprint.
    q: String,
    /// Keyset position (sort key and id) ...
    #[serde(skip_serializing_if = "Option::is_none")]
    k: Option<(String, AgentId)>,
    /// ... or an offset (relevance order).
    #[serde(skip_serializing_if = "Option::is_none")]
    o: Option<i64>,
}

const PURPOSE: &str = "browse";

/// Whom and which query a cursor belongs to.
#[derive(Clone, Copy)]
pub struct Owner<'a> {
    pub tenant: TenantId,
    pub user: UserId,
    pub fingerprint: &'a str,
}

pub fn encode(sealer: &Sealer, owner: Owner<'_>, position: &Position) -> String {
    let (tenant, user, fingerprint) = (owner.tenant, owner.user, owner.fingerprint);
    let payload = match position {
        Position::After { key, id } => Payload {
            t: tenant,
            u: user,
            q: fingerprint.to_owned(),
            k: Some((key.clone(), *id)),
            o: None,
        },
        Position::Offset(offset) => Payload {
            t: tenant,
            u: user,
            q: fingerprint.to_owned(),
            k: None,
            o: Some(*offset),
        },
    };
    sealer.seal(PURPOSE, &payload)
}

/// Timestamps a listing can carry (Postgres has no year 0; nothing was listed before 1970).
fn plausible_time(key: &str) -> bool {
    use chrono::Datelike as _;
    chrono::DateTime::parse_from_rfc3339(key).is_ok_and(|t| (1970..=9999).contains(&t.year()))
}

/// Whether `key` is a value of the sort's column (a tampered key must be a 400, not a SQL error).
fn key_fits(sort: Sort, key: &str) -> bool {
    match sort {
        Sort::Newest => plausible_time(key),
        Sort::PriceAsc | Sort::PriceDesc | Sort::Rating => key
            .parse::<rust_decimal::Decimal>()
            .is_ok_and(|d| d.scale() <= 4 && !d.is_sign_negative()),
        Sort::Popularity | Sort::Relevance => key.parse::<i64>().is_ok_and(|n| n >= 0),
    }
}

pub fn decode(sealer: &Sealer, raw: &str, owner: Owner<'_>, sort: Sort) -> ApiResult<Position> {
    let invalid = || {
        ApiError::field(
            "cursor",
            "is not a cursor returned by this query (nextCursor)",
        )
    };
    let payload: Payload = sealer.open(PURPOSE, raw, 512).ok_or_else(invalid)?;
    if payload.t != owner.tenant || payload.u != owner.user || payload.q != owner.fingerprint {
        return Err(invalid());
    }
    match (payload.k, payload.o) {
        (Some((key, id)), None) if key.len() <= 64 && key_fits(sort, &key) => {
            Ok(Position::After { key, id })
        }
        (None, Some(offset)) if (0..=crate::http::pagination::MAX_OFFSET).contains(&offset) => {
            Ok(Position::Offset(offset))
        }
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::new(b"a test secret of at least thirty-two bytes")
    }

    fn owner(tenant: TenantId, user: UserId, fingerprint: &str) -> Owner<'_> {
        Owner {
            tenant,
            user,
            fingerprint,
        }
    }

    #[test]
    fn round_trips_and_refuses_foreign_cursors() {
        let (tenant, user) = (TenantId::new_v7(), UserId::new_v7());
        let position = Position::After {
            key: "12.5".into(),
            id: AgentId::new_v7(),
        };
        let cursor = encode(&sealer(), owner(tenant, user, "abc"), &position);
        let ok = decode(
            &sealer(),
            &cursor,
            owner(tenant, user, "abc"),
            Sort::PriceAsc,
        );
        assert!(matches!(ok, Ok(Position::After { .. })));
        for (what, other) in [
            ("another tenant", owner(TenantId::new_v7(), user, "abc")),
            ("another user", owner(tenant, UserId::new_v7(), "abc")),
            ("another query", owner(tenant, user, "abd")),
        ] {
            assert!(
                decode(&sealer(), &cursor, other, Sort::PriceAsc).is_err(),
                "{what}"
            );
        }
        assert!(
            decode(
                &sealer(),
                "not-base64!",
                owner(tenant, user, "abc"),
                Sort::PriceAsc
            )
            .is_err()
        );
    }

    #[test]
    fn an_unsealed_cursor_is_refused_even_when_its_content_is_valid() {
        use base64::Engine as _;
        let (tenant, user) = (TenantId::new_v7(), UserId::new_v7());
        let forged = serde_json::json!({"t": tenant, "u": user, "q": "q", "o": 10});
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&forged).expect("json"));
        assert!(decode(&sealer(), &raw, owner(tenant, user, "q"), Sort::Popularity).is_err());
    }

    #[test]
    fn keys_that_do_not_fit_the_sort_are_refused() {
        let (tenant, user) = (TenantId::new_v7(), UserId::new_v7());
        for (sort, key) in [
            (Sort::Newest, "not-a-date"),
            (Sort::Newest, "0000-01-01T00:00:00Z"),
            (Sort::Newest, "1969-12-31T23:59:59Z"),
            (Sort::PriceAsc, "1e999999999"),
            (Sort::Rating, ""),
            (Sort::Popularity, "12.5"),
            (Sort::Popularity, "-1"),
        ] {
            let position = Position::After {
                key: key.into(),
                id: AgentId::new_v7(),
            };
            let cursor = encode(&sealer(), owner(tenant, user, "q"), &position);
            assert!(
                decode(&sealer(), &cursor, owner(tenant, user, "q"), sort).is_err(),
                "{sort:?} {key:?}"
            );
        }
    }
}
