//! Opaque browse cursors: base64url JSON naming the tenant, a fingerprint of the query (filters
//! and sort) and where the next page starts. A cursor from another tenant or another query is 400.

use super::repo::Position;
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

pub fn decode(raw: &str, tenant: Uuid, fingerprint: &str) -> ApiResult<Position> {
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
        (Some((key, id)), None) if key.len() <= 64 => Ok(Position::After { key, id }),
        (None, Some(offset)) if (0..=super::service::MAX_OFFSET).contains(&offset) => {
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
        assert!(matches!(
            decode(&cursor, tenant, "abc"),
            Ok(Position::After { .. })
        ));
        assert!(
            decode(&cursor, Uuid::now_v7(), "abc").is_err(),
            "another tenant"
        );
        assert!(decode(&cursor, tenant, "abd").is_err(), "another query");
        assert!(decode("not-base64!", tenant, "abc").is_err());
        assert!(decode(&URL_SAFE_NO_PAD.encode(b"{\"t\":1}"), tenant, "abc").is_err());
    }
}
