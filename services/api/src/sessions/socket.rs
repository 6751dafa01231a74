//! `/ws/session?sessionId=&token=<sessionToken>&role=provider|consumer&slotIndex=`: the
//! per-session message channel. Frames are stored exactly like REST messages (the same `seq` and
//! `createdAt` rules, through `sessions::messages::store`) and reach the other side from the
//! outbox through the hub, with `_meta.timestamp` = the stored `createdAt`. `dialogue.typing`
//! goes to the peer live only. `session.resume {afterSeq}` replays the stored messages after
//! that `seq`, in order, before live traffic continues.
//!
//! Close codes: 4000 bad parameters, 4001 bad role, 4002 token mismatch (or no such session),
//! 4003 session not active (also after `system.session_ended`), 4004 slot missing; 1003 binary
//! frame, 1008 more than 20 frames a second, 1009 frame over 64 KiB, 1012 shutting down, 1013
//! fell behind or a dependency is down (reconnect and resume), 4008 silent too long.

use super::domain::{Party, SessionStatus};
use super::message_repo;
use super::repo::{self, SessionRow};
use super::socket_traffic::Delivery;
use crate::ids::{SessionId, TenantId};
use crate::realtime::channels::session_channel;
use crate::realtime::close::{close, echo, protocol_close};
use crate::realtime::hub::Subscription;
use crate::realtime::presence;
use crate::realtime::pump::{FrameRate, Frames, pump};
use crate::state::AppState;
use crate::tenancy::resolve::CurrentTenant;
use crate::time_format;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseReason, Session};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub const MAX_FRAME: usize = 64 * 1024;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionQuery {
    pub session_id: Option<String>,
    pub token: Option<String>,
    pub role: Option<String>,
    pub slot_index: Option<String>,
    /// Replay the other side's messages after this seq before any live traffic.
    pub after_seq: Option<String>,
}

pub async fn session_socket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    query: web::Query<SessionQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    if state.is_shutting_down() {
        return Ok(HttpResponse::ServiceUnavailable().finish());
    }
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let mut frames = pump(stream.max_frame_size(MAX_FRAME).aggregate_continuations());
    let state = state.into_inner().as_ref().clone();
    let query = query.into_inner();
    let tenant_id = tenant.0.id;
    // The socket joins the session's channel before the upgrade is answered: a message stored
    // once the client sees its socket open reaches it live.
    let joined = match open(&state, tenant_id, &query).await {
        Ok(side) => match side.join().await {
            Ok(joined) => Ok((side, joined)),
            Err(error) => {
                tracing::warn!(%error, "session socket could not join its channel");
                Err(close(1013, "Try again later"))
            }
        },
        Err(reason) => Err(reason),
    };
    tokio::spawn(async move {
        match joined {
            Ok((side, (baseline, subscription))) => {
                side.serve(session, &mut frames, baseline, subscription)
                    .await;
            }
            Err(reason) => {
                let _ = session.close(reason).await;
            }
        }
    });
    Ok(response)
}

/// Checks the parameters and the session; the close to send when they do not fit.
async fn open(
    state: &AppState,
    tenant: TenantId,
    q: &SessionQuery,
) -> Result<Side, Option<CloseReason>> {
    let (Some(raw_id), Some(token)) = (q.session_id.as_deref(), q.token.as_deref()) else {
        return Err(close(4000, "sessionId and token are required"));
    };
    let Ok(id) = raw_id.parse::<SessionId>() else {
        return Err(close(4000, "sessionId is not a session id"));
    };
    let party = match q.role.as_deref() {
        Some("provider") => Party::Provider,
        Some("consumer") => Party::Consumer,
        _ => return Err(close(4001, "role must be provider or consumer")),
    };
    if !state.session_tokens.verify(tenant, id, token) {
        return Err(close(4002, "Token does not match the session"));
    }
    let mut conn = match state.db.acquire().await {
        Ok(conn) => conn,
        Err(_) => return Err(close(1013, "Try again later")),
    };
    let Ok(Some(session)) = repo::find(&mut conn, tenant, id).await else {
        return Err(close(4002, "Token does not match the session"));
    };
    if session.status != SessionStatus::Active {
        return Err(close(4003, "Session is not active"));
    }
    if party == Party::Consumer {
        let slot = q.slot_index.as_deref().unwrap_or("0").parse::<i32>().ok();
        if slot != Some(session.slot_index) {
            return Err(close(4004, "No such consumer slot in this session"));
        }
    }
    let resume_after = match q.after_seq.as_deref() {
        None => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(seq) if seq >= 0 => Some(seq),
            _ => return Err(close(4000, "afterSeq must be a whole number, 0 or more")),
        },
    };
    Ok(Side {
        resume_after,
        state: state.clone(),
        tenant,
        session,
        party,
        generation: uuid::Uuid::now_v7().to_string(),
    })
}

pub(super) struct Side {
    pub(super) state: AppState,
    pub(super) tenant: TenantId,
    pub(super) session: SessionRow,
    pub(super) party: Party,
    pub(super) generation: String,
    /// `afterSeq` of the connect URL: what to replay first.
    pub(super) resume_after: Option<i64>,
}

