//! Account use-cases. Each owns its transaction; handlers only translate HTTP.

use super::domain::{DisplayName, Email, Password, User, UserRole, VerificationCode};
use super::repo::{self, NewUser};
use crate::auth::password::{OPERATOR_CLIENT, Verification};
use crate::auth::principal::Principal;
use crate::auth::tokens;
use crate::error::{ApiError, ApiResult, ErrorCode, OnConstraint};
use crate::ids::{TenantId, UserId};
use crate::mail::OutgoingMail;
use crate::ratelimit::Scope;
use crate::state::AppState;
use crate::tenancy::domain::Tenant;
use chrono::Duration;
use rand::RngExt as _;

pub const CODE_TTL_MINUTES: i64 = 10;
pub const MAX_CODE_ATTEMPTS: i32 = 5;

fn email_taken() -> ApiError {
    ApiError::new(
        ErrorCode::EmailAlreadyRegistered,
        "An account with this email already exists; log in instead",
    )
}

fn code_hash(state: &AppState, tenant: TenantId, email: &Email, code: &str) -> Vec<u8> {
    tokens::hmac_sha256(
        &state.code_key,
        &[&tenant.to_string(), email.as_str(), code],
    )
}

/// What `send_verification` did: mailed a fresh code, or (within the resend cooldown) left the
/// code mailed earlier in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerificationOutcome {
    /// Whether a mail went out with this request.
    pub sent: bool,
    /// Seconds until the pending code expires (0 once it has).
    pub expires_in: u64,
    /// Seconds until a new code can be requested.
    pub resend_after: u64,
    /// The pending code is locked by too many wrong attempts (only when `sent` is false).
    pub locked: bool,
}

/// Whole seconds in `d`, rounded up (a client that waits that long is past it); 0 if negative.
fn seconds_up(d: Duration) -> u64 {
    u64::try_from(d.num_milliseconds())
        .unwrap_or(0)
        .div_ceil(1000)
}

/// Mails a fresh 6-digit code, replacing any earlier one; at most one per cooldown per email.
/// Within the cooldown nothing is mailed and the earlier code stays as it is (its attempts
/// included): the answer says so and when a new code can be asked for. The rate limits (per IP,
/// per email) count every request and stay 429.
#[tracing::instrument(name = "accounts.send_verification", skip_all, fields(sent = tracing::field::Empty))]
pub async fn send_verification(
    state: &AppState,
    tenant: &Tenant,
    ip: &str,
    email: &str,
) -> ApiResult<VerificationOutcome> {
    let email = Email::parse(email)?;
    let limits = &state.settings.rate_limits;
    state
        .rate_limiter
        .check(
            Scope::Global,
            "send_verification_ip",
            ip,
            limits.send_verification_ip,
        )
        .await?;
    state
        .rate_limiter
        .check(
            Scope::Tenant(tenant.id),
            "send_verification_email",
            email.as_str(),
            limits.send_verification_email,
        )
        .await?;

    let now = state.clock.now();
    let cooldown = Duration::from_std(state.settings.verification_resend_cooldown)
        .map_err(ApiError::internal)?;
    let mut tx = state.db.begin().await?;
    if repo::find_user_by_email(&mut tx, tenant.id, email.as_str())
        .await?
        .is_some()
    {
        return Err(email_taken());
    }
    if let Some(pending) = repo::lock_verification(&mut tx, tenant.id, email.as_str()).await? {
        let wait = pending.sent_at + cooldown - now;
        if wait > Duration::zero() {
            tracing::Span::current().record("sent", false);
            return Ok(VerificationOutcome {
                sent: false,
                expires_in: u64::try_from((pending.expires_at - now).num_seconds()).unwrap_or(0),
                resend_after: seconds_up(wait),
                locked: pending.attempts >= MAX_CODE_ATTEMPTS,
            });
        }
    }
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let expires_at = now + Duration::minutes(CODE_TTL_MINUTES);
    repo::upsert_verification(
        &mut tx,
        tenant.id,
        email.as_str(),
        &code_hash(state, tenant.id, &email, &code),
        now,
        expires_at,
    )
    .await?;
    let mail = OutgoingMail {
        to: email.as_str().to_owned(),
        subject: format!("Your {} verification code: {code}", tenant.name),
        body: format!(
            "Your verification code is {code}\n\nIt expires in {CODE_TTL_MINUTES} minutes. If you did not ask for it, ignore this email.\n"
        ),
    };
    // The code is committed only if the mail went out, so a failed send costs no cooldown.
    state
        .mailer
        .send(mail)
        .await
        .map_err(|e| ApiError::unavailable("Mail delivery", e))?;
    tx.commit().await?;
    tracing::Span::current().record("sent", true);
    Ok(VerificationOutcome {
        sent: true,
        expires_in: (CODE_TTL_MINUTES * 60) as u64,
        resend_after: seconds_up(cooldown),
        locked: false,
    })
}

