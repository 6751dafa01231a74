//! `/ws/agent?token=<agent token>`: the provider daemon's control socket. On connect the agent's
//! presence is claimed (a fresh generation), any older socket of the same agent, on any
//! replica, is told to close with 4009, and `agent.connected {agentId}` is sent. Heartbeats
//! refresh the presence and are answered with `system.heartbeat_ack`; `session.new` and
//! `session.approved` for the agent arrive from the outbox through the hub.
//!
//! Close codes: 4000 missing token, 4001 invalid or revoked token (terminal for the SDK),
//! 4009 replaced by a newer connection, 4008 silent past REALTIME_IDLE_TIMEOUT, 1003 binary
//! frame, 1007 a text frame that is not UTF-8, 1008 more than 20 frames a second, 1009 frame over
//! the limit, 1012 the replica is shutting down and 1013 the socket fell
//! behind its queue or a dependency is down (both: reconnect), 1011 unexpected error.

use crate::auth::principal::{Credential, agent_token_principal};
use crate::error::ErrorCode;
use crate::ids::{AgentId, TenantId};
use crate::realtime::channels::agent_channel;
use crate::realtime::close::{close, echo, protocol_close};
use crate::realtime::hub::Subscription;
use crate::realtime::presence;
use crate::realtime::pump::{FrameRate, Frames, pump};
use crate::state::AppState;
use crate::tenancy::resolve::CurrentTenant;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseReason, Session};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The largest frame a daemon may send (heartbeats and status updates are tiny).
pub const MAX_FRAME: usize = 64 * 1024;

#[derive(Deserialize)]
pub struct AgentQuery {
    pub token: Option<String>,
}

/// What arrives on the agent's channel.
#[derive(Deserialize)]
struct Event {
    event: String,
    #[serde(default)]
    payload: Value,
}

pub async fn agent_socket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    query: web::Query<AgentQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    if state.is_shutting_down() {
        return Ok(HttpResponse::ServiceUnavailable().finish());
    }
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let mut frames = pump(stream.max_frame_size(MAX_FRAME).aggregate_continuations());
    let state = state.into_inner();
    let token = query.into_inner().token.filter(|t| !t.is_empty());
    tokio::spawn(async move {
        let Some(token) = token else {
            let _ = session.close(close(4000, "Missing token")).await;
            return;
        };
        let principal = match agent_token_principal(&state, tenant.0, &token).await {
            Ok(principal) => principal,
            Err(e) if e.code == ErrorCode::InvalidToken => {
                let _ = session.close(close(4001, "Invalid agent token")).await;
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "agent socket could not authenticate");
                let _ = session.close(close(1013, "Try again later")).await;
                return;
            }
        };
        let Credential::AgentToken { agent_id } = principal.credential else {
            let _ = session.close(close(4001, "Invalid agent token")).await;
            return;
        };
        let agent = Agent {
            state: state.as_ref().clone(),
            tenant: principal.tenant_id(),
            id: agent_id,
            generation: uuid::Uuid::now_v7().to_string(),
            token_hash: hex::encode(crate::auth::tokens::sha256(&token)),
        };
        agent.serve(session, &mut frames).await;
    });
    Ok(response)
}

struct Agent {
    state: AppState,
    tenant: TenantId,
    id: AgentId,
    generation: String,
    /// The hash of the token this socket opened with (a revocation names the token it ends).
    token_hash: String,
}