/// What to do after a frame or an event.
pub(super) enum Next {
    Continue,
    Close(Option<CloseReason>),
}

impl Side {
    pub(super) fn channel(&self) -> String {
        session_channel(&self.state.redis, self.tenant, self.session.id)
    }

    pub(super) fn slot(&self, party: Party) -> Option<i32> {
        (party == Party::Consumer).then_some(self.session.slot_index)
    }

    pub(super) async fn publish(&self, event: &str, payload: Value) -> redis::RedisResult<()> {
        let message = json!({ "event": event, "payload": payload });
        redis::cmd("PUBLISH")
            .arg(self.channel())
            .arg(message.to_string())
            .query_async::<i64>(&mut self.state.redis.conn())
            .await
            .map(|_| ())
    }

    fn peer_event(&self, kind: &str) -> Value {
        let mut payload = json!({
            "role": self.party.as_str(),
            "timestamp": time_format::format(&self.state.clock.now()),
        });
        if let Some(slot) = self.slot(self.party) {
            payload["slotIndex"] = json!(slot);
        }
        json!({ "sessionId": self.session.id, "kind": kind, "payload": payload })
    }

    /// Reads the session's last seq (what was stored before this socket), subscribes to the
    /// session's channel, marks this side present and tells the other side.
    async fn join(&self) -> anyhow::Result<(i64, Subscription)> {
        let baseline = {
            let mut conn = self.state.db.acquire().await?;
            message_repo::last_seq(&mut conn, self.tenant, self.session.id).await?
        };
        let subscription = self.state.hub.subscribe(&self.channel()).await?;
        presence::claim_session_side(
            &self.state.redis,
            self.tenant,
            self.session.id,
            self.party.as_str(),
            &self.generation,
        )
        .await?;
        self.publish("system.peer_connected", self.peer_event("connected"))
            .await?;
        Ok((baseline, subscription))
    }

    #[tracing::instrument(name = "ws.session", skip_all, fields(session.id = %self.session.id, role = self.party.as_str()))]
    async fn serve(
        self,
        mut session: Session,
        frames: &mut Frames,
        baseline: i64,
        mut subscription: Subscription,
    ) {
        let redis = &self.state.redis;
        let side = self.party.as_str();
        let mut delivery = Delivery::after(baseline);
        let replayed = match self.resume_after {
            Some(after) => self.resume(&mut session, after, &mut delivery).await,
            None => Next::Continue,
        };
        let reason = match replayed {
            Next::Continue => {
                self.run(&mut session, frames, &mut delivery, &mut subscription)
                    .await
            }
            Next::Close(reason) => reason,
        };
        drop(subscription);
        let released = presence::release_session_side(
            redis,
            self.tenant,
            self.session.id,
            side,
            &self.generation,
        );
        if let Err(error) = released.await {
            tracing::warn!(%error, "session presence not released; it expires with its TTL");
        }
        let _ = self
            .publish("system.peer_disconnected", self.peer_event("disconnected"))
            .await;
        let _ = session.close(reason).await;
    }

    async fn run(
        &self,
        session: &mut Session,
        frames: &mut Frames,
        sent: &mut Delivery,
        subscription: &mut Subscription,
    ) -> Option<CloseReason> {
        let idle = self.state.settings.realtime.idle_timeout;
        let mut last_seen = Instant::now();
        let mut rate = FrameRate::default();
        let mut tick = tokio::time::interval(Duration::from_secs(1).min(idle / 2));
        loop {
            let next = tokio::select! {
                frame = frames.recv() => {
                    last_seen = Instant::now();
                    if rate.flooding() {
                        return close(1008, "Too many frames; slow down");
                    }
                    match frame {
                        None => return None,
                        Some(Ok(AggregatedMessage::Close(reason))) => return echo(reason),
                        Some(Ok(AggregatedMessage::Text(text))) => {
                            self.on_frame(session, &text, sent).await
                        }
                        Some(Ok(AggregatedMessage::Ping(bytes))) => match session.pong(&bytes).await {
                            Ok(()) => Next::Continue,
                            Err(_) => return None,
                        },
                        Some(Ok(AggregatedMessage::Pong(_))) => Next::Continue,
                        Some(Ok(AggregatedMessage::Binary(_))) => {
                            return close(1003, "Binary frames are not accepted");
                        }
                        Some(Err(error)) => return protocol_close(&error),
                    }
                }
                event = subscription.messages.recv() => match event {
                    Some(event) => self.on_event(session, &event, sent).await,
                    None => return close(1013, "Try again later"),
                },
                _ = tick.tick() => {
                    if self.state.is_shutting_down() {
                        return close(1012, "Server restarting; reconnect");
                    }
                    if subscription.lagged() {
                        return close(1013, "Fell behind; reconnect and resume");
                    }
                    if last_seen.elapsed() > idle {
                        return close(4008, "No heartbeat; reconnect");
                    }
                    Next::Continue
                }
            };
            if let Next::Close(reason) = next {
                return reason;
            }
        }
    }
}
