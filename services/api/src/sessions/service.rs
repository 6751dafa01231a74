//! Session use-cases: rent, read, list. Transitions (approve, reject, end, and the sweeper's
//! expiry and time-outs) are in `transitions.rs`.

use super::domain::{Party, SessionStatus, parse_permissions, parse_session_key, parse_task};
use super::events::Emitter;
use super::repo::{self, ListFilter, Owner, PageStart, SessionRow};
use super::views::SessionView;
use crate::agents::domain::ApprovalMode;
use crate::agents::rental;
use crate::auth::principal::{Credential, Principal};
use crate::billing::domain::PricingTerms;
use crate::billing::holds::{self, HoldRequest};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::pagination::PageRequest;
use crate::idempotency::{self, Outcome, Scope};
use crate::ids::{AgentId, SessionId, TenantId, UserId};
use crate::money::{Currency, Money};
use crate::state::AppState;
use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;

/// A rent request as received (validated by [`rent`]).
pub struct RentInput<'a> {
    pub agent_id: Option<&'a str>,
    pub task_description: Option<&'a str>,
    pub granted_permissions: Option<Value>,
    pub session_key: Option<&'a str>,
}

struct Rent {
    agent: AgentId,
    task: String,
    permissions: Value,
    key: Option<String>,
}

fn parse_rent(input: RentInput<'_>) -> ApiResult<Rent> {
    let agent = match input.agent_id {
        None => return Err(ApiError::field("agentId", "is required")),
        Some(raw) => raw
            .parse::<AgentId>()
            .map_err(|_| ApiError::field("agentId", "must be an agent id (a UUID)"))?,
    };
    Ok(Rent {
        agent,
        task: parse_task(input.task_description)?,
        permissions: parse_permissions(input.granted_permissions)?,
        key: parse_session_key(input.session_key)?,
    })
}

pub fn view(state: &AppState, tenant: TenantId, s: &SessionRow) -> SessionView {
    SessionView::new(s, state.session_tokens.token(tenant, s.id))
}

/// Rents an agent: the hold is placed and the session created in one transaction (`active` for
/// approval mode `auto`, `pending_approval` for `manual`). 201 with the session; 200 with the
/// open session when `sessionKey` names one.
#[tracing::instrument(name = "sessions.rent", skip_all)]
pub async fn rent(
    state: &AppState,
    principal: &Principal,
    input: RentInput<'_>,
    scope: Option<&Scope>,
) -> ApiResult<Outcome> {
    let rent = parse_rent(input)?;
    if let Some(replayed) = idempotency::replay(state, scope).await? {
        return Ok(replayed);
    }
    let tenant = principal.tenant_id();
    if let Some(key) = &rent.key {
        let mut conn = state.db.acquire().await?;
        let open =
            repo::find_open_by_key(&mut conn, tenant, principal.user_id, rent.agent, key).await?;
        if let Some(existing) = open {
            return Ok(Outcome {
                status: StatusCode::OK,
                body: serde_json::to_value(view(state, tenant, &existing))
                    .map_err(ApiError::internal)?,
                replayed: false,
            });
        }
    }
    let now = state.clock.now();
    let outcome = idempotency::run(state, scope, StatusCode::CREATED, async |conn| {
        let session = rent_in(conn, state, principal, &rent, now).await?;
        Ok(view(state, tenant, &session))
    })
    .await?;
    state.outbox.wake();
    Ok(outcome)
}

async fn rent_in(
    conn: &mut PgConnection,
    state: &AppState,
    principal: &Principal,
    rent: &Rent,
    now: DateTime<Utc>,
) -> ApiResult<SessionRow> {
    let tenant = &principal.tenant;
    let consumer = principal.user_id;
    let rentable =
        rental::lock_for_rent(conn, &state.redis, tenant.id, rent.agent, consumer).await?;
    if let Some(key) = &rent.key
        && let Some(existing) =
            repo::find_open_by_key(conn, tenant.id, consumer, rent.agent, key).await?
    {
        return Ok(existing);
    }
    let profile = &rentable.profile;
    let open = repo::open_slots(conn, tenant.id, rent.agent).await?;
    if open.len() >= usize::try_from(profile.max_concurrent_sessions).unwrap_or(0) {
        return Err(ApiError::conflict(format!(
            "This agent is at its limit of {} concurrent sessions (maxConcurrentSessions); try again later",
            profile.max_concurrent_sessions
        )));
    }
    let mine: Vec<i32> = open
        .iter()
        .filter(|(user, _)| *user == consumer)
        .map(|(_, slot)| *slot)
        .collect();
    let Some(slot) = (0..profile.max_consumer_slots).find(|slot| !mine.contains(slot)) else {
        return Err(ApiError::conflict(format!(
            "You already hold all {} of your slots on this agent (maxConsumerSlots); end a session first",
            profile.max_consumer_slots
        )));
    };
    let currency = Currency::parse(&profile.currency)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("profile currency is malformed")))?;
    let terms = PricingTerms {
        model: profile.pricing_model,
        unit_price: Money::new(profile.price_amount, currency.clone()),
    };
    let limits = state.settings.billing.hold_limits;
    let id = SessionId::new_v7();
    let request = HoldRequest {
        session_id: id,
        consumer_id: consumer,
        provider_id: rentable.agent.owner_id,
        terms: terms.clone(),
    };
    if let Err(err) = holds::place_hold(conn, tenant, &request, limits, now).await {
        if err.code != ErrorCode::InsufficientBalance {
            return Err(err);
        }
        let needed = terms.hold_amount(limits);
        let has = holds::balance(conn, tenant, consumer, &currency).await?;
        return Err(ApiError::new(
            ErrorCode::InsufficientBalance,
            format!(
                "Insufficient balance: renting this agent holds {needed} and your wallet has {has}; top up first"
            ),
        ));
    }
    let auto = profile.approval_mode == ApprovalMode::Auto;
    let pending_ttl = chrono::Duration::from_std(state.settings.sessions.pending_ttl)
        .map_err(ApiError::internal)?;
    let new = SessionRow {
        id,
        agent_id: rent.agent,
        consumer_id: consumer,
        provider_id: rentable.agent.owner_id,
        status: if auto {
            SessionStatus::Active
        } else {
            SessionStatus::PendingApproval
        },
        slot_index: slot,
        task_description: rent.task.clone(),
        granted_permissions: rent.permissions.clone(),
        session_key: rent.key.clone(),
        pricing_model: profile.pricing_model,
        price_amount: profile.price_amount,
        currency,
        fee_rate: tenant.fee_rate,
        hold_amount: terms.hold_amount(limits).amount,
        tokens_used: 0,
        last_activity_at: now,
        expires_at: (!auto).then(|| now + pending_ttl),
        end_reason: None,
        end_note: None,
        created_at: now,
        approved_at: auto.then_some(now),
        ended_at: None,
    };
    let session = repo::insert(conn, tenant.id, &new).await?;
    let token = state.session_tokens.token(tenant.id, session.id);
    let emit = Emitter {
        redis: &state.redis,
        tenant: tenant.id,
        now,
    };
    emit.session_new(conn, &session, &token).await?;
    Ok(session)
}

