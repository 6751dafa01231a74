//! Public ids of wallet transactions. A posting's id is a sequence shared by every tenant, so
//! showing it would tell any user how much the whole platform moves between two of their own
//! transactions. Clients see instead a keyed permutation of it (a four-round Feistel network over
//! 64 bits with HMAC-SHA256 as the round function, keyed per tenant): distinct for distinct
//! postings, stable, meaningless without the key, and reversible by the server, so a cursor can
//! carry the public id and still seek by the private one.

use crate::auth::tokens;
use uuid::Uuid;

const ROUNDS: u32 = 4;

fn round(key: &Uuid, index: u32, half: u32) -> u32 {
    let mac = tokens::hmac_sha256(
        key.as_bytes(),
        &["posting-id", &index.to_string(), &half.to_string()],
    );
    u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]])
}

/// The public id of posting `id` in the tenant whose key is `key`.
pub fn conceal(key: &Uuid, id: i64) -> String {
    let value = id as u64;
    let (mut left, mut right) = ((value >> 32) as u32, value as u32);
    for index in 0..ROUNDS {
        (left, right) = (right, left ^ round(key, index, right));
    }
    ((u64::from(left) << 32) | u64::from(right)).to_string()
}

/// The posting id behind a public id, or `None` for text that is no public id of this tenant's
/// key space (not a number, or not a positive posting id once decoded).
pub fn reveal(key: &Uuid, public: &str) -> Option<i64> {
    let value: u64 = public.parse().ok()?;
    let (mut left, mut right) = ((value >> 32) as u32, value as u32);
    for index in (0..ROUNDS).rev() {
        (left, right) = (right ^ round(key, index, left), left);
    }
    let id = i64::try_from((u64::from(left) << 32) | u64::from(right)).ok()?;
    (id > 0).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_ids_round_trip_and_hide_the_sequence() {
        let key = Uuid::new_v4();
        let ids: Vec<String> = (1..=1000).map(|id| conceal(&key, id)).collect();
        for (n, public) in ids.iter().enumerate() {
            assert_eq!(reveal(&key, public), Some(n as i64 + 1));
        }
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "a permutation");
        let increasing = ids
            .windows(2)
            .filter(|w| w[0].parse::<u64>().ok() < w[1].parse::<u64>().ok())
            .count();
        assert!(
            (300..=700).contains(&increasing),
            "consecutive postings look unordered: {increasing} of 999 increase"
        );
        assert!(
            ids.iter().all(|id| id.len() > 6),
            "no small numbers: {ids:?}"
        );
    }

    #[test]
    fn another_key_gives_other_ids_and_junk_reveals_nothing() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert_ne!(conceal(&a, 42), conceal(&b, 42));
        assert_ne!(reveal(&b, &conceal(&a, 42)), Some(42));
        for junk in ["", "abc", "-1", "18446744073709551616", "1.5"] {
            assert_eq!(reveal(&a, junk), None, "{junk}");
        }
        assert_eq!(reveal(&a, &conceal(&a, i64::MAX)), Some(i64::MAX));
    }
}
