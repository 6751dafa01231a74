//! `/api/auth/*`: verification, registration, login, the current user, API keys.

use super::api_keys;
use super::domain::{UserRole, parse_key_name};
use super::repo::ApiKeyRow;
use super::service::{self, Registration, VerificationOutcome};
pub use super::views::UserSummary;
use crate::auth::principal::{CredentialManager, Principal};
use crate::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, OptionalJson, client_ip};
use crate::http::pagination::{Page, PageQuery};
use crate::http::responses::{AuthErrors, BodyErrors, CredentialErrors};
use crate::ids::{ApiKeyId, TenantId, UserId};
use crate::state::AppState;
use crate::tenancy::resolve::CurrentTenant;
use crate::time_format;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct SendVerificationRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendVerificationResponse {
    pub success: bool,
    pub message: String,
    /// Seconds until the code expires (the code mailed now, or the one mailed earlier when `sent`
    /// is false).
    pub expires_in: u64,
    /// Whether a mail went out with this request. False within the resend cooldown: nothing was
    /// mailed and the code sent earlier stays valid.
    pub sent: bool,
    /// Seconds until a new code can be requested (the resend cooldown).
    #[schema(example = 60)]
    pub resend_after: u64,
}

impl From<VerificationOutcome> for SendVerificationResponse {
    fn from(o: VerificationOutcome) -> Self {
        let wait = o.resend_after;
        let message = if o.sent {
            "Verification code sent".to_owned()
        } else if o.locked {
            format!(
                "The code sent earlier is locked after too many wrong attempts; request a new one in {wait} s"
            )
        } else if o.expires_in == 0 {
            format!("The code sent earlier has expired; request a new one in {wait} s")
        } else {
            format!(
                "A verification code was sent recently and is still valid; no new mail was sent (a new code can be requested in {wait} s)"
            )
        };
        Self {
            success: true,
            message,
            expires_in: o.expires_in,
            sent: o.sent,
            resend_after: wait,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// 8-128 characters, not a common password.
    pub password: String,
    #[schema(example = "Ada")]
    pub name: String,
    /// The 6-digit code mailed by send-verification.
    #[schema(example = "123456")]
    pub verification_code: String,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterResponse {
    /// JWT access token (send as `Authorization: Bearer`).
    pub token: String,
    /// An API key (send as `x-api-key`), shown only now.
    pub api_key: String,
    pub user: UserSummary,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub user: UserSummary,
}

#[derive(Serialize, ToSchema)]
pub struct TenantSummary {
    #[schema(value_type = Uuid)]
    pub id: TenantId,
    pub slug: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeResponse {
    #[schema(value_type = Uuid)]
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: UserRole,
    pub email_verified: bool,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime, example = "2026-07-13T00:00:00.000Z")]
    pub created_at: DateTime<Utc>,
    pub tenant: TenantSummary,
}

#[derive(Deserialize, ToSchema)]
pub struct CreateApiKeyRequest {
    /// A label to recognise the key by (default "default").
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    #[schema(value_type = Uuid)]
    pub id: ApiKeyId,
    pub name: String,
    /// The first characters of the key, to recognise it.
    #[schema(example = "clr_AbCdEfGh")]
    pub prefix: String,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "time_format::option::serialize"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRow> for ApiKeyView {
    fn from(r: ApiKeyRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub view: ApiKeyView,
    /// The whole key, shown only in this response.
    pub key: String,
}

#[derive(Serialize, ToSchema)]
pub struct SuccessResponse {
    pub success: bool,
}

/// Mail a 6-digit verification code (valid 10 minutes, 5 attempts).
///
/// Within the resend cooldown no mail is sent and the code mailed earlier stays valid: the answer
/// is still 200, with `sent: false` and `resendAfter` (seconds until a new code can be requested).
#[utoipa::path(
    tag = "auth",
    request_body = SendVerificationRequest,
    responses(
        (status = 200, description = "Code sent (`sent: true`), or, within the resend cooldown, nothing sent and the earlier code still valid (`sent: false`); `resendAfter` says when a new code can be requested", body = SendVerificationResponse),
        (status = 400, description = "Malformed email or body (VALIDATION_ERROR, INVALID_JSON)", body = ErrorBody),
        (status = 404, description = "Unknown X-Tenant (TENANT_NOT_FOUND)", body = ErrorBody),
        (status = 409, description = "Email already registered (EMAIL_ALREADY_REGISTERED)", body = ErrorBody),
        BodyErrors,
        (status = 429, description = "Rate limit per client IP or per email (RATE_LIMITED, Retry-After); the resend cooldown is a 200, not a 429", body = ErrorBody),
        (status = 503, description = "Mail, database or Redis unavailable", body = ErrorBody),
    )
)]
#[post("/api/auth/send-verification")]
pub async fn send_verification(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    Json(body): Json<SendVerificationRequest>,
) -> ApiResult<web::Json<SendVerificationResponse>> {
    let outcome =
        service::send_verification(&state, &tenant.0, &client_ip(&req), &body.email).await?;
    Ok(web::Json(outcome.into()))
}

/// Create an account with the mailed code; returns a token and a first API key.
///
/// An email that already has an account in the tenant is 409 `EMAIL_ALREADY_REGISTERED`, whatever
/// the code (it is not looked at).
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = RegisterResponse),
        (status = 400, description = "VALIDATION_ERROR, INVALID_JSON, WEAK_PASSWORD, INVALID_VERIFICATION_CODE, VERIFICATION_CODE_EXPIRED, VERIFICATION_ATTEMPTS_EXCEEDED", body = ErrorBody),
        (status = 404, description = "Unknown X-Tenant (TENANT_NOT_FOUND)", body = ErrorBody),
        (status = 409, description = "The email already has an account (EMAIL_ALREADY_REGISTERED), checked before the code", body = ErrorBody),
        BodyErrors,
        (status = 429, description = "Rate limited (Retry-After)", body = ErrorBody),
        (status = 503, description = "Database or Redis unavailable (SERVICE_UNAVAILABLE), or the password-hash queue is full (OVERLOADED); both with Retry-After", body = ErrorBody),
    )
)]
#[post("/api/auth/register")]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    Json(body): Json<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let input = Registration {
        email: body.email,
        password: body.password,
        name: body.name,
        verification_code: body.verification_code,
    };
    let done = service::register(&state, &tenant.0, &client_ip(&req), input).await?;
    Ok(HttpResponse::Created().json(RegisterResponse {
        token: done.token,
        api_key: done.api_key,
        user: UserSummary::from(&done.user),
    }))
}

