//! Messages: sending (stored first, with a gap-free `seq` and a strictly increasing `createdAt`,
//! then announced through the outbox) and reading the history.

use super::domain::{MessageFamily, MessageType, SessionStatus, parse_payload, reported_tokens};
use super::events::Emitter;
use super::message_repo::{self, After, MessageRow};
use super::repo;
use super::service::{not_found, party_of};
use super::views::{MessageView, SentView};
use crate::agents::domain::PricingModel;
use crate::auth::principal::{Credential, Principal};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::{self, Outcome, Scope};
use crate::ids::{MessageId, SessionId, TenantId};
use crate::state::AppState;
use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub struct SendInput<'a> {
    pub kind: Option<&'a str>,
    pub payload: Option<Value>,
    /// The client's own id for the message: a retry with the same id is not stored twice.
    pub client_id: Option<&'a str>,
}

fn parse_client_id(raw: Option<&str>) -> ApiResult<Option<String>> {
    match raw {
        None => Ok(None),
        Some(id) if (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(id.to_owned()))
        }
        Some(_) => Err(ApiError::field(
            "id",
            "must be 1-128 visible ASCII characters (a UUID is a good message id)",
        )),
    }
}

fn sent(m: &MessageRow, duplicate: bool) -> SentView {
    SentView {
        message_id: m.id,
        seq: m.seq,
        created_at: m.created_at,
        delivered: false,
        gateway_result: None,
        duplicate,
    }
}

/// Stores a message from a participant of an active session.
#[tracing::instrument(name = "sessions.send", skip_all, fields(session.id = %id))]
pub async fn send(
    state: &AppState,
    principal: &Principal,
    id: SessionId,
    input: SendInput<'_>,
    scope: Option<&Scope>,
) -> ApiResult<Outcome> {
    let client_id = parse_client_id(input.client_id)?;
    let payload = parse_payload(input.payload)?;
    if let Some(replayed) = idempotency::replay(state, scope).await? {
        return Ok(replayed);
    }
    let tenant = principal.tenant_id();
    let now = state.clock.now();
    let outcome = idempotency::run(state, scope, StatusCode::OK, async |conn| {
        let session = repo::lock(conn, tenant, id).await?.ok_or_else(not_found)?;
        let party = party_of(principal, &session).ok_or_else(not_found)?;
        let kind = MessageType::parse(input.kind, party)?;
        if let Some(client_id) = &client_id
            && let Some(stored) =
                message_repo::find_by_client_id(conn, tenant, id, client_id).await?
        {
            return Ok(sent(&stored, true));
        }
        if session.status != SessionStatus::Active {
            return Err(ApiError::conflict(format!(
                "Messages go to active sessions only; this one is {}",
                session.status.as_str()
            )));
        }
        let (seq, created_at) = message_repo::next_seq(conn, tenant, id, now).await?;
        let message = MessageRow {
            id: MessageId::new_v7(),
            seq,
            kind: kind.text,
            payload: payload.clone(),
            sender_role: party.as_str().to_owned(),
            sender_user_id: Some(principal.user_id),
            sender_agent_id: match principal.credential {
                Credential::AgentToken { agent_id } => Some(agent_id),
                _ => None,
            },
            client_id: client_id.clone(),
            created_at,
        };
        message_repo::insert(conn, tenant, id, &message).await?;
        let tokens = reported_tokens(&payload);
        if kind.family == MessageFamily::Result
            && session.pricing_model == PricingModel::PerToken
            && tokens > 0
        {
            repo::add_tokens(conn, tenant, id, i64::try_from(tokens).unwrap_or(i64::MAX)).await?;
        }
        let emit = Emitter {
            redis: &state.redis,
            tenant,
            now,
        };
        emit.message(conn, id, &message).await?;
        Ok(sent(&message, false))
    })
    .await?;
    state.outbox.wake();
    Ok(outcome)
}

pub const DEFAULT_HISTORY_LIMIT: i64 = 50;
pub const MAX_HISTORY_LIMIT: i64 = 200;

pub struct HistoryQuery<'a> {
    pub since: Option<&'a str>,
    pub after_seq: Option<&'a str>,
    pub limit: Option<&'a str>,
    pub cursor: Option<&'a str>,
}

#[derive(Serialize, Deserialize)]
struct HistoryCursor {
    t: TenantId,
    s: SessionId,
    q: i64,
}

const CURSOR_PURPOSE: &str = "messages";

pub struct History {
    pub data: Vec<MessageView>,
    pub next_cursor: Option<String>,
}

fn parse_since(raw: &str) -> ApiResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::field(
                "since",
                "must be an ISO-8601 time such as 2026-07-13T00:00:00.000Z",
            )
        })
}

fn parse_limit(raw: Option<&str>) -> ApiResult<i64> {
    match raw {
        None => Ok(DEFAULT_HISTORY_LIMIT),
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_HISTORY_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::field(
                    "limit",
                    format!("must be between 1 and {MAX_HISTORY_LIMIT}"),
                )
            }),
    }
}

/// The session's messages in `seq` order, for its participants (also after it ended). A
/// `cursor` continues a page; otherwise `afterSeq` or `since` (exclusive) say where to start.
#[tracing::instrument(name = "sessions.history", skip_all, fields(session.id = %id))]
pub async fn history(
    state: &AppState,
    principal: &Principal,
    id: SessionId,
    query: HistoryQuery<'_>,
) -> ApiResult<History> {
    let tenant = principal.tenant_id();
    let limit = parse_limit(query.limit)?;
    let after = match (query.cursor, query.after_seq, query.since) {
        (Some(raw), _, _) => {
            let invalid =
                || ApiError::field("cursor", "is not a nextCursor of this session's messages");
            let c: HistoryCursor = state
                .cursors
                .open(CURSOR_PURPOSE, raw, 256)
                .ok_or_else(invalid)?;
            if c.t != tenant || c.s != id || c.q < 0 {
                return Err(invalid());
            }
            After::Seq(c.q)
        }
        (None, Some(raw), _) => After::Seq(
            raw.trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| ApiError::field("afterSeq", "must be a whole number, 0 or more"))?,
        ),
        (None, None, Some(raw)) => After::Time(parse_since(raw)?),
        (None, None, None) => After::Seq(0),
    };
    let mut conn = state.db.acquire().await?;
    let session = repo::find(&mut conn, tenant, id)
        .await?
        .ok_or_else(not_found)?;
    party_of(principal, &session).ok_or_else(not_found)?;
    let mut rows = message_repo::page(&mut conn, tenant, id, after, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = match rows.last() {
        Some(last) if more => Some(state.cursors.seal(
            CURSOR_PURPOSE,
            &HistoryCursor {
                t: tenant,
                s: id,
                q: last.seq,
            },
        )),
        _ => None,
    };
    Ok(History {
        data: rows.into_iter().map(MessageView::from).collect(),
        next_cursor,
    })
}
