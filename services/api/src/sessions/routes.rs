//! `/api/sessions/*`: renting, reading and ending sessions, and their messages. Any credential
//! works (JWT, API key, or an agent token acting as its owner); only participants see a session.

use super::messages::{self, HistoryQuery, SendInput};
use super::service::{self, ListQuery, RentInput};
use super::transitions;
use super::views::{EndedView, MessagesPageView, SentView, SessionView, SessionsPageView};
use crate::auth::principal::Principal;
use crate::error::{ApiResult, ErrorBody};
use crate::http::extract::{Json, OptionalJson};
use crate::http::pagination::PageQuery;
use crate::http::responses::{AuthErrors, BodyErrors};
use crate::idempotency::Scope;
use crate::ids::SessionId;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RentRequest {
    /// The agent to rent.
    #[schema(format = Uuid)]
    pub agent_id: Option<String>,
    /// What the consumer wants done (at most 10,000 characters).
    pub task_description: Option<String>,
    /// A JSON object of permissions granted to the agent (default `{}`).
    #[schema(value_type = Option<Object>)]
    pub granted_permissions: Option<Value>,
    /// 1-128 visible ASCII characters: renting again with the same key returns the open session
    /// instead of creating another.
    pub session_key: Option<String>,
}

const IDEMPOTENCY_KEY: &str = "1-255 visible ASCII characters; a repeat replays the first response";

/// Rent an agent: the price's hold is taken from the wallet and the session created in one
/// transaction, `active` at once for approval mode `auto`, else `pending_approval` until the
/// provider approves (or it expires after SESSION_PENDING_TTL, the hold going back).
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = []), ("apiKey" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY)),
    request_body = RentRequest,
    responses(
        (status = 201, description = "Created", body = SessionView),
        (status = 200, description = "The open session of this `sessionKey`; nothing new was held", body = SessionView),
        (status = 400, description = "A missing or invalid field, or your own agent (VALIDATION_ERROR, INVALID_JSON)", body = ErrorBody),
        AuthErrors,
        (status = 402, description = "The wallet cannot cover the hold; the message says how much is needed and held (INSUFFICIENT_BALANCE)", body = ErrorBody),
        (status = 404, description = "No such agent in this marketplace (NOT_FOUND)", body = ErrorBody),
        (status = 409, description = "Profile not active, agent offline or busy, maxConcurrentSessions or maxConsumerSlots reached (CONFLICT)", body = ErrorBody),
        BodyErrors,
        (status = 422, description = "Idempotency-Key reused with another body (IDEMPOTENCY_KEY_REUSED)", body = ErrorBody),
    )
)]
#[post("/api/sessions")]
pub async fn rent(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    Json(body): Json<RentRequest>,
) -> ApiResult<HttpResponse> {
    let scope = Scope::from_request(&req, &principal, &body)?;
    let input = RentInput {
        agent_id: body.agent_id.as_deref(),
        task_description: body.task_description.as_deref(),
        granted_permissions: body.granted_permissions.clone(),
        session_key: body.session_key.as_deref(),
    };
    let outcome = service::rent(&state, &principal, input, scope.as_ref()).await?;
    Ok(outcome.into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionsQuery {
    /// `consumer` (default): sessions you rented; `provider`: sessions of your agents (with an
    /// agent token, of that agent).
    pub role: Option<String>,
    /// Only this status (`pending_approval`, `active`, `settled`, `aborted`, `expired`).
    pub status: Option<String>,
    /// 1-based page number (default 1).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page: Option<String>,
    /// Items per page, 1-100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `nextCursor` of the previous page; `page` is then ignored.
    pub cursor: Option<String>,
}

/// Your sessions, newest first.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = []), ("apiKey" = [])),
    params(SessionsQuery),
    responses(
        (status = 200, description = "A page of sessions, each with its `sessionToken`", body = SessionsPageView),
        (status = 400, description = "Invalid role, status, page, limit or cursor (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
    )
)]
#[get("/api/sessions")]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<SessionsQuery>,
) -> ApiResult<web::Json<SessionsPageView>> {
    let page = PageQuery {
        page: query.page.clone(),
        limit: query.limit.clone(),
    }
    .parse()?;
    let list_query = ListQuery {
        role: query.role.as_deref(),
        status: query.status.as_deref(),
        cursor: query.cursor.as_deref(),
    };
    let result = service::list(&state, &principal, list_query, page).await?;
    let tenant = principal.tenant_id();
    Ok(web::Json(SessionsPageView {
        data: result
            .rows
            .iter()
            .map(|s| service::view(&state, tenant, s))
            .collect(),
        total: result.total,
        page: page.page,
        limit: page.limit,
        next_cursor: result.next_cursor,
    }))
}

