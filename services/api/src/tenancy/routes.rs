//! `/api/platform/*`: the platform operator's API (Bearer PLATFORM_OPERATOR_TOKEN).

use super::domain::{Tenant, TenantStatus};
use super::service::{self, TenantInput, TenantPatch};
use crate::accounts::service::create_or_promote_admin;
use crate::accounts::views::UserSummary;
use crate::auth::principal::PlatformOperator;
use crate::error::{ApiResult, ErrorBody};
use crate::http::extract::Json;
use crate::http::pagination::{Page, PageQuery};
use crate::http::responses::{AuthErrors, BodyErrors, PlatformErrors};
use crate::ids::TenantId;
use crate::state::AppState;
use crate::time_format;
use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateTenantRequest {
    /// 1-50 lowercase letters, digits, inner hyphens; used in the X-Tenant header.
    #[schema(example = "acme")]
    pub slug: String,
    #[schema(example = "Acme agents")]
    pub name: String,
    /// Hostnames that select this tenant through the Host header.
    #[schema(example = json!(["acme.example.com"]))]
    pub hostnames: Option<Vec<String>>,
    /// Platform fee rate as a decimal string in [0, 1), at most 4 decimals (default "0.15").
    #[schema(example = "0.15")]
    pub fee_rate: Option<String>,
    /// Accepted currencies (default ["CNY","USD"]).
    pub currencies: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTenantRequest {
    pub name: Option<String>,
    /// Replaces the tenant's hostnames.
    pub hostnames: Option<Vec<String>>,
    pub fee_rate: Option<String>,
    pub currencies: Option<Vec<String>>,
    /// `active` or `suspended`.
    pub status: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    #[schema(value_type = Uuid)]
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub status: TenantStatus,
    #[schema(value_type = String, example = "0.1500")]
    pub fee_rate: Decimal,
    pub currencies: Vec<String>,
    pub hostnames: Vec<String>,
    pub is_default: bool,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl TenantView {
    fn new((t, hostnames): (Tenant, Vec<String>)) -> Self {
        // Postgres returns a zero numeric without its scale; the wire always shows 4 decimals.
        let mut fee_rate = t.fee_rate;
        fee_rate.rescale(4);
        Self {
            id: t.id,
            slug: t.slug,
            name: t.name,
            status: t.status,
            fee_rate,
            currencies: t.currencies,
            hostnames,
            is_default: t.is_default,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct CreateAdminRequest {
    pub email: String,
    /// Used only when the account is created; an existing user keeps their password.
    pub password: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct AdminBootstrapResponse {
    pub user: UserSummary,
    /// False when an existing user was promoted.
    pub created: bool,
}

/// Create a tenant (marketplace).
#[utoipa::path(
    tag = "platform",
    security(("operator" = [])),
    request_body = CreateTenantRequest,
    responses(
        (status = 201, description = "Created", body = TenantView),
        (status = 400, description = "VALIDATION_ERROR, INVALID_JSON", body = ErrorBody),
        AuthErrors,
        PlatformErrors,
        (status = 409, description = "Slug or hostname taken (CONFLICT)", body = ErrorBody),
        BodyErrors,
    )
)]
#[post("/api/platform/tenants")]
pub async fn create_tenant(
    state: web::Data<AppState>,
    _: PlatformOperator,
    Json(body): Json<CreateTenantRequest>,
) -> ApiResult<HttpResponse> {
    let created = service::create(
        &state,
        TenantInput {
            slug: body.slug,
            name: body.name,
            hostnames: body.hostnames,
            fee_rate: body.fee_rate,
            currencies: body.currencies,
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(TenantView::new(created)))
}

/// List tenants.
#[utoipa::path(
    tag = "platform",
    security(("operator" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of tenants", body = Page<TenantView>),
        (status = 400, description = "Invalid page or limit", body = ErrorBody),
        AuthErrors,
        PlatformErrors,
    )
)]
#[get("/api/platform/tenants")]
pub async fn list_tenants(
    state: web::Data<AppState>,
    _: PlatformOperator,
    query: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<TenantView>>> {
    let page = query.parse()?;
    let (tenants, total) = service::list(&state, page).await?;
    Ok(web::Json(Page::new(
        tenants.into_iter().map(TenantView::new).collect(),
        total,
        page,
    )))
}

/// One tenant by slug.
#[utoipa::path(
    tag = "platform",
    security(("operator" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        AuthErrors,
        PlatformErrors,
        (status = 404, description = "NOT_FOUND", body = ErrorBody),
    )
)]
#[get("/api/platform/tenants/{slug}")]
pub async fn get_tenant(
    state: web::Data<AppState>,
    _: PlatformOperator,
    slug: web::Path<String>,
) -> ApiResult<web::Json<TenantView>> {
    Ok(web::Json(TenantView::new(
        service::get(&state, &slug).await?,
    )))
}

/// Change a tenant's name, hostnames, fee rate, currencies or status.
#[utoipa::path(
    tag = "platform",
    security(("operator" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    request_body = UpdateTenantRequest,
    responses(
        (status = 200, description = "Updated", body = TenantView),
        (status = 400, description = "VALIDATION_ERROR, INVALID_JSON", body = ErrorBody),
        AuthErrors,
        PlatformErrors,
        (status = 404, description = "NOT_FOUND", body = ErrorBody),
        (status = 409, description = "Hostname taken, or suspending the default tenant (CONFLICT)", body = ErrorBody),
        BodyErrors,
    )
)]
#[patch("/api/platform/tenants/{slug}")]
pub async fn update_tenant(
    state: web::Data<AppState>,
    _: PlatformOperator,
    slug: web::Path<String>,
    Json(body): Json<UpdateTenantRequest>,
) -> ApiResult<web::Json<TenantView>> {
    let patch = TenantPatch {
        name: body.name,
        hostnames: body.hostnames,
        fee_rate: body.fee_rate,
        currencies: body.currencies,
        status: body.status,
    };
    Ok(web::Json(TenantView::new(
        service::update(&state, &slug, patch).await?,
    )))
}

/// Create the tenant's admin, or promote the existing user with that email.
#[utoipa::path(
    tag = "platform",
    security(("operator" = [])),
    params(("slug" = String, Path, description = "Tenant slug (the default tenant is `default`)")),
    request_body = CreateAdminRequest,
    responses(
        (status = 201, description = "Admin created", body = AdminBootstrapResponse),
        (status = 200, description = "Existing user promoted to admin", body = AdminBootstrapResponse),
        (status = 400, description = "VALIDATION_ERROR, INVALID_JSON, WEAK_PASSWORD", body = ErrorBody),
        AuthErrors,
        PlatformErrors,
        (status = 404, description = "NOT_FOUND", body = ErrorBody),
        BodyErrors,
    )
)]
#[post("/api/platform/tenants/{slug}/admins")]
pub async fn create_admin(
    state: web::Data<AppState>,
    _: PlatformOperator,
    slug: web::Path<String>,
    Json(body): Json<CreateAdminRequest>,
) -> ApiResult<HttpResponse> {
    let tenant = service::require(&state, &slug).await?;
    let (user, created) =
        create_or_promote_admin(&state, tenant.id, &body.email, &body.password, &body.name).await?;
    let body = AdminBootstrapResponse {
        user: UserSummary::from(&user),
        created,
    };
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_tenant)
        .service(list_tenants)
        .service(get_tenant)
        .service(update_tenant)
        .service(create_admin);
}
