//! The session sweeper, on every replica: expires pending sessions past SESSION_PENDING_TTL
//! (hold voided), ends active sessions idle for SESSION_IDLE_TIMEOUT and per-minute sessions
//! whose hold's minutes have run out (both settled). Each session is claimed with
//! `FOR UPDATE SKIP LOCKED` in its own transaction, so any number of replicas sweep in parallel
//! and every session ends exactly once. Time is the injected clock, so tests move it and call
//! [`sweep_once`].

use super::domain::{Action, Actor};
use super::repo::{self, Due};
use super::transitions::apply;
use crate::error::ApiResult;
use crate::state::AppState;

/// Sessions one pass ends at most (the next pass continues).
const PASS_LIMIT: usize = 1_000;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub expired: usize,
    pub idle: usize,
    pub capped: usize,
}

/// Ends one due session of this kind; false when none is left.
async fn sweep_one(state: &AppState, due: Due, action: Action) -> ApiResult<bool> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(&(tenant_id, id)) = repo::claim_due(&mut tx, due, now, 1).await?.first() else {
        return Ok(false);
    };
    let tenant = crate::tenancy::service::by_id(&mut tx, tenant_id).await?;
    let session = repo::find(&mut tx, tenant_id, id)
        .await?
        .ok_or_else(super::service::not_found)?;
    apply(&mut tx, state, &tenant, session, action, Actor::System, now).await?;
    tx.commit().await?;
    Ok(true)
}

async fn sweep_kind(state: &AppState, due: Due, action: Action) -> ApiResult<usize> {
    let mut done = 0;
    while done < PASS_LIMIT && sweep_one(state, due, action).await? {
        done += 1;
    }
    Ok(done)
}

/// One pass over the three kinds of due sessions.
#[tracing::instrument(name = "sessions.sweep", skip_all)]
pub async fn sweep_once(state: &AppState) -> ApiResult<Swept> {
    let now = state.clock.now();
    let settings = &state.settings.sessions;
    let idle = chrono::Duration::from_std(settings.idle_timeout).unwrap_or(chrono::Duration::MAX);
    let cap_minutes = i64::from(state.settings.billing.hold_limits.minute_cap);
    let swept = Swept {
        expired: sweep_kind(state, Due::Expired, Action::Expire).await?,
        idle: sweep_kind(state, Due::IdleSince(now - idle), Action::EndIdle).await?,
        capped: sweep_kind(
            state,
            Due::CapReachedSince(now - chrono::Duration::minutes(cap_minutes)),
            Action::EndAtCap,
        )
        .await?,
    };
    if swept != Swept::default() {
        state.outbox.wake();
        tracing::info!(?swept, "sessions ended by time");
    }
    Ok(swept)
}

/// Sweeps every SESSION_SWEEP_INTERVAL until shutdown.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.settings.sessions.sweep_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if state.is_shutting_down() {
                return;
            }
            if let Err(error) = sweep_once(&state).await {
                tracing::warn!(%error, "session sweep failed; retrying at the next tick");
            }
        }
    });
}