pub struct Registration {
    pub email: String,
    pub password: String,
    pub name: String,
    pub verification_code: String,
}

pub struct Registered {
    pub user: User,
    pub token: String,
    pub api_key: String,
}

/// Refuses an email that already has an account (409, before the code is looked at, so a wrong
/// code counts no attempt), then checks the code (a wrong one counts an attempt, committed even
/// though the request fails), then creates the user with a first API key and returns an access
/// token.
#[tracing::instrument(name = "accounts.register", skip_all)]
pub async fn register(
    state: &AppState,
    tenant: &Tenant,
    ip: &str,
    input: Registration,
) -> ApiResult<Registered> {
    let email = Email::parse(&input.email)?;
    let password = Password::parse(&input.password, &email)?;
    let name = DisplayName::parse(&input.name)?;
    let code = VerificationCode::parse(&input.verification_code)?;
    let limits = &state.settings.rate_limits;
    state
        .rate_limiter
        .check(Scope::Global, "register_ip", ip, limits.register_ip)
        .await?;
    state
        .rate_limiter
        .check(
            Scope::Tenant(tenant.id),
            "register_email",
            email.as_str(),
            limits.register_email,
        )
        .await?;

    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if repo::find_user_by_email(&mut tx, tenant.id, email.as_str())
        .await?
        .is_some()
    {
        return Err(email_taken());
    }
    let pending = repo::lock_verification(&mut tx, tenant.id, email.as_str())
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidVerificationCode,
                "No verification code was sent to this email; request one first",
            )
        })?;
    if now > pending.expires_at {
        return Err(ApiError::new(
            ErrorCode::VerificationCodeExpired,
            "The verification code has expired; request a new one",
        ));
    }
    if pending.attempts >= MAX_CODE_ATTEMPTS {
        return Err(ApiError::new(
            ErrorCode::VerificationAttemptsExceeded,
            "Too many wrong codes for this email; request a new verification code",
        ));
    }
    if pending.code_hash != code_hash(state, tenant.id, &email, code.as_str()) {
        let attempts = repo::count_failed_attempt(&mut tx, tenant.id, email.as_str()).await?;
        tx.commit().await?;
        let left = (MAX_CODE_ATTEMPTS - attempts).max(0);
        return Err(ApiError::new(
            ErrorCode::InvalidVerificationCode,
            format!("The verification code is wrong ({left} attempts left)"),
        ));
    }

    let password_hash = state.hasher.hash(ip, password.into_inner()).await?;
    let user = repo::insert_user(
        &mut tx,
        tenant.id,
        NewUser {
            id: UserId::new_v7(),
            email: email.as_str(),
            name: name.as_str(),
            password_hash: &password_hash,
            role: UserRole::Consumer,
            email_verified: true,
            now,
        },
    )
    .await
    .on_constraint("users_tenant_email_key", email_taken)?;
    repo::delete_verification(&mut tx, tenant.id, email.as_str()).await?;
    let (_, api_key) =
        super::api_keys::insert_api_key(&mut tx, tenant.id, user.id, "default", now).await?;
    tx.commit().await?;

    let token = state
        .jwt
        .issue(tenant.id, user.id, user.role.as_str(), now)?;
    Ok(Registered {
        user,
        token,
        api_key,
    })
}

