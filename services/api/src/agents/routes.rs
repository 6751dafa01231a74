//! `/api/agents/*`: the provider's registry, profile submission, agent tokens, activation, status.

use super::domain::{AgentRoles, Capability};
use super::service::{self, AgentInput, AgentPatch, TermsInput};
use super::serving_routes;
use super::views::AgentView;
use crate::auth::principal::Principal;
use crate::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, OptionalJson};
use crate::http::pagination::{Page, PageQuery};
use crate::http::responses::{AuthErrors, BodyErrors};
use crate::ids::AgentId;
use crate::state::AppState;
use actix_web::{HttpResponse, get, patch, post, web};
use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateAgentRequest {
    /// 1-100 characters.
    #[schema(example = "Rust reviewer")]
    pub name: String,
    /// 3-50 lowercase letters, digits and hyphens; unique in the marketplace.
    #[schema(example = "rust-reviewer")]
    pub slug: String,
    /// 10-500 characters.
    pub description: String,
    /// Up to 5000 characters.
    pub long_description: Option<String>,
    pub capabilities: Option<Vec<Capability>>,
    /// Permission ids such as `system.exec`.
    pub required_permissions: Option<Vec<String>>,
}

/// Distinguishes an absent field from an explicit `null`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateAgentRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `null` or `""` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub long_description: Option<Option<String>>,
    pub capabilities: Option<Vec<Capability>>,
    pub required_permissions: Option<Vec<String>>,
}

/// Provider terms. Every field is optional: absent ones keep the current profile's value, or the
/// default (per_session, "1.00", CNY, self_hosted, manual, moderate, 5 sessions, 1 slot).
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProviderTermsRequest {
    /// `per_session`, `per_minute`, `per_token` or `fixed`.
    pub pricing_model: Option<String>,
    /// A decimal string such as "1.00" (0 to 1000000, at most 4 decimals). JSON numbers are refused.
    pub price_amount: Option<String>,
    /// One of the marketplace's currencies (default CNY).
    pub currency: Option<String>,
    /// `self_hosted` or `platform_hosted`.
    pub hosting_type: Option<String>,
    /// `auto` or `manual`.
    pub approval_mode: Option<String>,
    /// `opaque`, `moderate` or `transparent`.
    pub transparency_level: Option<String>,
    /// 1-1000.
    pub max_concurrent_sessions: Option<i64>,
    /// 1-100.
    pub max_consumer_slots: Option<i64>,
    /// `auto` or `manual`.
    pub slot_assignment_mode: Option<String>,
    pub allow_shared_consumer: Option<bool>,
    /// http(s) URL; stored, never fetched by the server.
    pub endpoint: Option<String>,
    /// http(s) URL; stored, never fetched by the server.
    pub health_check_url: Option<String>,
}

impl From<ProviderTermsRequest> for TermsInput {
    fn from(r: ProviderTermsRequest) -> Self {
        Self {
            pricing_model: r.pricing_model,
            price_amount: r.price_amount,
            currency: r.currency,
            hosting_type: r.hosting_type,
            approval_mode: r.approval_mode,
            transparency_level: r.transparency_level,
            max_concurrent_sessions: r.max_concurrent_sessions,
            max_consumer_slots: r.max_consumer_slots,
            slot_assignment_mode: r.slot_assignment_mode,
            allow_shared_consumer: r.allow_shared_consumer,
            endpoint: r.endpoint,
            health_check_url: r.health_check_url,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyAgentsQuery {
    /// 1-based page number (default 1).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page: Option<String>,
    /// Items per page, 1-100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `consumer` or `both`.
    pub roles: Option<String>,
}

/// Register a draft agent.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = []), ("apiKey" = [])),
    request_body = CreateAgentRequest,
    responses(
        (status = 201, description = "Created as a draft", body = AgentView),
        (status = 400, description = "VALIDATION_ERROR, INVALID_JSON", body = ErrorBody),
        AuthErrors,
        (status = 409, description = "Slug taken (CONFLICT)", body = ErrorBody),
        BodyErrors,
    )
)]
#[post("/api/agents")]
pub async fn create_agent(
    state: web::Data<AppState>,
    principal: Principal,
    Json(body): Json<CreateAgentRequest>,
) -> ApiResult<HttpResponse> {
    let input = AgentInput {
        name: body.name,
        slug: body.slug,
        description: body.description,
        long_description: body.long_description,
        capabilities: body.capabilities,
        required_permissions: body.required_permissions,
    };
    let agent = service::create(&state, &principal, input).await?;
    Ok(HttpResponse::Created().json(AgentView::new(&agent, None, None)))
}

/// The caller's agents.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = []), ("apiKey" = [])),
    params(MyAgentsQuery),
    responses(
        (status = 200, description = "A page of agents", body = Page<AgentView>),
        (status = 400, description = "Invalid page, limit or roles (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
    )
)]
#[get("/api/agents/my")]
pub async fn my_agents(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<MyAgentsQuery>,
) -> ApiResult<web::Json<Page<AgentView>>> {
    let page = PageQuery {
        page: query.page.clone(),
        limit: query.limit.clone(),
    }
    .parse()?;
    let roles = query.roles.as_deref().map(AgentRoles::parse).transpose()?;
    let (agents, total) = service::list_mine(&state, &principal, roles, page).await?;
    let data = agents.iter().map(AgentView::from).collect();
    Ok(web::Json(Page::new(data, total, page)))
}

