//! Listings follow presence. A socket that opens or closes updates its agent's listing at once;
//! a replica that dies cannot, so every replica also checks, every REALTIME_RECONCILE_INTERVAL,
//! the listings shown online against the presence keys (one pipelined EXISTS per page) and shows
//! offline those whose presence expired. Idempotent, so any number of replicas may run it.

use crate::error::{ApiError, ApiResult};
use crate::ids::{AgentId, TenantId};
use crate::marketplace::listing;
use crate::realtime::presence;
use crate::state::AppState;

const PAGE: i64 = 500;

/// One pass; returns how many listings were shown offline.
#[tracing::instrument(name = "realtime.reconcile", skip_all)]
pub async fn reconcile_once(state: &AppState) -> ApiResult<usize> {
    let mut after: Option<(TenantId, AgentId)> = None;
    let mut offline = 0;
    loop {
        let page = {
            let mut conn = state.db.acquire().await?;
            listing::shown_online(&mut conn, after, PAGE).await?
        };
        let Some(&last) = page.last() else {
            return Ok(offline);
        };
        let mut pipe = redis::pipe();
        for &(tenant, agent) in &page {
            pipe.cmd("EXISTS")
                .arg(presence::agent_key(&state.redis, tenant, agent));
        }
        let present: Vec<bool> = pipe
            .query_async(&mut state.redis.conn())
            .await
            .map_err(|e| ApiError::unavailable("Redis", e))?;
        let gone: Vec<_> = page
            .iter()
            .zip(present)
            .filter(|(_, present)| !present)
            .map(|(listing, _)| *listing)
            .collect();
        if !gone.is_empty() {
            let mut tx = state.db.begin().await?;
            for &(tenant, agent) in &gone {
                listing::set_presence(&mut tx, tenant, agent, false).await?;
            }
            tx.commit().await?;
            offline += gone.len();
        }
        if (page.len() as i64) < PAGE {
            return Ok(offline);
        }
        after = Some(last);
    }
}

/// Reconciles every REALTIME_RECONCILE_INTERVAL until shutdown.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.settings.realtime.reconcile_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if state.is_shutting_down() {
                return;
            }
            match reconcile_once(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(listings = n, "listings shown offline: presence expired"),
                Err(error) => tracing::warn!(%error, "presence reconcile failed; retrying"),
            }
        }
    });
}
