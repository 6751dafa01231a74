//! Configuration: embedded documented defaults, overridden by environment variables, validated at
//! start. An invalid value stops the process with one line naming the variable. Secret values are
//! wrapped in [`Secret`] and never printed.

use crate::auth::tokens;
use crate::cidr::Cidr;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use source::{ConfigError, parse_duration};

pub use variables::VARIABLES;

pub use groups::{
    BillingSettings, HoldLimits, HttpSettings, PaymentMode, RealtimeSettings, SessionSettings,
};
use groups::{
    billing_settings, http_settings, realtime_settings, session_settings, validate_smtp_url,
};
use source::{Source, err};

pub mod dev_secrets;
mod groups;
mod source;
mod variables;

/// A value that never prints.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// `N` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: u32,
    pub window: Duration,
}

#[derive(Debug, Clone)]
pub struct RateLimits {
    pub login_account: Rate,
    pub login_account_ip: Rate,
    pub login_ip: Rate,
    pub send_verification_email: Rate,
    pub send_verification_ip: Rate,
    pub register_email: Rate,
    pub register_ip: Rate,
    pub topup: Rate,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub env: Environment,
    pub host: String,
    pub port: u16,
    pub workers: Option<usize>,
    pub database_url: Secret,
    pub database_max_connections: u32,
    pub database_acquire_timeout: Duration,
    pub database_statement_timeout: Duration,
    pub auto_migrate: bool,
    pub redis_url: Secret,
    pub redis_prefix: String,
    pub jwt_secret: Secret,
    pub jwt_secret_generated: bool,
    pub jwt_previous_secret: Option<Secret>,
    pub jwt_ttl: Duration,
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    pub mail_outbox_dir: PathBuf,
    pub platform_operator_token: Option<Secret>,
    pub allow_tenant_header: bool,
    pub trust_proxy_headers: bool,
    pub trusted_proxies: Vec<Cidr>,
    pub max_body_bytes: usize,
    pub password_hash_concurrency: usize,
    pub password_hash_max_wait: Duration,
    pub password_hash_per_client: usize,
    pub rate_limits: RateLimits,
    pub billing: BillingSettings,
    pub sessions: SessionSettings,
    pub realtime: RealtimeSettings,
    pub http: HttpSettings,
    pub verification_resend_cooldown: Duration,
    pub shutdown_delay: Duration,
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub otel_endpoint: Option<String>,
    pub otel_service_name: String,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = VARIABLES
            .iter()
            .filter_map(|(name, _, _)| std::env::var(name).ok().map(|v| ((*name).to_owned(), v)))
            .collect();
        Self::from_vars(&vars)
    }

    /// Builds settings from explicit variables over the embedded defaults (tests use this).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let src = Source { overrides: vars };
        let env = match src.required("CLAWRENT_ENV")?.to_ascii_lowercase().as_str() {
            "development" | "dev" | "test" => Environment::Development,
            "production" | "prod" => Environment::Production,
            other => {
                return Err(err(
                    "CLAWRENT_ENV",
                    format!("expected development or production, got {other:?}"),
                ));
            }
        };

        let (jwt_secret, jwt_secret_generated) = match src.raw("JWT_SECRET") {
            Some(secret) if secret.len() >= 32 => (Secret::new(secret), false),
            Some(_) => return Err(err("JWT_SECRET", "must be at least 32 bytes long")),
            None if env == Environment::Production => {
                return Err(err(
                    "JWT_SECRET",
                    "is required when CLAWRENT_ENV=production",
                ));
            }
            None => (Secret::new(tokens::random_alphanumeric(64)), true),
        };
        let jwt_previous_secret = match src.raw("JWT_PREVIOUS_SECRET") {
            Some(secret) if secret.len() >= 32 => Some(Secret::new(secret)),
            Some(_) => return Err(err("JWT_PREVIOUS_SECRET", "must be at least 32 bytes long")),
            None => None,
        };

        let platform_operator_token = match src.raw("PLATFORM_OPERATOR_TOKEN") {
            Some(token) if token.len() >= 24 => Some(Secret::new(token)),
            Some(_) => {
                return Err(err(
                    "PLATFORM_OPERATOR_TOKEN",
                    "must be at least 24 characters long",
                ));
            }
            None => None,
        };

        let smtp_url = match src.raw("SMTP_URL") {
            Some(url) => {
                validate_smtp_url(&url).map_err(|problem| err("SMTP_URL", problem))?;
                Some(Secret::new(url))
            }
            None if env == Environment::Production => {
                return Err(err(
                    "SMTP_URL",
                    "is required when CLAWRENT_ENV=production (the file outbox is for development)",
                ));
            }
            None => None,
        };
        let mail_from = src.required("MAIL_FROM")?;
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(err(
                "MAIL_FROM",
                format!("expected a mailbox such as \"Name <addr@host>\", got {mail_from:?}"),
            ));
        }

        let database_url = src.required("DATABASE_URL")?;
        if !database_url.starts_with("postgres://") && !database_url.starts_with("postgresql://") {
            return Err(err(
                "DATABASE_URL",
                "must start with postgres:// or postgresql://",
            ));
        }
        let redis_url = src.required("REDIS_URL")?;
        if redis::Client::open(redis_url.as_str()).is_err() {
            return Err(err("REDIS_URL", "is not a valid redis:// URL"));
        }
        let redis_prefix = src.required("REDIS_PREFIX")?;
        if !redis_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            return Err(err(
                "REDIS_PREFIX",
                "may contain only letters, digits, '_', '-' and '.'",
            ));
        }

        let workers = match src.raw("WORKERS") {
            Some(_) => Some(src.parse::<usize>("WORKERS", "a positive number")?).filter(|w| *w > 0),
            None => None,
        };
        if src.is_overridden("WORKERS") && workers.is_none() {
            return Err(err("WORKERS", "must be at least 1"));
        }
        let max_body_bytes = src.parse::<usize>("MAX_BODY_BYTES", "a number of bytes")?;
        if !(1024..=16 * 1024 * 1024).contains(&max_body_bytes) {
            return Err(err("MAX_BODY_BYTES", "must be between 1024 and 16777216"));
        }
        let password_hash_concurrency =
            src.parse::<usize>("PASSWORD_HASH_CONCURRENCY", "a positive number")?;
        if password_hash_concurrency == 0 {
            return Err(err("PASSWORD_HASH_CONCURRENCY", "must be at least 1"));
        }
        let password_hash_per_client =
            src.parse::<usize>("PASSWORD_HASH_PER_CLIENT", "a positive number")?;
        if password_hash_per_client == 0 {
            return Err(err("PASSWORD_HASH_PER_CLIENT", "must be at least 1"));
        }
        let password_hash_max_wait = src.duration("PASSWORD_HASH_MAX_WAIT")?;
        if password_hash_max_wait > Duration::from_secs(60) {
            return Err(err("PASSWORD_HASH_MAX_WAIT", "must be at most 60s"));
        }
        let trusted_proxies = Cidr::parse_list(&src.required("TRUSTED_PROXIES")?)
            .map_err(|problem| err("TRUSTED_PROXIES", problem))?;
        let database_max_connections =
            src.parse::<u32>("DATABASE_MAX_CONNECTIONS", "a positive number")?;
        if database_max_connections == 0 {
            return Err(err("DATABASE_MAX_CONNECTIONS", "must be at least 1"));
        }
        let log_format = match src.required("LOG_FORMAT")?.as_str() {
            "json" => LogFormat::Json,
            "pretty" => LogFormat::Pretty,
            other => {
                return Err(err(
                    "LOG_FORMAT",
                    format!("expected json or pretty, got {other:?}"),
                ));
            }
        };

        Ok(Settings {
            env,
            host: src.required("HOST")?,
            port: src.parse("PORT", "a port number 0-65535")?,
            workers,
            database_url: Secret::new(database_url),
            database_max_connections,
            database_acquire_timeout: src.duration("DATABASE_ACQUIRE_TIMEOUT")?,
            database_statement_timeout: src.duration("DATABASE_STATEMENT_TIMEOUT")?,
            auto_migrate: src.bool("AUTO_MIGRATE")?,
            redis_url: Secret::new(redis_url),
            redis_prefix,
            jwt_secret,
            jwt_secret_generated,
            jwt_previous_secret,
            jwt_ttl: src.duration("JWT_TTL")?,
            smtp_url,
            mail_from,
            mail_outbox_dir: PathBuf::from(src.required("MAIL_OUTBOX_DIR")?),
            platform_operator_token,
            allow_tenant_header: src.bool("ALLOW_TENANT_HEADER")?,
            trust_proxy_headers: src.bool("TRUST_PROXY_HEADERS")?,
            trusted_proxies,
            max_body_bytes,
            password_hash_concurrency,
            password_hash_max_wait,
            password_hash_per_client,
            rate_limits: RateLimits {
                login_account: src.rate("RATE_LIMIT_LOGIN_ACCOUNT")?,
                login_account_ip: src.rate("RATE_LIMIT_LOGIN_ACCOUNT_IP")?,
                login_ip: src.rate("RATE_LIMIT_LOGIN_IP")?,
                send_verification_email: src.rate("RATE_LIMIT_SEND_VERIFICATION_EMAIL")?,
                send_verification_ip: src.rate("RATE_LIMIT_SEND_VERIFICATION_IP")?,
                register_email: src.rate("RATE_LIMIT_REGISTER_EMAIL")?,
                register_ip: src.rate("RATE_LIMIT_REGISTER_IP")?,
                topup: src.rate("RATE_LIMIT_TOPUP")?,
            },
            billing: billing_settings(&src, env)?,
            sessions: session_settings(&src)?,
            realtime: realtime_settings(&src)?,
            http: http_settings(&src)?,
            verification_resend_cooldown: src.duration("VERIFICATION_RESEND_COOLDOWN")?,
            shutdown_delay: src.seconds("SHUTDOWN_DELAY_SECONDS")?,
            shutdown_grace: src.seconds("SHUTDOWN_GRACE_SECONDS")?,
            log_format,
            log_filter: src.required("RUST_LOG")?,
            otel_endpoint: src.raw("OTEL_EXPORTER_OTLP_ENDPOINT"),
            otel_service_name: src.required("OTEL_SERVICE_NAME")?,
        })
    }
}

#[cfg(test)]
mod tests;
