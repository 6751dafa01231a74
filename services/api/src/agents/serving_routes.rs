//! Keeping an agent in service over REST: its token (issue, revoke), activation and online status.
//! Registered by `routes::configure`, after the literal paths.

use super::service;
use super::views::AgentView;
use crate::auth::principal::{CredentialManager, Principal};
use crate::error::{ApiResult, ErrorBody};
use crate::http::extract::Json;
use crate::http::responses::{AuthErrors, BodyErrors, CredentialErrors};
use crate::ids::AgentId;
use crate::state::AppState;
use crate::time_format;
use actix_web::{HttpResponse, delete, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusRequest {
    /// `online` or `busy` (both need a live /ws/agent connection) or `offline`.
    pub online_status: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentTokenResponse {
    #[schema(value_type = Uuid)]
    pub agent_id: AgentId,
    /// `agt_clawrent_` + 40 characters. Shown only in this response.
    pub token: String,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    pub warning: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevokeTokenResponse {
    pub success: bool,
    #[schema(value_type = Uuid)]
    pub agent_id: AgentId,
    /// False when the agent had no token.
    pub revoked: bool,
}

/// Issue an agent token (shown once); any earlier token stops working.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = []), ("apiKey" = [])),
    params(("id" = Uuid, Path, description = "Agent id")),
    responses(
        (status = 201, description = "Issued", body = AgentTokenResponse),
        (status = 400, description = "Malformed agent id (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        CredentialErrors,
        (status = 404, description = "NOT_FOUND", body = ErrorBody),
    )
)]
#[post("/api/agents/{id}/token")]
pub async fn issue_token(
    state: web::Data<AppState>,
    CredentialManager(principal): CredentialManager,
    id: web::Path<AgentId>,
) -> ApiResult<HttpResponse> {
    let issued = service::issue_token(&state, &principal, id.into_inner()).await?;
    Ok(HttpResponse::Created().json(AgentTokenResponse {
        agent_id: issued.agent_id,
        token: issued.token,
        created_at: issued.created_at,
        warning: "Store this token now: it is shown only once. Issuing a new token revokes this one.",
    }))
}

/// Revoke the agent's token.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = []), ("apiKey" = [])),
    params(("id" = Uuid, Path, description = "Agent id")),
    responses(
        (status = 200, description = "Revoked (or there was none)", body = RevokeTokenResponse),
        (status = 400, description = "Malformed agent id (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        CredentialErrors,
        (status = 404, description = "NOT_FOUND", body = ErrorBody),
    )
)]
#[delete("/api/agents/{id}/token")]
pub async fn revoke_token(
    state: web::Data<AppState>,
    CredentialManager(principal): CredentialManager,
    id: web::Path<AgentId>,
) -> ApiResult<web::Json<RevokeTokenResponse>> {
    let id = id.into_inner();
    let revoked = service::revoke_token(&state, &principal, id).await?;
    Ok(web::Json(RevokeTokenResponse {
        success: true,
        agent_id: id,
        revoked,
    }))
}

/// Put the agent online: its profile must be `active` and it must hold a live `/ws/agent` connection.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = []), ("apiKey" = [])),
    params(("id" = Uuid, Path, description = "Agent id")),
    responses(
        (status = 200, description = "Online", body = AgentView),
        (status = 400, description = "\"Provider profile status is '...'\" or \"Agent is not connected via WebSocket\" (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        (status = 404, description = "NOT_FOUND", body = ErrorBody),
        (status = 503, description = "Presence store (Redis) unavailable", body = ErrorBody),
    )
)]
#[post("/api/agents/{id}/activate")]
pub async fn activate(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<AgentId>,
) -> ApiResult<web::Json<AgentView>> {
    let detail = service::activate(&state, &principal, id.into_inner()).await?;
    Ok(web::Json(AgentView::from(&detail)))
}

/// Set `busy` (and back to `online`) or `offline`.
#[utoipa::path(
    tag = "agents",
    security(("bearer" = []), ("apiKey" = [])),
    params(("id" = Uuid, Path, description = "Agent id")),
    request_body = StatusRequest,
    responses(
        (status = 200, description = "Updated", body = AgentView),
        (status = 400, description = "Unknown status, or not connected (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        (status = 404, description = "NOT_FOUND", body = ErrorBody),
        BodyErrors,
        (status = 503, description = "Presence store (Redis) unavailable", body = ErrorBody),
    )
)]
#[patch("/api/agents/{id}/status")]
pub async fn set_status(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<AgentId>,
    Json(body): Json<StatusRequest>,
) -> ApiResult<web::Json<AgentView>> {
    let detail =
        service::set_status(&state, &principal, id.into_inner(), &body.online_status).await?;
    Ok(web::Json(AgentView::from(&detail)))
}
