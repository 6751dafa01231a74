//! Everything a request handler can reach, built once in `startup.rs` and shared as app data.

use crate::auth::jwt::JwtKeys;
use crate::auth::password::PasswordHasher;
use crate::clock::Clock;
use crate::config::Settings;
use crate::http::seal::Sealer;
use crate::kv::Redis;
use crate::mail::Mailer;
use crate::outbox::Outbox;
use crate::ratelimit::RateLimiter;
use crate::realtime::hub::Hub;
use crate::sessions::token::SessionTokens;
use crate::tenancy::resolve::TenantResolver;
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: PgPool,
    pub redis: Redis,
    pub clock: Clock,
    pub mailer: Mailer,
    pub hasher: PasswordHasher,
    pub jwt: Arc<JwtKeys>,
    pub rate_limiter: RateLimiter,
    pub tenants: TenantResolver,
    /// Key of the HMAC that stores verification codes, derived from JWT_SECRET.
    pub code_key: Arc<[u8]>,
    /// Signs pagination cursors (key derived from JWT_SECRET).
    pub cursors: Sealer,
    /// Derives session tokens (key derived from JWT_SECRET).
    pub session_tokens: SessionTokens,
    /// Wakes this replica's outbox relay after a commit that wrote events.
    pub outbox: Outbox,
    /// This replica's one Redis pub/sub connection and its local subscribers.
    pub hub: Hub,
    pub shutting_down: Arc<AtomicBool>,
}

impl AppState {
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }
}
