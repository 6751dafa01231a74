//! Credentials: passwords, JWTs, API keys, agent tokens, and the principal extractor.

pub mod jwt;
pub mod password;
pub mod principal;
pub mod tokens;
