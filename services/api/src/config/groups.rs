//! The settings of one area each (HTTP edge, billing) and their validation, plus the SMTP URL
//! check: parsed from the same sources as the rest of `Settings`.

use super::Environment;
use super::source::{ConfigError, Source, err};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentMode {
    /// Top-ups are credited at once, without a payment provider.
    Sandbox,
    /// Top-ups are refused.
    Disabled,
}

/// How much a hold may cover for the per-minute and per-token models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldLimits {
    pub minute_cap: u32,
    pub token_budget: u64,
}

#[derive(Debug, Clone)]
pub struct BillingSettings {
    pub payment_mode: PaymentMode,
    pub hold_limits: HoldLimits,
    pub idempotency_key_ttl: Duration,
}

/// Session timing: expiry of pending sessions, idle end, and the background passes.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub pending_ttl: Duration,
    pub idle_timeout: Duration,
    pub sweep_interval: Duration,
    pub outbox_poll_interval: Duration,
}

pub(super) fn session_settings(src: &Source<'_>) -> Result<SessionSettings, ConfigError> {
    let at_least =
        |name: &'static str, min: Duration, text: &str| -> Result<Duration, ConfigError> {
            let value = src.duration(name)?;
            if value < min {
                return Err(err(name, format!("must be at least {text}")));
            }
            Ok(value)
        };
    Ok(SessionSettings {
        pending_ttl: at_least("SESSION_PENDING_TTL", Duration::from_secs(10), "10s")?,
        idle_timeout: at_least("SESSION_IDLE_TIMEOUT", Duration::from_secs(60), "1m")?,
        sweep_interval: at_least("SESSION_SWEEP_INTERVAL", Duration::from_secs(1), "1s")?,
        outbox_poll_interval: at_least("OUTBOX_POLL_INTERVAL", Duration::from_secs(1), "1s")?,
    })
}

/// WebSocket settings.
#[derive(Debug, Clone)]
pub struct RealtimeSettings {
    pub idle_timeout: Duration,
    pub reconcile_interval: Duration,
}

pub(super) fn realtime_settings(src: &Source<'_>) -> Result<RealtimeSettings, ConfigError> {
    let idle_timeout = src.duration("REALTIME_IDLE_TIMEOUT")?;
    if idle_timeout < Duration::from_secs(2) {
        return Err(err("REALTIME_IDLE_TIMEOUT", "must be at least 2s"));
    }
    let reconcile_interval = src.duration("REALTIME_RECONCILE_INTERVAL")?;
    Ok(RealtimeSettings {
        idle_timeout,
        reconcile_interval,
    })
}

/// HTTP edge settings: cross-origin access and how long a body may take to arrive.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub cors_allowed_origins: Vec<String>,
    pub body_read_timeout: Duration,
}

pub(super) fn http_settings(src: &Source<'_>) -> Result<HttpSettings, ConfigError> {
    let mut origins = Vec::new();
    for origin in src
        .raw("CORS_ALLOWED_ORIGINS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
            && !origin.ends_with('/')
            && origin
                .split("://")
                .nth(1)
                .is_some_and(|host| !host.is_empty() && !host.contains(['/', '?', '#', '*', ' ']));
        if !valid {
            return Err(err(
                "CORS_ALLOWED_ORIGINS",
                format!(
                    "{origin:?} is not an origin like https://app.example.com (scheme and host, no path, no wildcard)"
                ),
            ));
        }
        origins.push(origin.to_ascii_lowercase());
    }
    let body_read_timeout = src.duration("REQUEST_BODY_TIMEOUT")?;
    if body_read_timeout.is_zero() || body_read_timeout > Duration::from_secs(600) {
        return Err(err("REQUEST_BODY_TIMEOUT", "must be between 1s and 10m"));
    }
    Ok(HttpSettings {
        cors_allowed_origins: origins,
        body_read_timeout,
    })
}

pub(super) fn billing_settings(
    src: &Source<'_>,
    env: Environment,
) -> Result<BillingSettings, ConfigError> {
    if env == Environment::Production && !src.is_overridden("PAYMENT_MODE") {
        return Err(err(
            "PAYMENT_MODE",
            "must be set explicitly when CLAWRENT_ENV=production (`sandbox` credits top-ups without any payment)",
        ));
    }
    let payment_mode = match src.required("PAYMENT_MODE")?.as_str() {
        "sandbox" => PaymentMode::Sandbox,
        "disabled" => PaymentMode::Disabled,
        other => {
            return Err(err(
                "PAYMENT_MODE",
                format!("expected sandbox or disabled, got {other:?}"),
            ));
        }
    };
    let minute_cap = src.parse::<u32>("HOLD_MINUTE_CAP", "a whole number of minutes")?;
    if !(1..=10_080).contains(&minute_cap) {
        return Err(err(
            "HOLD_MINUTE_CAP",
            "must be between 1 and 10080 (a week)",
        ));
    }
    let token_budget = src.parse::<u64>("HOLD_TOKEN_BUDGET", "a whole number of tokens")?;
    if !(1..=100_000_000).contains(&token_budget) {
        return Err(err("HOLD_TOKEN_BUDGET", "must be between 1 and 100000000"));
    }
    let idempotency_key_ttl = src.duration("IDEMPOTENCY_KEY_TTL")?;
    if idempotency_key_ttl < Duration::from_secs(60) {
        return Err(err("IDEMPOTENCY_KEY_TTL", "must be at least 1m"));
    }
    Ok(BillingSettings {
        payment_mode,
        hold_limits: HoldLimits {
            minute_cap,
            token_budget,
        },
        idempotency_key_ttl,
    })
}

pub(super) fn validate_smtp_url(url: &str) -> Result<(), String> {
    use lettre::{AsyncSmtpTransport, Tokio1Executor};
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map(|_| ())
        .map_err(|_| "expected smtp://host:port, smtp://user:pass@host:587?tls=required or smtps://user:pass@host:465".to_owned())
}
