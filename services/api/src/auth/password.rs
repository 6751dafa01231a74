//! Password hashing: argon2id at the OWASP baseline (19 MiB, t=2, p=1), computed on the blocking
//! pool. Unknown emails are verified against a dummy hash so they cost the same as wrong passwords.
//!
//! Hashing is the most expensive thing a request can make the server do, so its queue is bounded
//! twice (docs/operations.md, "Rate limits and overload"):
//! - per client: a client key (the IP) may have `per_client` hashes running or queued; one more
//!   is refused at once with 503 `OVERLOADED`, so a flooding address cannot fill the queue in
//!   front of everyone else;
//! - in time: at most `concurrency` hashes run at once, and a request waits at most `max_wait` for
//!   a slot, then answers 503 `OVERLOADED` with Retry-After instead of queueing for a minute.
//!
//! The slot and the client's share are released when the hash finishes on the blocking pool, not
//! when the request is dropped, so abandoned requests cannot push more hashes than slots.

use crate::error::{ApiError, ApiResult};
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tracing::Instrument;

/// The client key of hashes made for the platform operator (the CLI's create-admin and
/// seed-demo, the operator API's tenant admins): one trusted client, never a client IP.
pub const OPERATOR_CLIENT: &str = "operator";

#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    /// Hashes computed at once (PASSWORD_HASH_CONCURRENCY).
    pub concurrency: usize,
    /// Longest wait for a slot (PASSWORD_HASH_MAX_WAIT).
    pub max_wait: Duration,
    /// Hashes one client may have running or queued (PASSWORD_HASH_PER_CLIENT).
    pub per_client: usize,
}

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    limits: HashLimits,
    clients: Arc<Mutex<HashMap<String, usize>>>,
    dummy_hash: Arc<str>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    Match { needs_rehash: bool },
    Mismatch,
}

/// One client's share of the queue, given back on drop.
struct ClientShare {
    clients: Arc<Mutex<HashMap<String, usize>>>,
    key: String,
}

