//! The events a session produces, written to the outbox in the transaction of the change and
//! published after commit on Redis channels named by tenant and id:
//!
//! - `{prefix}:{tenant}:agent:{agentId}`: `session.new`, `session.approved` (what `/ws/agent`
//!   pushes to the provider's daemon);
//! - `{prefix}:{tenant}:session:{sessionId}`: `session.approved`, `system.session_ended` and every
//!   stored message (what `/ws/session` pushes to both participants).
//!
//! Payloads follow the frames of the wire contract: `sessionId` always, optional fields absent.

use super::message_repo::MessageRow;
use super::repo::SessionRow;
use super::views::MessageView;
use crate::error::ApiResult;
use crate::ids::{SessionId, TenantId};
use crate::kv::Redis;
use crate::outbox;
use crate::time_format;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

pub use crate::realtime::channels::{agent_channel, session_channel};

/// The context an event is written in.
pub struct Emitter<'a> {
    pub redis: &'a Redis,
    pub tenant: TenantId,
    pub now: DateTime<Utc>,
}

impl Emitter<'_> {
    /// `session.new` to the provider: a session was created (pending or already active).
    pub async fn session_new(
        &self,
        conn: &mut PgConnection,
        s: &SessionRow,
        token: &str,
    ) -> ApiResult<()> {
        let payload = json!({
            "sessionId": s.id,
            "sessionToken": token,
            "status": s.status,
            "taskDescription": s.task_description,
            "consumerUserId": s.consumer_id,
            "slotIndex": s.slot_index,
            "timestamp": time_format::format(&self.now),
        });
        let channel = agent_channel(self.redis, self.tenant, s.agent_id);
        outbox::enqueue(
            conn,
            self.tenant,
            &channel,
            "session.new",
            &payload,
            self.now,
        )
        .await
    }

    /// `session.approved` to the provider's daemon and to the session's participants.
    pub async fn session_approved(
        &self,
        conn: &mut PgConnection,
        s: &SessionRow,
        token: &str,
    ) -> ApiResult<()> {
        let payload = json!({
            "sessionId": s.id,
            "sessionToken": token,
            "status": s.status,
            "timestamp": time_format::format(&self.now),
        });
        for channel in [
            agent_channel(self.redis, self.tenant, s.agent_id),
            session_channel(self.redis, self.tenant, s.id),
        ] {
            outbox::enqueue(
                conn,
                self.tenant,
                &channel,
                "session.approved",
                &payload,
                self.now,
            )
            .await?;
        }
        Ok(())
    }

    /// `system.session_ended {reason}` to both participants (the live layer then closes their
    /// sockets with 4003).
    pub async fn session_ended(
        &self,
        conn: &mut PgConnection,
        s: &SessionRow,
        reason: &str,
    ) -> ApiResult<()> {
        let payload = json!({ "sessionId": s.id, "reason": reason, "status": s.status });
        let channel = session_channel(self.redis, self.tenant, s.id);
        outbox::enqueue(
            conn,
            self.tenant,
            &channel,
            "system.session_ended",
            &payload,
            self.now,
        )
        .await
    }

    /// A stored message, for live delivery to the peer.
    pub async fn message(
        &self,
        conn: &mut PgConnection,
        session: SessionId,
        m: &MessageRow,
    ) -> ApiResult<()> {
        let mut payload = serde_json::to_value(MessageView::from(m.clone()))
            .map_err(crate::error::ApiError::internal)?;
        payload["sessionId"] = json!(session);
        let channel = session_channel(self.redis, self.tenant, session);
        outbox::enqueue(conn, self.tenant, &channel, &m.kind, &payload, self.now).await
    }
}
