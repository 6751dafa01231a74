//! Password hashing: argon2id at the OWASP baseline (19 MiB, t=2, p=1), computed on the blocking
//! pool behind a semaphore so a burst of logins cannot starve the API. Unknown emails are verified
//! against a dummy hash so they cost the same as wrong passwords.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tracing::Instrument;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    Match { needs_rehash: bool },
    Mismatch,
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hash failed: {e}"))
}

fn verify_blocking(password: &str, stored: &str) -> anyhow::Result<Verification> {
    let parsed =
        PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
    match argon2().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => {
            let current = Params::try_from(&parsed).ok();
            let needs_rehash = parsed.algorithm.as_str() != "argon2id"
                || current.is_none_or(|p| {
                    p.m_cost() < Params::DEFAULT_M_COST || p.t_cost() < Params::DEFAULT_T_COST
                });
            Ok(Verification::Match { needs_rehash })
        }
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(Verification::Mismatch),
        Err(e) => Err(anyhow::anyhow!("argon2 verify failed: {e}")),
    }
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let dummy_hash = hash_blocking(&crate::auth::tokens::random_alphanumeric(24))?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            dummy_hash: dummy_hash.into(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await?;
        let span = tracing::info_span!("password_hash");
        tokio::task::spawn_blocking(move || span.in_scope(job))
            .instrument(tracing::Span::current())
            .await?
    }

    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        self.run(move || hash_blocking(&password)).await
    }

    /// Verifies `password` against `stored`, or against a dummy hash when there is no account.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> anyhow::Result<Verification> {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let outcome = self
            .run(move || verify_blocking(&password, &stored))
            .await?;
        Ok(if known {
            outcome
        } else {
            Verification::Mismatch
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_at_the_owasp_baseline_and_verify() {
        let hasher = PasswordHasher::new(1).expect("hasher");
        let hash = hasher.hash("correct horse".into()).await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let ok = hasher
            .verify("correct horse".into(), Some(hash.clone()))
            .await
            .expect("verify");
        assert_eq!(
            ok,
            Verification::Match {
                needs_rehash: false
            }
        );
        let bad = hasher
            .verify("wrong horse".into(), Some(hash))
            .await
            .expect("verify");
        assert_eq!(bad, Verification::Mismatch);
    }

    #[tokio::test]
    async fn unknown_accounts_never_match_even_with_the_dummy_password() {
        let hasher = PasswordHasher::new(1).expect("hasher");
        let outcome = hasher
            .verify("anything".into(), None)
            .await
            .expect("verify");
        assert_eq!(outcome, Verification::Mismatch);
    }

    #[tokio::test]
    async fn weaker_parameters_ask_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).expect("params"),
        )
        .hash_password(b"pw-123456")
        .expect("hash")
        .to_string();
        let hasher = PasswordHasher::new(1).expect("hasher");
        let outcome = hasher
            .verify("pw-123456".into(), Some(weak))
            .await
            .expect("verify");
        assert_eq!(outcome, Verification::Match { needs_rehash: true });
    }
}