/// The agent identified by the agent token used to call this (401 for any other credential).
#[utoipa::path(
    tag = "agents",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token's agent", body = AgentView),
        (status = 401, description = "Not an agent token (INVALID_TOKEN, UNAUTHORIZED)", body = ErrorBody),
    )
)]
#[get("/api/agents/me/agent")]
pub async fn me_agent(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<web::Json<AgentView>> {
    let detail = service::me_agent(&state, &principal).await?;
    Ok(web::Json(AgentView::from(&detail)))
}

/// One of the caller's agents, with its provider profile.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = []), ("apiKey" = [])),
    params(("id" = Uuid, Path, description = "Agent id")),
    responses(
        (status = 200, description = "The agent", body = AgentView),
        (status = 400, description = "Malformed id", body = ErrorBody),
        AuthErrors,
        (status = 404, description = "Not one of your agents (NOT_FOUND)", body = ErrorBody),
    )
)]
#[get("/api/agents/{id}")]
pub async fn get_agent(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<AgentId>,
) -> ApiResult<web::Json<AgentView>> {
    let detail = service::get(&state, &principal, id.into_inner()).await?;
    Ok(web::Json(AgentView::from(&detail)))
}

/// Edit a draft (or rejected) agent's descriptive fields.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = []), ("apiKey" = [])),
    params(("id" = Uuid, Path, description = "Agent id")),
    request_body = UpdateAgentRequest,
    responses(
        (status = 200, description = "Updated", body = AgentView),
        (status = 400, description = "VALIDATION_ERROR, INVALID_JSON", body = ErrorBody),
        AuthErrors,
        (status = 404, description = "NOT_FOUND", body = ErrorBody),
        (status = 409, description = "Not editable in its current status (CONFLICT)", body = ErrorBody),
        BodyErrors,
    )
)]
#[patch("/api/agents/{id}")]
pub async fn update_agent(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<AgentId>,
    Json(body): Json<UpdateAgentRequest>,
) -> ApiResult<web::Json<AgentView>> {
    let patch = AgentPatch {
        name: body.name,
        description: body.description,
        long_description: body.long_description,
        capabilities: body.capabilities,
        required_permissions: body.required_permissions,
    };
    let detail = service::update(&state, &principal, id.into_inner(), patch).await?;
    Ok(web::Json(AgentView::from(&detail)))
}

/// `publish` and `apply-provider` are one operation under two paths (the clients use both):
/// submit the agent for review with optional provider terms, answer the agent with its profile.
macro_rules! submit_for_review {
    ($(#[$doc:meta])* $name:ident, $path:tt) => {
        $(#[$doc])*
        #[utoipa::path(
            tag = "agents",
            security(("bearer" = []), ("apiKey" = [])),
            params(("id" = Uuid, Path, description = "Agent id")),
            request_body(content = Option<ProviderTermsRequest>, description = "Optional provider terms"),
            responses(
                (status = 200, description = "Submitted: a new or rejected profile is `pending_review`; an active one stays live and listed with its approved terms, and the terms become its `pendingRevision`", body = AgentView),
                (status = 400, description = "VALIDATION_ERROR, INVALID_JSON", body = ErrorBody),
                AuthErrors,
                (status = 404, description = "NOT_FOUND", body = ErrorBody),
                (status = 409, description = "Suspended profiles cannot be resubmitted (CONFLICT)", body = ErrorBody),
                BodyErrors,
            )
        )]
        #[post($path)]
        pub async fn $name(
            state: web::Data<AppState>,
            principal: Principal,
            id: web::Path<AgentId>,
            OptionalJson(body): OptionalJson<ProviderTermsRequest>,
        ) -> ApiResult<web::Json<AgentView>> {
            let terms = body.unwrap_or_default().into();
            let detail = service::submit(&state, &principal, id.into_inner(), terms).await?;
            Ok(web::Json(AgentView::from(&detail)))
        }
    };
}

submit_for_review!(
    /// Publish the agent for review (status `pending_review`); the body is optional. An active
    /// agent stays live: the terms wait for review as its `pendingRevision`.
    publish,
    "/api/agents/{id}/publish"
);
submit_for_review!(
    /// Apply as a provider with full control of the terms (the same operation as `publish`; an
    /// active agent's terms become its `pendingRevision`).
    apply_provider,
    "/api/agents/{id}/apply-provider"
);

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    // `me/agent` and `my` before `{id}`, so the literal paths win.
    cfg.service(me_agent)
        .service(my_agents)
        .service(create_agent)
        .service(get_agent)
        .service(update_agent)
        .service(publish)
        .service(apply_provider)
        .service(serving_routes::issue_token)
        .service(serving_routes::revoke_token)
        .service(serving_routes::activate)
        .service(serving_routes::set_status);
}