/// Exchange email and password for a token.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "VALIDATION_ERROR, INVALID_JSON", body = ErrorBody),
        (status = 401, description = "INVALID_CREDENTIALS (unknown email or wrong password)", body = ErrorBody),
        (status = 404, description = "Unknown X-Tenant (TENANT_NOT_FOUND)", body = ErrorBody),
        BodyErrors,
        (status = 429, description = "Rate limited per account or IP (Retry-After)", body = ErrorBody),
        (status = 503, description = "Database or Redis unavailable (SERVICE_UNAVAILABLE), or the password-hash queue is full (OVERLOADED); both with Retry-After", body = ErrorBody),
    )
)]
#[post("/api/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    Json(body): Json<LoginRequest>,
) -> ApiResult<web::Json<LoginResponse>> {
    let (user, token) = service::login(
        &state,
        &tenant.0,
        &client_ip(&req),
        &body.email,
        &body.password,
    )
    .await?;
    Ok(web::Json(LoginResponse {
        token,
        user: UserSummary::from(&user),
    }))
}

/// The authenticated user.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = []), ("apiKey" = [])),
    responses(
        (status = 200, description = "The current user", body = MeResponse),
        AuthErrors,
        (status = 404, description = "Unknown X-Tenant (TENANT_NOT_FOUND)", body = ErrorBody),
    )
)]
#[get("/api/auth/me")]
pub async fn me(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<web::Json<MeResponse>> {
    let user = service::me(&state, &principal).await?;
    let tenant = &principal.tenant;
    Ok(web::Json(MeResponse {
        id: user.id,
        email: user.email,
        name: user.name,
        role: user.role,
        email_verified: user.email_verified_at.is_some(),
        created_at: user.created_at,
        tenant: TenantSummary {
            id: tenant.id,
            slug: tenant.slug.clone(),
            name: tenant.name.clone(),
        },
    }))
}

/// Create an API key for the current user; the key is shown only in this response.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = []), ("apiKey" = [])),
    request_body(content = Option<CreateApiKeyRequest>, description = "Optional; an empty body is accepted"),
    responses(
        (status = 201, description = "Key created", body = CreatedApiKey),
        (status = 400, description = "VALIDATION_ERROR, INVALID_JSON", body = ErrorBody),
        AuthErrors,
        CredentialErrors,
        BodyErrors,
    )
)]
#[post("/api/auth/api-keys")]
pub async fn create_api_key(
    state: web::Data<AppState>,
    CredentialManager(principal): CredentialManager,
    OptionalJson(body): OptionalJson<CreateApiKeyRequest>,
) -> ApiResult<HttpResponse> {
    let name = parse_key_name(body.as_ref().and_then(|b| b.name.as_deref()))?;
    let (row, key) = api_keys::create_api_key(&state, &principal, &name).await?;
    Ok(HttpResponse::Created().json(CreatedApiKey {
        view: row.into(),
        key,
    }))
}

/// The current user's live API keys (prefixes only).
#[utoipa::path(
    tag = "auth",
    security(("bearer" = []), ("apiKey" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of keys", body = Page<ApiKeyView>),
        (status = 400, description = "Invalid page or limit (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        CredentialErrors,
    )
)]
#[get("/api/auth/api-keys")]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    CredentialManager(principal): CredentialManager,
    query: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<ApiKeyView>>> {
    let page = query.parse()?;
    let (rows, total) = api_keys::list_api_keys(&state, &principal, page).await?;
    Ok(web::Json(Page::new(
        rows.into_iter().map(ApiKeyView::from).collect(),
        total,
        page,
    )))
}

/// Revoke one of the current user's API keys.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = []), ("apiKey" = [])),
    params(("id" = Uuid, Path, description = "API key id")),
    responses(
        (status = 200, description = "Revoked", body = SuccessResponse),
        (status = 400, description = "Malformed id (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        CredentialErrors,
        (status = 404, description = "No such live key of yours (NOT_FOUND)", body = ErrorBody),
    )
)]
#[delete("/api/auth/api-keys/{id}")]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    CredentialManager(principal): CredentialManager,
    id: web::Path<ApiKeyId>,
) -> ApiResult<web::Json<SuccessResponse>> {
    api_keys::revoke_api_key(&state, &principal, id.into_inner()).await?;
    Ok(web::Json(SuccessResponse { success: true }))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(send_verification)
        .service(register)
        .service(login)
        .service(me)
        .service(create_api_key)
        .service(list_api_keys)
        .service(revoke_api_key);
}
