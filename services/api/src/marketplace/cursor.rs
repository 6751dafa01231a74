//! Opaque browse cursors: base64url JSON naming the tenant, a fingerprint of the query (filters
//! and sort) and where the next page starts. A cursor from another tenant or another query is 400.

use super::repo::{Position, Sort};
use crate::error::{ApiError, ApiResult};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Tenant.
    t: Uuid,
    /// Query fingerprint.
    q: String,
    /// Keyset position (sort key and id) ...
    #[serde(skip_serializing_if = "Option::is_none")]
    k: Option<(String, Uuid)>,
    /// ... or an offset (relevance order).
    #[serde(skip_serializing_if = "Option::is_none")]
    o: Option<i64>,
}

pub fn encode(tenant: Uuid, fingerprint: &str, position: &Position) -> String {
    let payload = match position {
        Position::After { key, id } => Payload {
            t: tenant,
            q: fingerprint.to_owned(),
            k: Some((key.clone(), *id)),
            o: None,
        },
        Position::Offset(offset) => Payload {
            t: tenant,
            q: fingerprint.to_owned(),
            k: None,
            o: Some(*offset),
        },
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap_or_default())
}

/// Whether `key` is a value of the sort's column (a tampered key must be a 400, not a SQL error).
fn key_fits(sort: Sort, key: &str) -> bool {
    match sort {
        Sort::Newest => chrono::DateTime::parse_from_rfc3339(key).is_ok(),
        Sort::PriceAsc | Sort::PriceDesc | Sort::Rating => key
            .parse::<rust_decimal::Decimal>()
            .is_ok_and(|d| d.scale() <= 4 && !d.is_sign_negative()),
        Sort::Popularity | Sort::Relevance => key.parse::<i64>().is_ok_and(|n| n >= 0),
    }
}

pub fn decode(raw: &str, tenant: Uuid, fingerprint: &str, sort: Sort) -> ApiResult<Position> {
    let invalid = || {
        ApiError::field(
            "cursor",
            "is not a cursor returned by this query (nextCursor)",
        )
    };
    if raw.len() > 512 {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| invalid())?;
    let payload: Payload = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if payload.t != tenant || payload.q != fingerprint {
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

    #[test]
    fn round_trips_and_refuses_foreign_cursors() {
        let tenant = Uuid::now_v7();
        let position = Position::After {
            key: "12.5".into(),
            id: Uuid::now_v7(),
        };
        let cursor = encode(tenant, "abc", &position);
        let ok = decode(&cursor, tenant, "abc", Sort::PriceAsc);
        assert!(matches!(ok, Ok(Position::After { .. })));
        assert!(
            decode(&cursor, Uuid::now_v7(), "abc", Sort::PriceAsc).is_err(),
            "another tenant"
        );
        assert!(
            decode(&cursor, tenant, "abd", Sort::PriceAsc).is_err(),
            "another query"
        );
        assert!(decode("not-base64!", tenant, "abc", Sort::PriceAsc).is_err());
        let junk = URL_SAFE_NO_PAD.encode(b"{\"t\":1}");
        assert!(decode(&junk, tenant, "abc", Sort::PriceAsc).is_err());
    }

    #[test]
    fn keys_that_do_not_fit_the_sort_are_refused() {
        let tenant = Uuid::now_v7();
        for (sort, key) in [
            (Sort::Newest, "not-a-date"),
            (Sort::PriceAsc, "1e999999999"),
            (Sort::Rating, ""),
            (Sort::Popularity, "12.5"),
            (Sort::Popularity, "-1"),
        ] {
            let position = Position::After {
                key: key.into(),
                id: Uuid::now_v7(),
            };
            let cursor = encode(tenant, "q", &position);
            assert!(
                decode(&cursor, tenant, "q", sort).is_err(),
                "{sort:?} {key:?}"
            );
        }
    }
}
