//! Random secrets shown once and stored as hashes: API keys (and, later, agent tokens).

use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt as _;
use sha2::{Digest, Sha256};

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Prefix of API keys (sent as `x-api-key`).
pub const API_KEY_PREFIX: &str = "clr_";
/// Prefix of agent tokens (sent as `Authorization: Bearer`).
pub const AGENT_TOKEN_PREFIX: &str = "agt_clawrent_";
/// Characters of a key kept in clear to let its owner recognise it in a list.
pub const DISPLAY_PREFIX_LEN: usize = 12;

pub fn random_alphanumeric(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())]))
        .collect()
}

/// A new API key: `clr_` + 40 random alphanumerics (about 238 bits).
pub fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", random_alphanumeric(40))
}

/// SHA-256 of a high-entropy secret. Enough for random keys (unlike passwords).
pub fn sha256(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Keyed hash for low-entropy secrets such as 6-digit codes: a database dump alone cannot be
/// brute-forced without the server key.
pub fn hmac_sha256(key: &[u8], parts: &[&str]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac.finalize().into_bytes().to_vec()
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_have_prefix_and_entropy() {
        let (a, b) = (new_api_key(), new_api_key());
        assert!(a.starts_with(API_KEY_PREFIX));
        assert_eq!(a.len(), API_KEY_PREFIX.len() + 40);
        assert_ne!(a, b);
    }

    #[test]
    fn hmac_separates_parts() {
        assert_ne!(
            hmac_sha256(b"k", &["ab", "c"]),
            hmac_sha256(b"k", &["a", "bc"])
        );
        assert_eq!(hmac_sha256(b"k", &["a"]), hmac_sha256(b"k", &["a"]));
        assert_ne!(hmac_sha256(b"k", &["a"]), hmac_sha256(b"j", &["a"]));
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq("secret-token", "secret-token"));
        assert!(!constant_time_eq("secret-token", "secret-tokem"));
        assert!(!constant_time_eq("secret", "secret-token"));
    }
}
