//! `/api/admin/*`: a tenant admin reviews provider profiles; every decision is audited.

use super::domain::{ProfileStatus, ReviewAction};
use super::service;
use super::views::{AgentView, AuditView, ReviewItemView};
use crate::auth::principal::AdminPrincipal;
use crate::error::{ApiResult, ErrorBody};
use crate::http::extract::OptionalJson;
use crate::http::pagination::{Page, PageQuery};
use crate::http::responses::{AdminErrors, AuthErrors, BodyErrors};
use crate::ids::AgentId;
use crate::state::AppState;
use actix_web::{get, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQueueQuery {
    /// `pending_review`, `active`, `suspended` or `rejected` (default: all).
    pub status: Option<String>,
    /// 1-based page number (default 1).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page: Option<String>,
    /// Items per page, 1-100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    /// Only entries about this agent.
    pub target_id: Option<Uuid>,
    /// 1-based page number (default 1).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page: Option<String>,
    /// Items per page, 1-100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ReviewRequest {
    /// Required to reject or suspend; shown to the provider.
    pub reason: Option<String>,
}

/// Provider profiles to review (oldest submission first). `status=pending_review` lists
/// everything awaiting a decision: new submissions, and active profiles whose `pendingRevision`
/// awaits approval or rejection (their `profile.status` stays `active`).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("apiKey" = [])),
    params(ReviewQueueQuery),
    responses(
        (status = 200, description = "A page of profiles", body = Page<ReviewItemView>),
        (status = 400, description = "Invalid status, page or limit (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        AdminErrors,
    )
)]
#[get("/api/admin/providers")]
pub async fn list_providers(
    state: web::Data<AppState>,
    AdminPrincipal(admin): AdminPrincipal,
    query: web::Query<ReviewQueueQuery>,
) -> ApiResult<web::Json<Page<ReviewItemView>>> {
    let page = PageQuery {
        page: query.page.clone(),
        limit: query.limit.clone(),
    }
    .parse()?;
    let status = query
        .status
        .as_deref()
        .map(ProfileStatus::parse)
        .transpose()?;
    let (items, total) = service::review_queue(&state, &admin, status, page).await?;
    Ok(web::Json(Page::new(
        items.iter().map(ReviewItemView::from).collect(),
        total,
        page,
    )))
}

async fn decide(
    state: &AppState,
    admin: &crate::auth::principal::Principal,
    agent_id: AgentId,
    action: ReviewAction,
    body: Option<ReviewRequest>,
) -> ApiResult<web::Json<AgentView>> {
    let reason = body.unwrap_or_default().reason;
    let detail = service::review(state, admin, agent_id, action, reason).await?;
    Ok(web::Json(AgentView::from(&detail)))
}

macro_rules! review_endpoint {
    ($fn:ident, $path:literal, $action:expr, $summary:literal, $ok:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            tag = "admin",
            security(("bearer" = []), ("apiKey" = [])),
            params(("agentId" = Uuid, Path, description = "Agent id")),
            request_body(content = Option<ReviewRequest>, description = "`reason` (required to reject or suspend)"),
            responses(
                (status = 200, description = $ok, body = AgentView),
                (status = 400, description = "Missing reason, malformed id or body (VALIDATION_ERROR, INVALID_JSON)", body = ErrorBody),
                AuthErrors,
                AdminErrors,
                (status = 404, description = "No such agent or profile in this marketplace (NOT_FOUND)", body = ErrorBody),
                (status = 409, description = "Illegal transition; the message names the current status (CONFLICT)", body = ErrorBody),
                BodyErrors,
            )
        )]
        #[post($path)]
        pub async fn $fn(
            state: web::Data<AppState>,
            AdminPrincipal(admin): AdminPrincipal,
            agent_id: web::Path<AgentId>,
            OptionalJson(body): OptionalJson<ReviewRequest>,
        ) -> ApiResult<web::Json<AgentView>> {
            decide(&state, &admin, agent_id.into_inner(), $action, body).await
        }
    };
}

review_endpoint!(
    approve,
    "/api/admin/providers/{agentId}/approve",
    ReviewAction::Approve,
    "Approve a pending profile: it becomes `active`, is listed, and its owner's role becomes `both`. On an active profile with a pending revision: the revision's terms become the live terms and the listing follows.",
    "Approved"
);
review_endpoint!(
    reject,
    "/api/admin/providers/{agentId}/reject",
    ReviewAction::Reject,
    "Reject a pending profile with a reason; the owner may resubmit. On an active profile with a pending revision: the revision is rejected (the owner sees the reason on it) and the live terms stay.",
    "Rejected"
);
review_endpoint!(
    suspend,
    "/api/admin/providers/{agentId}/suspend",
    ReviewAction::Suspend,
    "Suspend an active profile with a reason; it leaves the marketplace.",
    "Suspended"
);
review_endpoint!(
    reinstate,
    "/api/admin/providers/{agentId}/reinstate",
    ReviewAction::Reinstate,
    "Reinstate a suspended profile; it returns to the marketplace.",
    "Reinstated"
);

/// The marketplace's admin audit log, newest first.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("apiKey" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of audit entries", body = Page<AuditView>),
        (status = 400, description = "Invalid page, limit or targetId (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        AdminErrors,
    )
)]
#[get("/api/admin/audit")]
pub async fn audit(
    state: web::Data<AppState>,
    AdminPrincipal(admin): AdminPrincipal,
    query: web::Query<AuditQuery>,
) -> ApiResult<web::Json<Page<AuditView>>> {
    let page = PageQuery {
        page: query.page.clone(),
        limit: query.limit.clone(),
    }
    .parse()?;
    let (rows, total) = service::audit_log(&state, &admin, query.target_id, page).await?;
    Ok(web::Json(Page::new(
        rows.into_iter().map(AuditView::from).collect(),
        total,
        page,
    )))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_providers)
        .service(approve)
        .service(reject)
        .service(suspend)
        .service(reinstate)
        .service(audit);
}
