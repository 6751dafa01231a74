//! Configuration: embedded documented defaults, overridden by environment variables, validated at
//! start. An invalid value stops the process with one line naming the variable. Secret values are
//! wrapped in [`Secret`] and never printed.

use crate::billing::domain::HoldLimits;
use crate::http::client_ip::Cidr;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Every variable the service reads: name, default (empty = unset), meaning.
/// README.md and docs/configuration.md document each one (a unit test checks it).
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "CLAWRENT_ENV",
        "development",
        "`development` or `production`; production requires JWT_SECRET",
    ),
    (
        "HOST",
        "127.0.0.1",
        "address to listen on (`0.0.0.0` in containers)",
    ),
    ("PORT", "3001", "port to listen on (0 picks a free port)"),
    (
        "WORKERS",
        "",
        "HTTP worker threads (default: number of CPUs)",
    ),
    (
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/clawrent",
        "Postgres URL; the database is created if missing",
    ),
    ("DATABASE_MAX_CONNECTIONS", "20", "pool size per replica"),
    (
        "DATABASE_ACQUIRE_TIMEOUT",
        "5s",
        "wait for a pooled connection before answering 503",
    ),
    (
        "DATABASE_STATEMENT_TIMEOUT",
        "10s",
        "Postgres statement_timeout for every connection",
    ),
    (
        "AUTO_MIGRATE",
        "true",
        "create the database and apply migrations at start (`false` in Kubernetes: run the migrate Job)",
    ),
    (
        "REDIS_URL",
        "redis://127.0.0.1:6379",
        "Redis URL (rate limits, presence, pub/sub)",
    ),
    (
        "REDIS_PREFIX",
        "clawrent",
        "prefix of every Redis key and channel",
    ),
    (
        "JWT_SECRET",
        "",
        "HS256 signing secret, at least 32 bytes; generated (with a warning) in development when unset",
    ),
    (
        "JWT_PREVIOUS_SECRET",
        "",
        "the secret before the last rotation: tokens it signed stay valid until they expire",
    ),
    ("JWT_TTL", "30d", "lifetime of access tokens"),
    (
        "SMTP_URL",
        "",
        "required in production: `smtp://host:port` (plain), `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://user:pass@host:465`; when unset mail is written to MAIL_OUTBOX_DIR",
    ),
    (
        "MAIL_FROM",
        "ClawRent <no-reply@clawrent.local>",
        "sender of outgoing mail",
    ),
    (
        "MAIL_OUTBOX_DIR",
        "var/mail",
        "directory for `.eml` files when SMTP_URL is unset",
    ),
    (
        "PLATFORM_OPERATOR_TOKEN",
        "",
        "bearer token of the platform-operator API (/api/platform); at least 24 characters; the API is off when unset",
    ),
    (
        "ALLOW_TENANT_HEADER",
        "true",
        "let the `X-Tenant: <slug>` header choose the tenant",
    ),
    (
        "TRUST_PROXY_HEADERS",
        "false",
        "take the client IP from X-Forwarded-For: the rightmost hop not in TRUSTED_PROXIES (only behind a proxy)",
    ),
    (
        "TRUSTED_PROXIES",
        crate::http::client_ip::DEFAULT_TRUSTED_PROXIES,
        "comma-separated CIDRs of proxies whose X-Forwarded-For entries are believed (default: loopback and private ranges)",
    ),
    ("MAX_BODY_BYTES", "65536", "largest accepted request body"),
    (
        "PASSWORD_HASH_CONCURRENCY",
        "2",
        "argon2 hashes computed at once; more requests wait",
    ),
    (
        "PASSWORD_HASH_MAX_WAIT",
        "2s",
        "longest wait for a hashing slot; past it the request answers 503 OVERLOADED with Retry-After",
    ),
    (
        "PASSWORD_HASH_PER_CLIENT",
        "2",
        "hashes one client IP may have running or queued; more answer 503 OVERLOADED at once",
    ),
    (
        "RATE_LIMIT_LOGIN_ACCOUNT",
        "100/15m",
        "failed logins per email per window, from all addresses together (a ceiling, not a lockout)",
    ),
    (
        "RATE_LIMIT_LOGIN_ACCOUNT_IP",
        "10/15m",
        "failed logins per email per client IP per window",
    ),
    (
        "RATE_LIMIT_LOGIN_IP",
        "300/15m",
        "login attempts per client IP per window",
    ),
    (
        "RATE_LIMIT_SEND_VERIFICATION_EMAIL",
        "5/1h",
        "verification mails per email per window",
    ),
    (
        "RATE_LIMIT_SEND_VERIFICATION_IP",
        "100/1h",
        "verification mails per client IP per window",
    ),
    (
        "RATE_LIMIT_REGISTER_EMAIL",
        "10/1h",
        "registration attempts per email per window",
    ),
    (
        "RATE_LIMIT_REGISTER_IP",
        "100/1h",
        "registration attempts per client IP per window",
    ),
    (
        "RATE_LIMIT_TOPUP",
        "30/1m",
        "wallet top-ups per user per window",
    ),
    (
        "PAYMENT_MODE",
        "sandbox",
        "`sandbox` credits top-ups at once (no payment provider); `disabled` refuses them with 403; must be set explicitly in production",
    ),
    (
        "HOLD_MINUTE_CAP",
        "60",
        "minutes a per-minute session's hold covers (hold = price x cap)",
    ),
    (
        "HOLD_TOKEN_BUDGET",
        "100000",
        "tokens a per-token session's hold covers (hold = price x budget)",
    ),
    (
        "IDEMPOTENCY_KEY_TTL",
        "24h",
        "how long an Idempotency-Key and its stored response are kept",
    ),
    (
        "VERIFICATION_RESEND_COOLDOWN",
        "60s",
        "minimum time between two codes for one email",
    ),
    (
        "SHUTDOWN_DELAY_SECONDS",
        "0",
        "after SIGTERM, seconds with readiness false before listeners close",
    ),
    (
        "SHUTDOWN_GRACE_SECONDS",
        "30",
        "seconds in-flight requests get to finish at shutdown",
    ),
    (
        "CORS_ALLOWED_ORIGINS",
        "",
        "comma-separated browser origins (`https://app.example.com`) allowed to call the API cross-origin; CORS is off when unset",
    ),
    (
        "REQUEST_BODY_TIMEOUT",
        "10s",
        "longest time a client may take to send a request body before the request is answered 408",
    ),
    ("LOG_FORMAT", "json", "`json` or `pretty`"),
    (
        "RUST_LOG",
        "info,sqlx=warn",
        "log and trace filter (tracing EnvFilter syntax)",
    ),
    (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "",
        "OTLP/HTTP collector URL, e.g. http://127.0.0.1:4318; traces are exported when set",
    ),
    (
        "OTEL_SERVICE_NAME",
        "clawrent",
        "service name on exported traces",
    ),
];

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
    pub http: HttpSettings,
    pub verification_resend_cooldown: Duration,
    pub shutdown_delay: Duration,
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub otel_endpoint: Option<String>,
    pub otel_service_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentMode {
    /// Top-ups are credited at once, without a payment provider.
    Sandbox,
    /// Top-ups are refused.
    Disabled,
}

