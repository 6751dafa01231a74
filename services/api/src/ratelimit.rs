//! Fixed-window rate limits shared by every replica through Redis. When Redis is unreachable the
//! limited routes fail closed (503): they guard authentication.
//!
//! Every bucket has an explicit [`Scope`]: limits on a client IP are global (one address gets one
//! allowance, whichever tenant it talks to); limits on an account, an email or a user belong to
//! the tenant that owns it. Keys are `{REDIS_PREFIX}:{tenant}:rl:{bucket}:{hash}`, or
//! `{REDIS_PREFIX}:global:rl:{bucket}:{hash}` for global buckets.
//!
//! Two ways to count: [`RateLimiter::check`] counts every request; [`RateLimiter::ensure_below`]
//! plus [`RateLimiter::count`] refuse once a count is reached but count only what the caller
//! chooses (failed logins), so successes never use up an allowance.

use crate::config::{Rate, RateLimits};
use crate::error::{ApiError, ApiResult};
use crate::ids::TenantId;
use crate::kv::Redis;
use sha2::{Digest, Sha256};

// INCR then set the expiry on the first hit; returns the count and the milliseconds left.
const COUNT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
";

// The count so far and the milliseconds left, without counting.
const PEEK: &str = r"
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
return {count, ttl}
";

/// Whose allowance a bucket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One bucket across all tenants (client IPs).
    Global,
    /// One bucket per tenant (accounts, emails, users).
    Tenant(TenantId),
}

#[derive(Clone)]
pub struct RateLimiter {
    redis: Redis,
    count: redis::Script,
    peek: redis::Script,
}

impl RateLimiter {
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            count: redis::Script::new(COUNT),
            peek: redis::Script::new(PEEK),
        }
    }

    /// The subject (an email, an IP) is hashed so the key holds no personal data.
    fn key(&self, scope: Scope, name: &str, subject: &str) -> String {
        let digest = hex::encode(&Sha256::digest(subject.as_bytes())[..12]);
        match scope {
            Scope::Global => self.redis.global_key(&["rl", name, &digest]),
            Scope::Tenant(tenant) => self.redis.tenant_key(tenant, &["rl", name, &digest]),
        }
    }

    async fn run(&self, script: &redis::Script, key: String, rate: Rate) -> ApiResult<(u64, u64)> {
        script
            .key(key)
            .arg(rate.window.as_millis() as u64)
            .invoke_async(&mut self.redis.conn())
            .await
            .map_err(|e| ApiError::unavailable("The rate limiter", e))
    }

    /// Counts one hit of `subject` against `rate` in the bucket `name`; 429 with Retry-After past it.
    #[tracing::instrument(name = "ratelimit.check", skip(self, subject, rate), fields(ratelimit.name = name))]
    pub async fn check(
        &self,
        scope: Scope,
        name: &str,
        subject: &str,
        rate: Rate,
    ) -> ApiResult<()> {
        let (count, ttl_ms) = self
            .run(&self.count, self.key(scope, name, subject), rate)
            .await?;
        if count > u64::from(rate.limit) {
            return Err(ApiError::rate_limited(ttl_ms.div_ceil(1000)));
        }
        Ok(())
    }

    /// 429 with Retry-After when `subject` already has `rate.limit` hits counted; counts nothing.
    #[tracing::instrument(name = "ratelimit.ensure_below", skip(self, subject, rate), fields(ratelimit.name = name))]
    pub async fn ensure_below(
        &self,
        scope: Scope,
        name: &str,
        subject: &str,
        rate: Rate,
    ) -> ApiResult<()> {
        let (count, ttl_ms) = self
            .run(&self.peek, self.key(scope, name, subject), rate)
            .await?;
        if count >= u64::from(rate.limit) {
            return Err(ApiError::rate_limited(ttl_ms.div_ceil(1000)));
        }
        Ok(())
    }

    /// Counts one hit (the window starts at the first); never refuses.
    #[tracing::instrument(name = "ratelimit.count", skip(self, subject, rate), fields(ratelimit.name = name))]
    pub async fn count(
        &self,
        scope: Scope,
        name: &str,
        subject: &str,
        rate: Rate,
    ) -> ApiResult<()> {
        self.run(&self.count, self.key(scope, name, subject), rate)
            .await
            .map(|_| ())
    }
}

impl RateLimiter {
    /// The limits of one login attempt (docs/operations.md, "Rate limits and overload").
    pub fn login<'a>(
        &'a self,
        limits: &'a RateLimits,
        tenant: TenantId,
        email: &'a str,
        ip: &'a str,
    ) -> LoginAttempt<'a> {
        LoginAttempt {
            limiter: self,
            limits,
            account: Scope::Tenant(tenant),
            email,
            account_ip: format!("{email}\n{ip}"),
            ip,
        }
    }
}

/// Every attempt counts against the address (globally); only failures count against the
/// (account, address) pair and the account, checked before the password and counted after.
pub struct LoginAttempt<'a> {
    limiter: &'a RateLimiter,
    limits: &'a RateLimits,
    account: Scope,
    email: &'a str,
    account_ip: String,
    ip: &'a str,
}

impl LoginAttempt<'_> {
    /// Counts the attempt against the address; 429 when any login limit is reached.
    pub async fn admit(&self) -> ApiResult<()> {
        let (limiter, limits) = (self.limiter, self.limits);
        limiter
            .check(Scope::Global, "login_ip", self.ip, limits.login_ip)
            .await?;
        limiter
            .ensure_below(
                self.account,
                "login_account_ip",
                &self.account_ip,
                limits.login_account_ip,
            )
            .await?;
        limiter
            .ensure_below(
                self.account,
                "login_account",
                self.email,
                limits.login_account,
            )
            .await
    }

    /// Counts a failed attempt against the (account, address) pair and the account.
    pub async fn failed(&self) -> ApiResult<()> {
        let (limiter, limits) = (self.limiter, self.limits);
        limiter
            .count(
                self.account,
                "login_account_ip",
                &self.account_ip,
                limits.login_account_ip,
            )
            .await?;
        limiter
            .count(
                self.account,
                "login_account",
                self.email,
                limits.login_account,
            )
            .await
    }
}
