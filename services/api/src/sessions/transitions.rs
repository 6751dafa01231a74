//! Approve, reject and end (by a participant), and expiry and time-outs (by the sweeper): every
//! one locks the session, asks `domain::transition` what to do, moves the money through
//! `billing::holds`, stores the new status and writes the event, in one transaction.

use super::domain::{Action, Actor, Effect, Party, SessionStatus, transition};
use super::events::Emitter;
use super::repo::{self, SessionRow};
use super::service::{not_found, party_of, view};
use super::views::{EndedView, SessionView, SettlementSummary};
use crate::agents::rental;
use crate::auth::principal::Principal;
use crate::billing::domain::Usage;
use crate::billing::holds;
use crate::error::{ApiError, ApiResult};
use crate::idempotency::{self, Outcome, Scope};
use crate::ids::SessionId;
use crate::state::AppState;
use crate::tenancy::domain::Tenant;
use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;

/// A session after a transition, with what ending it moved (when it ended).
pub struct Applied {
    pub session: SessionRow,
    pub settlement: Option<SettlementSummary>,
}

fn nothing_charged(s: &SessionRow) -> SettlementSummary {
    SettlementSummary::new(
        Decimal::ZERO,
        Decimal::ZERO,
        Decimal::ZERO,
        s.hold_amount,
        s.currency.as_str(),
        0,
    )
}

async fn settlement_of(
    conn: &mut PgConnection,
    tenant: &Tenant,
    s: &SessionRow,
) -> ApiResult<SettlementSummary> {
    Ok(match holds::settlement(conn, tenant, s.id).await? {
        Some(r) => SettlementSummary::new(
            r.amount,
            r.platform_fee,
            r.provider_income,
            r.refund,
            r.currency.as_str(),
            r.units,
        ),
        None => nothing_charged(s),
    })
}

/// Applies `action` to a session the caller has locked.
pub async fn apply(
    conn: &mut PgConnection,
    state: &AppState,
    tenant: &Tenant,
    s: SessionRow,
    action: Action,
    by: Actor,
    now: DateTime<Utc>,
) -> ApiResult<Applied> {
    let emit = Emitter {
        redis: &state.redis,
        tenant: tenant.id,
        now,
    };
    let reason = action.end_reason();
    match transition(s.status, action, by)? {
        Effect::Unchanged => Ok(Applied {
            session: s,
            settlement: None,
        }),
        Effect::Activate => {
            let session = repo::activate(conn, tenant.id, s.id, now).await?;
            let token = state.session_tokens.token(tenant.id, s.id);
            emit.session_approved(conn, &session, &token).await?;
            Ok(Applied {
                session,
                settlement: None,
            })
        }
        Effect::Void(status) => {
            holds::void(conn, tenant, s.id, now).await?;
            let session = repo::finish(conn, tenant.id, s.id, status, reason, now).await?;
            rental::record_session(conn, tenant.id, s.agent_id, false).await?;
            emit.session_ended(conn, &session, reason).await?;
            Ok(Applied {
                settlement: Some(nothing_charged(&session)),
                session,
            })
        }
        Effect::Settle => {
            let started = s.approved_at.unwrap_or(s.created_at);
            let usage = Usage {
                active: (now - started).to_std().unwrap_or_default(),
                tokens: u64::try_from(s.tokens_used).unwrap_or(0),
            };
            holds::settle(conn, tenant, s.id, usage, now).await?;
            let session =
                repo::finish(conn, tenant.id, s.id, SessionStatus::Settled, reason, now).await?;
            rental::record_session(conn, tenant.id, s.agent_id, true).await?;
            emit.session_ended(conn, &session, reason).await?;
            let settlement = settlement_of(conn, tenant, &session).await?;
            Ok(Applied {
                session,
                settlement: Some(settlement),
            })
        }
        Effect::Replay => {
            let settlement = settlement_of(conn, tenant, &s).await?;
            Ok(Applied {
                session: s,
                settlement: Some(settlement),
            })
        }
    }
}

/// Locks the session for a participant's action; 404 for anyone else.
async fn lock_as_party(
    conn: &mut PgConnection,
    principal: &Principal,
    id: SessionId,
) -> ApiResult<(SessionRow, Party)> {
    let session = repo::lock(conn, principal.tenant_id(), id)
        .await?
        .ok_or_else(not_found)?;
    let party = party_of(principal, &session).ok_or_else(not_found)?;
    Ok((session, party))
}

/// A participant's action in its own transaction: lock, transition, the optional note, commit.
async fn act(
    state: &AppState,
    principal: &Principal,
    id: SessionId,
    action: Action,
    note: Option<&str>,
) -> ApiResult<SessionView> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let (session, party) = lock_as_party(&mut tx, principal, id).await?;
    let tenant = &principal.tenant;
    let applied = apply(
        &mut tx,
        state,
        tenant,
        session,
        action,
        Actor::Party(party),
        now,
    )
    .await?;
    let session = match note {
        Some(note) => repo::set_end_note(&mut tx, tenant.id, id, note).await?,
        None => applied.session,
    };
    tx.commit().await?;
    state.outbox.wake();
    Ok(view(state, tenant.id, &session))
}

/// Approve (provider): `pending_approval → active`; an active session answers as it is.
#[tracing::instrument(name = "sessions.approve", skip_all, fields(session.id = %id))]
pub async fn approve(
    state: &AppState,
    principal: &Principal,
    id: SessionId,
) -> ApiResult<SessionView> {
    act(state, principal, id, Action::Approve, None).await
}

/// Reject (provider): the hold is voided and the session `aborted`, with the provider's reason.
#[tracing::instrument(name = "sessions.reject", skip_all, fields(session.id = %id))]
pub async fn reject(
    state: &AppState,
    principal: &Principal,
    id: SessionId,
    reason: Option<&str>,
) -> ApiResult<SessionView> {
    let note = match reason.map(str::trim) {
        None | Some("") => None,
        Some(text) if text.chars().count() <= 500 && !text.chars().any(char::is_control) => {
            Some(text)
        }
        Some(_) => {
            return Err(ApiError::field(
                "reason",
                "must be at most 500 characters without control characters",
            ));
        }
    };
    act(state, principal, id, Action::Reject, note).await
}

/// End (either participant): settle an active session, void a pending one; ending again
/// answers the first result.
#[tracing::instrument(name = "sessions.end", skip_all, fields(session.id = %id))]
pub async fn end(
    state: &AppState,
    principal: &Principal,
    id: SessionId,
    scope: Option<&Scope>,
) -> ApiResult<Outcome> {
    if let Some(replayed) = idempotency::replay(state, scope).await? {
        return Ok(replayed);
    }
    let now = state.clock.now();
    let outcome = idempotency::run(state, scope, StatusCode::OK, async |conn| {
        let (session, party) = lock_as_party(conn, principal, id).await?;
        let applied = apply(
            conn,
            state,
            &principal.tenant,
            session,
            Action::End,
            Actor::Party(party),
            now,
        )
        .await?;
        let settlement = applied.settlement.ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("an ended session without result"))
        })?;
        Ok(EndedView {
            session: view(state, principal.tenant_id(), &applied.session),
            settlement,
        })
    })
    .await?;
    state.outbox.wake();
    Ok(outcome)
}