/// Unknown emails and wrong passwords cost the same and answer the same.
#[tracing::instrument(name = "accounts.login", skip_all)]
pub async fn login(
    state: &AppState,
    tenant: &Tenant,
    ip: &str,
    email: &str,
    password: &str,
) -> ApiResult<(User, String)> {
    let email = Email::parse(email)?;
    if password.is_empty() || password.chars().count() > 1024 {
        return Err(ApiError::field("password", "must be 1-1024 characters"));
    }
    // Failed logins are throttled per (account, address) and, much higher, per account: a user
    // who knows the password is not locked out by guesses from elsewhere (docs/operations.md).
    let attempt =
        state
            .rate_limiter
            .login(&state.settings.rate_limits, tenant.id, email.as_str(), ip);
    attempt.admit().await?;

    let mut conn = state.db.acquire().await?;
    let user = repo::find_user_by_email(&mut conn, tenant.id, email.as_str()).await?;
    drop(conn); // never hold a pooled connection across a password hash
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let outcome = state.hasher.verify(ip, password.to_owned(), stored).await?;
    let (user, needs_rehash) = match (user, outcome) {
        (Some(user), Verification::Match { needs_rehash }) => (user, needs_rehash),
        _ => {
            attempt.failed().await?;
            return Err(ApiError::new(
                ErrorCode::InvalidCredentials,
                "Invalid email or password",
            ));
        }
    };
    // The upgrade is best-effort under load: the password is right, the next login rehashes.
    if needs_rehash {
        match state.hasher.hash(ip, password.to_owned()).await {
            Ok(hash) => {
                let mut conn = state.db.acquire().await?;
                repo::set_password_hash(&mut conn, tenant.id, user.id, &hash).await?;
            }
            Err(e) if e.code == ErrorCode::Overloaded => {}
            Err(e) => return Err(e),
        }
    }
    let token = state
        .jwt
        .issue(tenant.id, user.id, user.role.as_str(), state.clock.now())?;
    Ok((user, token))
}

pub async fn me(state: &AppState, principal: &Principal) -> ApiResult<User> {
    let mut conn = state.db.acquire().await?;
    repo::find_user(&mut conn, principal.tenant_id(), principal.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))
}

/// Creates an admin in the tenant, or promotes the existing user with that email (whose password
/// is then left unchanged). Returns the user and whether it was created.
#[tracing::instrument(name = "accounts.create_or_promote_admin", skip_all)]
pub async fn create_or_promote_admin(
    state: &AppState,
    tenant: TenantId,
    email: &str,
    password: &str,
    name: &str,
) -> ApiResult<(User, bool)> {
    let email = Email::parse(email)?;
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    if let Some(existing) = repo::find_user_by_email(&mut conn, tenant, email.as_str()).await? {
        let user = repo::set_role(&mut conn, tenant, existing.id, UserRole::Admin, now).await?;
        return Ok((user, false));
    }
    let password = Password::parse(password, &email)?;
    let name = DisplayName::parse(name)?;
    drop(conn);
    let hash = state
        .hasher
        .hash(OPERATOR_CLIENT, password.into_inner())
        .await?;
    let mut conn = state.db.acquire().await?;
    let user = repo::insert_user(
        &mut conn,
        tenant,
        NewUser {
            id: UserId::new_v7(),
            email: email.as_str(),
            name: name.as_str(),
            password_hash: &hash,
            role: UserRole::Admin,
            email_verified: true,
            now,
        },
    )
    .await
    .on_constraint("users_tenant_email_key", email_taken)?;
    Ok((user, true))
}

/// 404 unless `user` is a user of `tenant`: for other contexts, inside their own transaction.
pub async fn require_user(
    conn: &mut sqlx::PgConnection,
    tenant: TenantId,
    user: UserId,
) -> ApiResult<()> {
    repo::find_user(conn, tenant, user)
        .await?
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found("User"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_rounded_up_to_whole_seconds_and_never_negative() {
        let cases = [
            (Duration::seconds(60), 60),
            (Duration::milliseconds(59_001), 60),
            (Duration::milliseconds(1), 1),
            (Duration::zero(), 0),
            (Duration::seconds(-5), 0),
        ];
        for (wait, expected) in cases {
            assert_eq!(seconds_up(wait), expected, "{wait:?}");
        }
    }
}