impl Agent {
    /// Subscribes, claims presence, replaces older sockets, welcomes, then serves until closed.
    #[tracing::instrument(name = "ws.agent", skip_all, fields(agent.id = %self.id))]
    async fn serve(&self, mut session: Session, frames: &mut Frames) {
        let redis = &self.state.redis;
        let channel = agent_channel(redis, self.tenant, self.id);
        let ready = async {
            let subscription = self.state.hub.subscribe(&channel).await?;
            presence::claim(redis, self.tenant, self.id, &self.generation).await?;
            let replaced =
                json!({ "event": "agent.replaced", "payload": { "generation": self.generation } });
            redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(replaced.to_string())
                .query_async::<i64>(&mut redis.conn())
                .await?;
            redis::RedisResult::Ok(subscription)
        };
        let mut subscription = match ready.await {
            Ok(subscription) => subscription,
            Err(error) => {
                tracing::warn!(%error, "agent socket could not register its presence");
                let _ = session.close(close(1013, "Try again later")).await;
                return;
            }
        };
        self.show_listing(true).await;
        let welcome = json!({ "type": "agent.connected", "payload": { "agentId": self.id } });
        let reason = match session.text(welcome.to_string()).await {
            Ok(()) => self.run(&mut session, frames, &mut subscription).await,
            Err(_) => None,
        };
        drop(subscription);
        match presence::release(redis, self.tenant, self.id, &self.generation).await {
            Ok(true) => self.show_listing(false).await,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, "agent presence not released; it expires with its TTL");
            }
        }
        // After the presence is released, so a client that waits for this close knows the
        // agent is offline (a client's own close is answered here too).
        let _ = session.close(reason).await;
    }

    /// The marketplace shows the agent online (as opted in) while it holds a socket. A failure
    /// is left to the presence reconciler.
    async fn show_listing(&self, connected: bool) {
        let shown = async {
            let mut conn = self.state.db.acquire().await?;
            crate::marketplace::listing::set_presence(&mut conn, self.tenant, self.id, connected)
                .await
        };
        if let Err(error) = shown.await {
            tracing::warn!(%error, "listing presence not updated; the reconciler will");
        }
    }

    /// The socket's loop; returns the close to send (`None` when the client closed first).
    async fn run(
        &self,
        session: &mut Session,
        frames: &mut Frames,
        subscription: &mut Subscription,
    ) -> Option<CloseReason> {
        let idle = self.state.settings.realtime.idle_timeout;
        let mut last_seen = Instant::now();
        let mut rate = FrameRate::default();
        let mut tick = tokio::time::interval(Duration::from_secs(1).min(idle / 2));
        loop {
            tokio::select! {
                frame = frames.recv() => {
                    last_seen = Instant::now();
                    if rate.flooding() {
                        return close(1008, "Too many frames; slow down");
                    }
                    match frame {
                        None => return None,
                        Some(Ok(AggregatedMessage::Close(reason))) => return echo(reason),
                        Some(Ok(AggregatedMessage::Text(text))) => {
                            if let Some(close) = self.on_text(session, &text).await {
                                return close;
                            }
                        }
                        Some(Ok(AggregatedMessage::Ping(bytes))) => {
                            if session.pong(&bytes).await.is_err() {
                                return None;
                            }
                        }
                        Some(Ok(AggregatedMessage::Pong(_))) => {}
                        Some(Ok(AggregatedMessage::Binary(_))) => {
                            return close(1003, "Binary frames are not accepted");
                        }
                        Some(Err(error)) => return protocol_close(&error),
                    }
                }
                event = subscription.messages.recv() => {
                    let Some(event) = event else { return close(1013, "Try again later") };
                    if let Some(close) = self.on_event(session, &event).await {
                        return close;
                    }
                }
                _ = tick.tick() => {
                    if self.state.is_shutting_down() {
                        return close(1012, "Server restarting; reconnect");
                    }
                    if subscription.lagged() {
                        return close(1013, "Fell behind; reconnect");
                    }
                    if last_seen.elapsed() > idle {
                        return close(4008, "No heartbeat; reconnect");
                    }
                }
            }
        }
    }

    /// A frame from the daemon; `Some` closes the socket (with `None` inside: already closed).
    async fn on_text(&self, session: &mut Session, text: &str) -> Option<Option<CloseReason>> {
        let frame: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        if frame["type"] != "system.heartbeat" {
            return None;
        }
        match presence::refresh(&self.state.redis, self.tenant, self.id, &self.generation).await {
            Ok(presence::Refreshed::Extended) => {}
            Ok(presence::Refreshed::Recreated) => self.show_listing(true).await,
            Ok(presence::Refreshed::Replaced) => {
                return Some(close(4009, "Replaced by new connection"));
            }
            Err(error) => tracing::warn!(%error, "presence refresh failed"),
        }
        match session
            .text(json!({ "type": "system.heartbeat_ack" }).to_string())
            .await
        {
            Ok(()) => None,
            Err(_) => Some(None),
        }
    }

    /// An event on the agent's channel.
    async fn on_event(&self, session: &mut Session, raw: &str) -> Option<Option<CloseReason>> {
        let Ok(event) = serde_json::from_str::<Event>(raw) else {
            return None;
        };
        match event.event.as_str() {
            "agent.replaced" if event.payload["generation"] != self.generation.as_str() => {
                Some(close(4009, "Replaced by new connection"))
            }
            "agent.replaced" => None,
            "agent.revoked" if event.payload["tokenHash"] == self.token_hash.as_str() => {
                Some(close(4001, "Agent token revoked"))
            }
            "agent.revoked" => None,
            // The hub reconnected to Redis: nothing to replay on this socket (the daemon lists
            // its sessions when it reconnects; `session.new` is also in the session list).
            "hub.resync" => None,
            _ => {
                let frame = json!({ "type": event.event, "payload": event.payload });
                match session.text(frame.to_string()).await {
                    Ok(()) => None,
                    Err(_) => Some(None),
                }
            }
        }
    }
}