#[derive(Debug, Clone)]
pub struct BillingSettings {
    pub payment_mode: PaymentMode,
    pub hold_limits: HoldLimits,
    pub idempotency_key_ttl: Duration,
}

/// HTTP edge settings: cross-origin access and how long a body may take to arrive.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub cors_allowed_origins: Vec<String>,
    pub body_read_timeout: Duration,
}

fn http_settings(src: &Source<'_>) -> Result<HttpSettings, ConfigError> {
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

fn billing_settings(src: &Source<'_>, env: Environment) -> Result<BillingSettings, ConfigError> {
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

/// One line naming the variable and what is wrong with it (never the value of a secret).
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration: {}: {}",
            self.variable, self.problem
        )
    }
}

impl std::error::Error for ConfigError {}

struct Source<'a> {
    overrides: &'a HashMap<String, String>,
}

impl Source<'_> {
    /// The override when set and non-empty, else the embedded default.
    fn raw(&self, name: &'static str) -> Option<String> {
        let value = self
            .overrides
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        value.or_else(|| {
            VARIABLES
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, default, _)| (*default).to_owned())
                .filter(|d| !d.is_empty())
        })
    }

    fn is_overridden(&self, name: &str) -> bool {
        self.overrides
            .get(name)
            .is_some_and(|v| !v.trim().is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.raw(name).ok_or_else(|| err(name, "is required"))
    }

    fn parse<T: FromStr>(&self, name: &'static str, expected: &str) -> Result<T, ConfigError> {
        let raw = self.required(name)?;
        raw.parse()
            .map_err(|_| err(name, format!("expected {expected}, got {raw:?}")))
    }

    fn bool(&self, name: &'static str) -> Result<bool, ConfigError> {
        let raw = self.required(name)?;
        match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(err(name, format!("expected true or false, got {raw:?}"))),
        }
    }

    fn duration(&self, name: &'static str) -> Result<Duration, ConfigError> {
        let raw = self.required(name)?;
        parse_duration(&raw).ok_or_else(|| {
            err(
                name,
                format!("expected a duration such as 30s, 15m, 1h or 30d, got {raw:?}"),
            )
        })
    }

    fn seconds(&self, name: &'static str) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(
            self.parse::<u64>(name, "a whole number of seconds")?,
        ))
    }

    fn rate(&self, name: &'static str) -> Result<Rate, ConfigError> {
        let raw = self.required(name)?;
        let parsed = raw.split_once('/').and_then(|(limit, window)| {
            let limit = limit.trim().parse::<u32>().ok().filter(|l| *l > 0)?;
            let window = parse_duration(window.trim())?;
            Some(Rate { limit, window })
        });
        parsed.ok_or_else(|| {
            err(
                name,
                format!("expected LIMIT/WINDOW such as 10/15m, got {raw:?}"),
            )
        })
    }
}