impl Drop for ClientShare {
    fn drop(&mut self) {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = clients.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                clients.remove(&self.key);
            }
        }
    }
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
    pub fn new(limits: HashLimits) -> anyhow::Result<Self> {
        anyhow::ensure!(
            limits.concurrency > 0 && limits.per_client > 0,
            "hash limits must be positive"
        );
        let dummy_hash = hash_blocking(&crate::auth::tokens::random_alphanumeric(24))?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(limits.concurrency)),
            limits,
            clients: Arc::default(),
            dummy_hash: dummy_hash.into(),
        })
    }

    fn overloaded(&self, message: &str) -> ApiError {
        let secs = self.limits.max_wait.as_millis().div_ceil(1000);
        ApiError::overloaded(message, u64::try_from(secs).unwrap_or(u64::MAX))
    }

    /// Takes one of the client's shares, or refuses at once when it holds them all.
    fn share(&self, client: &str) -> ApiResult<ClientShare> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let count = clients.entry(client.to_owned()).or_insert(0);
        if *count >= self.limits.per_client {
            return Err(self.overloaded(
                "Too many password checks in progress from this address; retry shortly",
            ));
        }
        *count += 1;
        Ok(ClientShare {
            clients: Arc::clone(&self.clients),
            key: client.to_owned(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        client: &str,
        job: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> ApiResult<T> {
        let share = self.share(client)?;
        let permit = tokio::time::timeout(
            self.limits.max_wait,
            Arc::clone(&self.permits).acquire_owned(),
        )
        .await
        .map_err(|_| self.overloaded("The server is busy checking passwords; retry shortly"))?
        .map_err(ApiError::internal)?;
        let span = tracing::info_span!("password_hash");
        tokio::task::spawn_blocking(move || {
            let _held = (permit, share);
            span.in_scope(job)
        })
        .instrument(tracing::Span::current())
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
    }

    /// Hashes `password` on behalf of `client` (the client IP, or [`OPERATOR_CLIENT`]).
    pub async fn hash(&self, client: &str, password: String) -> ApiResult<String> {
        self.run(client, move || hash_blocking(&password)).await
    }

    /// Verifies `password` against `stored`, or against a dummy hash when there is no account.
    pub async fn verify(
        &self,
        client: &str,
        password: String,
        stored: Option<String>,
    ) -> ApiResult<Verification> {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let outcome = self
            .run(client, move || verify_blocking(&password, &stored))
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
    use crate::error::ErrorCode;

    /// Long enough that no test depends on how fast this machine is.
    const PATIENT: Duration = Duration::from_secs(120);

    fn hasher_waiting(concurrency: usize, per_client: usize, max_wait: Duration) -> PasswordHasher {
        PasswordHasher::new(HashLimits {
            concurrency,
            max_wait,
            per_client,
        })
        .expect("hasher")
    }

    fn hasher(concurrency: usize, per_client: usize) -> PasswordHasher {
        hasher_waiting(concurrency, per_client, PATIENT)
    }

    fn queued(hasher: &PasswordHasher, client: &str) -> usize {
        let clients = hasher.clients.lock().expect("lock");
        clients.get(client).copied().unwrap_or(0)
    }

    /// Lets spawned tasks run until `client` has `n` hashes queued.
    async fn until_queued(hasher: &PasswordHasher, client: &str, n: usize) {
        while queued(hasher, client) < n {
            tokio::task::yield_now().await;
        }
    }

    // The slot is held by taking the permit, as a running hash would, and never given back while
    // the second client waits: its wait must end in OVERLOADED, however long the wait is. The
    // outcome does not depend on the machine's speed (tokio's paused clock would need the
    // `test-util` feature, which this crate does not enable).
    #[tokio::test]
    async fn a_wait_for_a_slot_past_the_maximum_answers_overloaded_with_retry_after() {
        let hasher = hasher_waiting(1, 2, Duration::from_millis(1500));
        let slot = Arc::clone(&hasher.permits)
            .acquire_owned()
            .await
            .expect("permit");
        let err = hasher
            .verify("b", "pw".into(), None)
            .await
            .expect_err("no slot within the wait");
        assert_eq!(err.code, ErrorCode::Overloaded);
        assert_eq!(err.code.status().as_u16(), 503);
        assert_eq!(
            err.retry_after,
            Some(2),
            "max_wait rounded up to whole seconds"
        );
        assert_eq!(queued(&hasher, "b"), 0, "the share is given back");
        drop(slot);
    }

    #[tokio::test]
    async fn a_slot_freed_within_the_wait_is_taken() {
        let hasher = hasher(1, 2);
        let slot = Arc::clone(&hasher.permits)
            .acquire_owned()
            .await
            .expect("permit");
        let waiting = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.verify("b", "pw".into(), None).await }
        });
        until_queued(&hasher, "b", 1).await;
        drop(slot);
        let outcome = waiting
            .await
            .expect("task")
            .expect("hashed after the slot freed");
        assert_eq!(outcome, Verification::Mismatch);
    }

    #[tokio::test]
    async fn a_client_over_its_share_is_refused_at_once_while_others_still_queue() {
        let hasher = hasher(1, 2);
        let slot = Arc::clone(&hasher.permits)
            .acquire_owned()
            .await
            .expect("permit");
        let spawn = |client: &'static str| {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.verify(client, "pw".into(), None).await })
        };
        let flood = [spawn("flood"), spawn("flood")];
        until_queued(&hasher, "flood", 2).await;

        // The wait is 120 s and the slot is held: an answer now means it never queued.
        let err = hasher
            .verify("flood", "pw".into(), None)
            .await
            .expect_err("third from one client");
        assert_eq!(err.code, ErrorCode::Overloaded);
        assert!(err.message.contains("from this address"), "{}", err.message);
        assert!(err.retry_after.is_some());

        let user = spawn("user");
        until_queued(&hasher, "user", 1).await;
        drop(slot);
        for task in flood {
            task.await.expect("task").expect("queued flood hash runs");
        }
        let outcome = user
            .await
            .expect("task")
            .expect("the other client was served");
        assert_eq!(outcome, Verification::Mismatch);
        assert_eq!(queued(&hasher, "flood") + queued(&hasher, "user"), 0);
    }

    #[tokio::test]
    async fn hashes_are_argon2id_at_the_owasp_baseline_and_verify() {
        let hasher = hasher(1, 2);
        let hash = hasher
            .hash("a", "correct horse".into())
            .await
            .expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let ok = hasher
            .verify("a", "correct horse".into(), Some(hash.clone()))
            .await
            .expect("verify");
        assert_eq!(
            ok,
            Verification::Match {
                needs_rehash: false
            }
        );
        let bad = hasher
            .verify("a", "wrong horse".into(), Some(hash))
            .await
            .expect("verify");
        assert_eq!(bad, Verification::Mismatch);
    }

    #[tokio::test]
    async fn unknown_accounts_never_match_even_with_the_dummy_password() {
        let hasher = hasher(1, 2);
        let outcome = hasher
            .verify("a", "anything".into(), None)
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
        let hasher = hasher(1, 2);
        let outcome = hasher
            .verify("a", "pw-123456".into(), Some(weak))
            .await
            .expect("verify");
        assert_eq!(outcome, Verification::Match { needs_rehash: true });
    }
}