/// One of your sessions (consumer or provider side).
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = []), ("apiKey" = [])),
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 200, description = "The session", body = SessionView),
        (status = 400, description = "Malformed session id (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        (status = 404, description = "No such session, or you take no part in it (NOT_FOUND)", body = ErrorBody),
    )
)]
#[get("/api/sessions/{id}")]
pub async fn get_session(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<SessionId>,
) -> ApiResult<web::Json<SessionView>> {
    Ok(web::Json(
        service::get(&state, &principal, id.into_inner()).await?,
    ))
}

/// Approve a pending session (provider; no body). Approving an active session answers it as it
/// is, so a daemon may approve every session it is told about.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = []), ("apiKey" = [])),
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 200, description = "Active, with `sessionToken`, `taskDescription` and `consumerUserId`", body = SessionView),
        (status = 400, description = "Malformed session id (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        (status = 403, description = "Only the provider approves (FORBIDDEN)", body = ErrorBody),
        (status = 404, description = "No such session, or you take no part in it (NOT_FOUND)", body = ErrorBody),
        (status = 409, description = "The session has already ended (CONFLICT)", body = ErrorBody),
    )
)]
#[post("/api/sessions/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<SessionId>,
    _body: OptionalJson<Value>,
) -> ApiResult<web::Json<SessionView>> {
    Ok(web::Json(
        transitions::approve(&state, &principal, id.into_inner()).await?,
    ))
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
pub struct RejectRequest {
    /// Why (at most 500 characters), shown to the consumer as `endNote`.
    pub reason: Option<String>,
}

/// Reject a pending session (provider): the hold goes back to the consumer, the session is
/// `aborted`.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = []), ("apiKey" = [])),
    params(("id" = Uuid, Path, description = "Session id")),
    request_body(content = Option<RejectRequest>, description = "Optional reason"),
    responses(
        (status = 200, description = "Aborted", body = SessionView),
        (status = 400, description = "Malformed session id or reason (VALIDATION_ERROR, INVALID_JSON)", body = ErrorBody),
        AuthErrors,
        (status = 403, description = "Only the provider rejects (FORBIDDEN)", body = ErrorBody),
        (status = 404, description = "No such session, or you take no part in it (NOT_FOUND)", body = ErrorBody),
        (status = 409, description = "Not pending: an active session is ended instead (CONFLICT)", body = ErrorBody),
        BodyErrors,
    )
)]
#[post("/api/sessions/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<SessionId>,
    OptionalJson(body): OptionalJson<RejectRequest>,
) -> ApiResult<web::Json<SessionView>> {
    let reason = body.and_then(|b| b.reason);
    Ok(web::Json(
        transitions::reject(&state, &principal, id.into_inner(), reason.as_deref()).await?,
    ))
}

