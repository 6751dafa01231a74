//! Messages: sending (stored first, with a gap-free `seq` and a strictly increasing `createdAt`,
//! then announced through the outbox) and reading the history.

use super::domain::{
    MessageFamily, MessageType, Party, SessionStatus, parse_payload, reported_tokens,
};
use super::events::Emitter;
use super::message_repo::{self, After, MessageRow};
use super::repo::{self, SessionRow};
use super::service::{not_found, party_of};
use super::views::{MessageView, SentView};
use crate::agents::domain::PricingModel;
use crate::auth::principal::{Credential, Principal};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::{self, Outcome, Scope};
use crate::ids::{AgentId, MessageId, SessionId, TenantId, UserId};
use crate::state::AppState;
use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;

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
        let sender = Sender {
            party,
            user: principal.user_id,
            agent: match principal.credential {
                Credential::AgentToken { agent_id } => Some(agent_id),
                _ => None,
            },
        };
        let incoming = Incoming {
            kind: MessageType::parse(input.kind, party)?,
            payload: payload.clone(),
            client_id: client_id.clone(),
        };
        let (message, duplicate) =
            store(conn, state, tenant, &session, &sender, incoming, now).await?;
        let mut view = sent(&message, duplicate);
        view.delivered = !duplicate && peer_connected(state, tenant, id, party).await;
        Ok(view)
    })
    .await?;
    state.outbox.wake();
    Ok(outcome)
}

/// Who sends a message.
pub struct Sender {
    pub party: Party,
    pub user: UserId,
    /// The agent, when the provider sends with the agent's token or socket.
    pub agent: Option<AgentId>,
}

/// A message as received and checked, before it is stored.
pub struct Incoming {
    pub kind: MessageType,
    pub payload: Value,
    pub client_id: Option<String>,
}

/// Stores a message in a session the caller has locked, with the next `seq` and a `createdAt`
/// after the previous message's, meters a provider's reported tokens, and writes the event for
/// live delivery, all in the caller's transaction. A client id already stored in this session
/// answers that message instead (`true`: a duplicate). Shared by REST and `/ws/session`.
pub async fn store(
    conn: &mut PgConnection,
    state: &AppState,
    tenant: TenantId,
    session: &SessionRow,
    sender: &Sender,
    incoming: Incoming,
    now: DateTime<Utc>,
) -> ApiResult<(MessageRow, bool)> {
    let id = session.id;
    if let Some(client_id) = &incoming.client_id
        && let Some(stored) = message_repo::find_by_client_id(conn, tenant, id, client_id).await?
    {
        return Ok((stored, true));
    }
    if session.status != SessionStatus::Active {
        return Err(ApiError::conflict(format!(
            "Messages go to active sessions only; this one is {}",
            session.status.as_str()
        )));
    }
    let (seq, created_at) = message_repo::next_seq(conn, tenant, id, now).await?;
    let tokens = reported_tokens(&incoming.payload);
    let metered = incoming.kind.family == MessageFamily::Result
        && session.pricing_model == PricingModel::PerToken
        && tokens > 0;
    let message = MessageRow {
        id: MessageId::new_v7(),
        seq,
        kind: incoming.kind.text,
        payload: incoming.payload,
        sender_role: sender.party.as_str().to_owned(),
        sender_user_id: Some(sender.user),
        sender_agent_id: sender.agent,
        client_id: incoming.client_id,
        created_at,
    };
    message_repo::insert(conn, tenant, id, &message).await?;
    if metered {
        repo::add_tokens(conn, tenant, id, i64::try_from(tokens).unwrap_or(i64::MAX)).await?;
    }
    let emit = Emitter {
        redis: &state.redis,
        tenant,
        now,
    };
    emit.message(conn, id, &message).await?;
    Ok((message, false))
}

/// Whether the other side holds a `/ws/session` socket right now (anywhere in the cluster).
async fn peer_connected(state: &AppState, tenant: TenantId, session: SessionId, me: Party) -> bool {
    let peer = match me {
        Party::Consumer => Party::Provider,
        Party::Provider => Party::Consumer,
    };
    crate::realtime::presence::session_side_connected(&state.redis, tenant, session, peer.as_str())
        .await
        .unwrap_or(false)
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
