//! The table of every variable the service reads, with its default and meaning.

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
        "HS256 signing secret, at least 32 bytes; required in production; in development, when unset, `clawrent serve` generates one and keeps it in `var/jwt-secret` (mode 0600) so tokens survive a restart",
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
        "bearer token of the platform-operator API (/api/platform); at least 24 characters; when unset the API is off, except that in development `clawrent serve` generates one and keeps it in `var/platform-operator-token` (mode 0600)",
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
        crate::cidr::DEFAULT_TRUSTED_PROXIES,
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
        "SESSION_PENDING_TTL",
        "15m",
        "a session waiting for the provider's approval expires after this (its hold is voided)",
    ),
    (
        "SESSION_IDLE_TIMEOUT",
        "30m",
        "an active session with no message for this long ends and settles",
    ),
    (
        "SESSION_SWEEP_INTERVAL",
        "5s",
        "how often each replica looks for sessions to expire or end by time",
    ),
    (
        "OUTBOX_POLL_INTERVAL",
        "1s",
        "how often each replica publishes events a crashed replica left (new events go out at once)",
    ),
    (
        "REALTIME_IDLE_TIMEOUT",
        "50s",
        "a WebSocket silent this long (heartbeats come every 25 s) is closed and its agent goes offline",
    ),
    (
        "REALTIME_RECONCILE_INTERVAL",
        "15s",
        "how often each replica shows offline the listings whose agent's presence expired (a replica that died)",
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