fn err(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

/// `90` (seconds), `30s`, `15m`, `1h`, `30d`. Zero is refused.
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let number: u64 = number.parse().ok()?;
    let seconds = match unit {
        "" | "s" => number,
        "m" => number.checked_mul(60)?,
        "h" => number.checked_mul(3600)?,
        "d" => number.checked_mul(86_400)?,
        _ => return None,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds))
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
            None => (
                Secret::new(crate::auth::tokens::random_alphanumeric(64)),
                true,
            ),
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
                crate::mail::validate_smtp_url(&url).map_err(|problem| err("SMTP_URL", problem))?;
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
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_alone_are_valid_and_point_at_local_services() {
        let s = Settings::from_vars(&HashMap::new()).expect("defaults are valid");
        assert_eq!(s.port, 3001);
        assert_eq!(s.host, "127.0.0.1");
        assert_eq!(
            s.database_url.expose(),
            "postgres://postgres@127.0.0.1:5432/clawrent"
        );
        assert!(s.jwt_secret_generated);
        assert!(s.smtp_url.is_none());
    }

    #[test]
    fn each_invalid_value_names_its_variable() {
        let cases = [
            ("PORT", "abc"),
            ("PORT", "70000"),
            ("CLAWRENT_ENV", "staging"),
            ("JWT_SECRET", "short"),
            ("AUTO_MIGRATE", "maybe"),
            ("RATE_LIMIT_LOGIN_ACCOUNT", "ten"),
            ("RATE_LIMIT_LOGIN_ACCOUNT", "0/1m"),
            ("JWT_TTL", "forever"),
            ("DATABASE_URL", "mysql://x"),
            ("SMTP_URL", "http://x"),
            ("MAIL_FROM", "not a mailbox"),
            ("PLATFORM_OPERATOR_TOKEN", "tiny"),
            ("MAX_BODY_BYTES", "1"),
            ("WORKERS", "0"),
            ("LOG_FORMAT", "xml"),
            ("PASSWORD_HASH_MAX_WAIT", "soon"),
            ("PASSWORD_HASH_MAX_WAIT", "2h"),
            ("PASSWORD_HASH_PER_CLIENT", "0"),
            ("RATE_LIMIT_LOGIN_ACCOUNT_IP", "10"),
            ("TRUSTED_PROXIES", "10.0.0.0/33"),
            ("TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal"),
        ];
        for (name, value) in cases {
            let error = Settings::from_vars(&vars(&[(name, value)])).expect_err(name);
            assert_eq!(error.variable, name, "{name}={value}: {error}");
        }
    }

    #[test]
    fn production_requires_a_jwt_secret() {
        let error =
            Settings::from_vars(&vars(&[("CLAWRENT_ENV", "production")])).expect_err("must fail");
        assert_eq!(error.variable, "JWT_SECRET");
        let secret = "s".repeat(32);
        let error = Settings::from_vars(&vars(&[
            ("CLAWRENT_ENV", "production"),
            ("JWT_SECRET", &secret),
        ]))
        .expect_err("no smtp");
        assert_eq!(error.variable, "SMTP_URL");
        let ok = Settings::from_vars(&vars(&[
            ("CLAWRENT_ENV", "production"),
            ("JWT_SECRET", &secret),
            ("SMTP_URL", "smtps://user:pass@mail.example.com:465"),
            ("PAYMENT_MODE", "disabled"),
        ]));
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn secrets_are_never_printed() {
        let s =
            Settings::from_vars(&vars(&[("JWT_SECRET", "x".repeat(40).as_str())])).expect("valid");
        assert!(!format!("{s:?}").contains(&"x".repeat(40)));
        let error = Settings::from_vars(&vars(&[("PLATFORM_OPERATOR_TOKEN", "s3cr3t")]))
            .expect_err("short");
        assert!(!error.to_string().contains("s3cr3t"));
    }

    #[test]
    fn durations_and_rates_parse() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("1w"), None);
        let s = Settings::from_vars(&vars(&[("RATE_LIMIT_LOGIN_IP", "7/2h")])).expect("valid");
        assert_eq!(
            s.rate_limits.login_ip,
            Rate {
                limit: 7,
                window: Duration::from_secs(7200)
            }
        );
    }

    #[test]
    fn overload_settings_default_and_parse() {
        let s = Settings::from_vars(&HashMap::new()).expect("defaults");
        assert_eq!(s.password_hash_max_wait, Duration::from_secs(2));
        assert_eq!(s.password_hash_per_client, 2);
        assert_eq!(s.rate_limits.login_account.limit, 100);
        assert_eq!(s.rate_limits.login_account_ip.limit, 10);
        assert_eq!(s.trusted_proxies.len(), 6);
        let s = Settings::from_vars(&vars(&[(
            "TRUSTED_PROXIES",
            " 10.2.0.0/16 , 2001:db8::/32 ",
        )]))
        .expect("valid");
        assert_eq!(
            s.trusted_proxies,
            vec![
                Cidr::parse("10.2.0.0/16").expect("v4"),
                Cidr::parse("2001:db8::/32").expect("v6")
            ]
        );
    }

    #[test]
    fn production_needs_an_explicit_payment_mode() {
        let prod = [
            ("CLAWRENT_ENV", "production"),
            ("JWT_SECRET", "a-production-secret-that-is-long-enough-0123"),
            ("SMTP_URL", "smtp://127.0.0.1:25"),
        ];
        let err = Settings::from_vars(&vars(&prod)).expect_err("no payment mode");
        assert_eq!(err.variable, "PAYMENT_MODE");
        let mut with_mode = prod.to_vec();
        with_mode.push(("PAYMENT_MODE", "disabled"));
        let s = Settings::from_vars(&vars(&with_mode)).expect("valid");
        assert_eq!(s.billing.payment_mode, PaymentMode::Disabled);
        assert!(Settings::from_vars(&vars(&[("PAYMENT_MODE", "free-money")])).is_err());
    }

    #[test]
    fn every_variable_is_documented() {
        let readme = include_str!("../../../README.md");
        let docs = include_str!("../../../docs/configuration.md");
        for (name, _, _) in VARIABLES {
            assert!(
                readme.contains(&format!("`{name}`")),
                "README.md lacks {name}"
            );
            assert!(
                docs.contains(&format!("`{name}`")),
                "docs/configuration.md lacks {name}"
            );
        }
    }
}
