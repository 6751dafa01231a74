//! The transactional outbox: events (`session.new`, a stored message, ...) are written in the
//! same transaction as the change they announce, and published to Redis pub/sub after commit.
//!
//! - Never lost: the row commits with the change; if the replica dies before publishing, the
//!   relay of any replica publishes it on its next pass.
//! - Never sent for a rollback: a rolled-back transaction leaves no row.
//! - At least once, in id order per relay pass: a relay publishes, then deletes in the same
//!   transaction that locked the rows (`FOR UPDATE SKIP LOCKED`, so replicas share the work
//!   without publishing a row twice unless a crash falls between PUBLISH and COMMIT).
//!
//! The writer calls [`Outbox::wake`] after its commit so delivery is immediate; the relay also
//! runs every OUTBOX_POLL_INTERVAL to pick up what a crashed replica left.

pub mod repo;

use crate::error::ApiResult;
use crate::ids::TenantId;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgConnection;
use std::sync::Arc;
use tokio::sync::Notify;

/// Events per relay transaction.
const BATCH: i64 = 200;

/// The wake-up signal of this replica's relay.
#[derive(Clone, Default)]
pub struct Outbox {
    wake: Arc<Notify>,
}

impl Outbox {
    /// Tells the relay that committed events wait (call after the commit).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Writes an event in the caller's transaction.
pub async fn enqueue(
    conn: &mut PgConnection,
    tenant: TenantId,
    channel: &str,
    event: &str,
    payload: &Value,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    repo::insert(conn, tenant, channel, event, payload, now).await?;
    Ok(())
}

/// One relay pass: publishes up to a batch of events and deletes them. Returns how many.
#[tracing::instrument(name = "outbox.relay", skip_all)]
pub async fn relay_once(state: &AppState) -> ApiResult<usize> {
    let mut tx = state.db.begin().await?;
    let events = repo::claim(&mut tx, BATCH).await?;
    if events.is_empty() {
        return Ok(0);
    }
    let mut redis = state.redis.conn();
    let mut pipe = redis::pipe();
    for e in &events {
        let message = json!({ "event": e.event, "payload": e.payload });
        pipe.cmd("PUBLISH")
            .arg(&e.channel)
            .arg(message.to_string())
            .ignore();
    }
    pipe.query_async::<()>(&mut redis)
        .await
        .map_err(|e| crate::error::ApiError::unavailable("Redis", e))?;
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    repo::delete(&mut tx, &ids).await?;
    tx.commit().await?;
    Ok(events.len())
}

/// Publishes until the outbox is empty (a pass can leave more than a batch behind).
pub async fn drain(state: &AppState) -> ApiResult<usize> {
    let mut total = 0;
    loop {
        let published = relay_once(state).await?;
        total += published;
        if published < BATCH as usize {
            return Ok(total);
        }
    }
}

/// Runs the relay on this replica until shutdown: on every wake-up and every poll interval.
pub fn spawn_relay(state: AppState) {
    tokio::spawn(async move {
        let poll = state.settings.sessions.outbox_poll_interval;
        loop {
            let _ = tokio::time::timeout(poll, state.outbox.wake.notified()).await;
            if state.is_shutting_down() {
                return;
            }
            if let Err(error) = drain(&state).await {
                tracing::warn!(%error, "outbox relay pass failed; retrying at the next tick");
            }
        }
    });
}