/// The caller's side of a session, or `None` (404) when the caller takes no part in it (another
/// user, another tenant, an admin who is not a participant). An agent token acts as its owner,
/// but on the provider side only for the sessions of its own agent.
pub fn party_of(principal: &Principal, s: &SessionRow) -> Option<Party> {
    if let Credential::AgentToken { agent_id } = principal.credential
        && agent_id != s.agent_id
    {
        return (principal.user_id == s.consumer_id).then_some(Party::Consumer);
    }
    if principal.user_id == s.provider_id {
        Some(Party::Provider)
    } else if principal.user_id == s.consumer_id {
        Some(Party::Consumer)
    } else {
        None
    }
}

pub fn not_found() -> ApiError {
    ApiError::not_found("Session")
}

/// The session, for its participants only.
pub async fn get(state: &AppState, principal: &Principal, id: SessionId) -> ApiResult<SessionView> {
    let mut conn = state.db.acquire().await?;
    let session = repo::find(&mut conn, principal.tenant_id(), id)
        .await?
        .filter(|s| party_of(principal, s).is_some())
        .ok_or_else(not_found)?;
    Ok(view(state, principal.tenant_id(), &session))
}

#[derive(Serialize, Deserialize)]
struct ListCursor {
    t: TenantId,
    u: UserId,
    r: String,
    s: Option<SessionStatus>,
    at: DateTime<Utc>,
    id: SessionId,
}

const CURSOR_PURPOSE: &str = "sessions";
/// `total` counts up to this many sessions.
pub const TOTAL_CAP: i64 = 10_000;

pub struct ListQuery<'a> {
    pub role: Option<&'a str>,
    pub status: Option<&'a str>,
    pub cursor: Option<&'a str>,
}

pub struct SessionsPage {
    pub rows: Vec<SessionRow>,
    pub total: i64,
    pub next_cursor: Option<String>,
}

/// The caller's sessions, newest first: as consumer (default) or provider (all their agents';
/// with an agent token, that agent's).
#[tracing::instrument(name = "sessions.list", skip_all)]
pub async fn list(
    state: &AppState,
    principal: &Principal,
    query: ListQuery<'_>,
    page: PageRequest,
) -> ApiResult<SessionsPage> {
    let role = match query.role {
        None => Party::Consumer,
        Some(raw) => Party::parse_role(raw)?,
    };
    let status = query.status.map(SessionStatus::parse).transpose()?;
    let owner = match (role, principal.credential) {
        (Party::Provider, Credential::AgentToken { agent_id }) => Owner::Agent(agent_id),
        (Party::Provider, _) => Owner::Provider(principal.user_id),
        (Party::Consumer, _) => Owner::Consumer(principal.user_id),
    };
    let tenant = principal.tenant_id();
    let start = match query.cursor {
        Some(raw) => {
            let invalid = || ApiError::field("cursor", "is not a nextCursor of this sessions list");
            let c: ListCursor = state
                .cursors
                .open(CURSOR_PURPOSE, raw, 512)
                .ok_or_else(invalid)?;
            if c.t != tenant || c.u != principal.user_id || c.r != role.as_str() || c.s != status {
                return Err(invalid());
            }
            PageStart::After(c.at, c.id)
        }
        None => PageStart::Offset(page.bounded_offset()?),
    };
    let filter = ListFilter { owner, status };
    let mut conn = state.db.acquire().await?;
    let mut rows = repo::list(&mut conn, tenant, filter, start, page.limit() + 1).await?;
    let total = repo::count(&mut conn, tenant, filter, TOTAL_CAP).await?;
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    let next_cursor = match rows.last() {
        Some(last) if more => Some(state.cursors.seal(
            CURSOR_PURPOSE,
            &ListCursor {
                t: tenant,
                u: principal.user_id,
                r: role.as_str().to_owned(),
                s: status,
                at: last.created_at,
                id: last.id,
            },
        )),
        _ => None,
    };
    Ok(SessionsPage {
        rows,
        total,
        next_cursor,
    })
}
