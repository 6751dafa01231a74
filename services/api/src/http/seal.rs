//! Signed opaque tokens (pagination cursors): `base64url(json || HMAC-SHA256(key, purpose, json)[..16])`.
//! The server reads back only what it wrote: a tampered, truncated or foreign token opens to `None`,
//! which callers answer as a 400 naming the parameter. Decoded values are still range-checked by
//! the caller (defence in depth: a leaked key must not turn into SQL errors).

use crate::auth::tokens;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

const TAG_LEN: usize = 16;

#[derive(Clone)]
pub struct Sealer {
    key: Arc<[u8]>,
}

impl Sealer {
    /// `secret` is the server's signing secret; the sealing key is derived from it.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: tokens::hmac_sha256(secret, &["cursor-sealing-key"]).into(),
        }
    }

    fn tag(&self, purpose: &str, json: &str) -> Vec<u8> {
        let mut tag = tokens::hmac_sha256(&self.key, &[purpose, json]);
        tag.truncate(TAG_LEN);
        tag
    }

    pub fn seal<T: Serialize>(&self, purpose: &str, value: &T) -> String {
        let json = serde_json::to_string(value).unwrap_or_default();
        let mut bytes = json.clone().into_bytes();
        bytes.extend_from_slice(&self.tag(purpose, &json));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The value sealed for `purpose`, or `None` for anything this server did not seal for it.
    pub fn open<T: DeserializeOwned>(&self, purpose: &str, raw: &str, max_len: usize) -> Option<T> {
        if raw.len() > max_len {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).ok()?;
        let split = bytes.len().checked_sub(TAG_LEN)?;
        let (json, tag) = bytes.split_at(split);
        let json = std::str::from_utf8(json).ok()?;
        let expected = self.tag(purpose, json);
        let differs = expected
            .iter()
            .zip(tag)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if differs != 0 {
            return None;
        }
        serde_json::from_str(json).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_what_it_sealed_for_the_same_purpose() {
        let sealer = Sealer::new(b"a secret of at least thirty-two bytes!!");
        let token = sealer.seal("browse", &(7_i64, "x"));
        assert_eq!(
            sealer.open::<(i64, String)>("browse", &token, 512),
            Some((7, "x".to_owned()))
        );
        assert_eq!(
            sealer.open::<(i64, String)>("transactions", &token, 512),
            None
        );
        let other = Sealer::new(b"another secret of at least thirty-two b");
        assert_eq!(other.open::<(i64, String)>("browse", &token, 512), None);
        assert_eq!(sealer.open::<(i64, String)>("browse", &token, 8), None);
    }

    #[test]
    fn any_changed_byte_is_refused() {
        let sealer = Sealer::new(b"a secret of at least thirty-two bytes!!");
        let token = sealer.seal("browse", &("0000-01-01T00:00:00Z", 1));
        let bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        for i in 0..bytes.len() {
            let mut tampered = bytes.clone();
            tampered[i] ^= 0x01;
            let raw = URL_SAFE_NO_PAD.encode(&tampered);
            assert_eq!(
                sealer.open::<serde_json::Value>("browse", &raw, 512),
                None,
                "byte {i}"
            );
        }
        assert_eq!(sealer.open::<serde_json::Value>("browse", "", 512), None);
        assert_eq!(sealer.open::<serde_json::Value>("browse", "!!", 512), None);
    }
}
