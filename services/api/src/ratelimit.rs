//! Fixed-window rate limits shared by every replica through Redis. When Redis is unreachable the
//! limited routes fail closed (503): they guard authentication.

use crate::config::Rate;
use crate::error::{ApiError, ApiResult};
use crate::kv::Redis;
use sha2::{Digest, Sha256};
use uuid::Uuid;

// INCR then set the expiry on the first hit; returns the count and the milliseconds left.
const SCRIPT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
";

#[derive(Clone)]
pub struct RateLimiter {
    redis: Redis,
    script: redis::Script,
}

impl RateLimiter {
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            script: redis::Script::new(SCRIPT),
        }
    }

    /// Counts one hit of `subject` against `rate` in the bucket `name`; 429 with Retry-After past it.
    /// The subject (an email, an IP) is hashed so the key holds no personal data.
    #[tracing::instrument(name = "ratelimit.check", skip(self, subject, rate), fields(ratelimit.name = name))]
    pub async fn check(
        &self,
        tenant: Uuid,
        name: &str,
        subject: &str,
        rate: Rate,
    ) -> ApiResult<()> {
        let digest = hex::encode(&Sha256::digest(subject.as_bytes())[..12]);
        let key = self.redis.tenant_key(tenant, &["rl", name, &digest]);
        let window_ms = rate.window.as_millis() as u64;
        let (count, ttl_ms): (u64, u64) = self
            .script
            .key(key)
            .arg(window_ms)
            .invoke_async(&mut self.redis.conn())
            .await
            .map_err(|e| ApiError::unavailable("The rate limiter", e))?;
        if count > u64::from(rate.limit) {
            return Err(ApiError::rate_limited(ttl_ms.div_ceil(1000)));
        }
        Ok(())
    }
}