/// End a session (either participant; no body). An active session is settled by its pricing
/// model (flat, minutes started, or metered tokens, never above the hold) and the rest of the
/// hold refunded; a pending one charges nothing (`aborted`, every amount zero). Ending again
/// answers the first result.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("id" = Uuid, Path, description = "Session id"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY),
    ),
    responses(
        (status = 200, description = "`settled` (or `aborted`, `expired`) with the settlement", body = EndedView),
        (status = 400, description = "Malformed session id or Idempotency-Key (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        (status = 404, description = "No such session, or you take no part in it (NOT_FOUND)", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused with another request (IDEMPOTENCY_KEY_REUSED)", body = ErrorBody),
    )
)]
#[post("/api/sessions/{id}/end")]
pub async fn end(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<SessionId>,
    _body: OptionalJson<Value>,
) -> ApiResult<HttpResponse> {
    let scope = Scope::from_request(&req, &principal, &())?;
    let outcome = transitions::end(&state, &principal, id.into_inner(), scope.as_ref()).await?;
    Ok(outcome.into_response())
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct SendMessageRequest {
    /// `dialogue.*` (both sides), `instruction.*` (consumer), `result.*` (provider) or
    /// `session.*`. `system.*` is the server's; `dialogue.typing` is live only.
    #[serde(rename = "type")]
    #[schema(example = "dialogue.message")]
    pub kind: Option<String>,
    /// A JSON object (at most 32 KiB). A provider's `result.*` payload may report
    /// `usage.totalTokens`, which per-token sessions are charged for.
    #[schema(value_type = Option<Object>)]
    pub payload: Option<Value>,
    /// Your own id for the message (1-128 visible ASCII characters): a retry with the same id
    /// answers the stored message (`duplicate: true`) instead of storing it twice.
    pub id: Option<String>,
}

/// Send a message in an active session (stored first, with the next `seq`).
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("id" = Uuid, Path, description = "Session id"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY_KEY),
    ),
    request_body = SendMessageRequest,
    responses(
        (status = 200, description = "Stored", body = SentView),
        (status = 400, description = "Unknown type, a type the sender may not send, or a payload that is not an object or over 32 KiB (VALIDATION_ERROR, INVALID_JSON)", body = ErrorBody),
        AuthErrors,
        (status = 404, description = "No such session, or you take no part in it (NOT_FOUND)", body = ErrorBody),
        (status = 409, description = "The session is not active (pending or ended) (CONFLICT)", body = ErrorBody),
        BodyErrors,
        (status = 422, description = "Idempotency-Key reused with another body (IDEMPOTENCY_KEY_REUSED)", body = ErrorBody),
    )
)]
#[post("/api/sessions/{id}/messages")]
pub async fn send_message(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<SessionId>,
    Json(body): Json<SendMessageRequest>,
) -> ApiResult<HttpResponse> {
    let scope = Scope::from_request(&req, &principal, &body)?;
    let input = SendInput {
        kind: body.kind.as_deref(),
        payload: body.payload.clone(),
        client_id: body.id.as_deref(),
    };
    let outcome =
        messages::send(&state, &principal, id.into_inner(), input, scope.as_ref()).await?;
    Ok(outcome.into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct MessagesQuery {
    /// Only messages created strictly after this time (ISO-8601, e.g. `2026-07-13T00:00:00.000Z`).
    pub since: Option<String>,
    /// Only messages after this `seq` (takes precedence over `since`).
    #[param(value_type = Option<i64>, minimum = 0)]
    pub after_seq: Option<String>,
    /// 1-200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// `nextCursor` of the previous page (takes precedence over `afterSeq` and `since`).
    pub cursor: Option<String>,
}

/// A session's messages in order (`seq` ascending), for its participants, also after it ended.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = []), ("apiKey" = [])),
    params(("id" = Uuid, Path, description = "Session id"), MessagesQuery),
    responses(
        (status = 200, description = "A page of messages", body = MessagesPageView),
        (status = 400, description = "Malformed session id, since, afterSeq, limit or cursor (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        (status = 404, description = "No such session, or you take no part in it (NOT_FOUND)", body = ErrorBody),
    )
)]
#[get("/api/sessions/{id}/messages")]
pub async fn list_messages(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<SessionId>,
    query: web::Query<MessagesQuery>,
) -> ApiResult<web::Json<MessagesPageView>> {
    let history_query = HistoryQuery {
        since: query.since.as_deref(),
        after_seq: query.after_seq.as_deref(),
        limit: query.limit.as_deref(),
        cursor: query.cursor.as_deref(),
    };
    let history = messages::history(&state, &principal, id.into_inner(), history_query).await?;
    Ok(web::Json(MessagesPageView {
        data: history.data,
        next_cursor: history.next_cursor,
    }))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(rent)
        .service(list)
        .service(get_session)
        .service(approve)
        .service(reject)
        .service(end)
        .service(send_message)
        .service(list_messages);
}
