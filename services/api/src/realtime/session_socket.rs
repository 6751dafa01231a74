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

use super::agent_socket::{close, echo, protocol_close};
use super::channels::session_channel;
use super::hub::Subscription;
use super::presence;
use crate::error::ApiError;
use crate::ids::{SessionId, TenantId};
use crate::sessions::domain::{MessageType, Party, SessionStatus, parse_payload};
use crate::sessions::message_repo::{self, After};
use crate::sessions::messages::{Incoming, Sender, store};
use crate::sessions::repo::{self, SessionRow};
use crate::sessions::views::MessageView;
use crate::state::AppState;
use crate::tenancy::resolve::CurrentTenant;
use crate::time_format;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseReason, Session};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, Instant};

pub const MAX_FRAME: usize = 64 * 1024;
/// Frames a socket may send per second before it is closed with 1008.
pub const MAX_FRAMES_PER_SECOND: u32 = 20;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionQuery {
    pub session_id: Option<String>,
    pub token: Option<String>,
    pub role: Option<String>,
    pub slot_index: Option<String>,
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
    let stream = stream.max_frame_size(MAX_FRAME).aggregate_continuations();
    let state = state.into_inner().as_ref().clone();
    let query = query.into_inner();
    let tenant_id = tenant.0.id;
    actix_web::rt::spawn(async move {
        let side = match open(&state, tenant_id, &query).await {
            Ok(side) => side,
            Err(reason) => {
                let _ = session.close(reason).await;
                return;
            }
        };
        side.serve(session, stream).await;
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
    Ok(Side {
        state: state.clone(),
        tenant,
        session,
        party,
        generation: uuid::Uuid::now_v7().to_string(),
    })
}

struct Side {
    state: AppState,
    tenant: TenantId,
    session: SessionRow,
    party: Party,
    generation: String,
}

/// What to do after a frame or an event.
enum Next {
    Continue,
    Close(Option<CloseReason>),
}

impl Side {
    fn channel(&self) -> String {
        session_channel(&self.state.redis, self.tenant, self.session.id)
    }

    fn slot(&self, party: Party) -> Option<i32> {
        (party == Party::Consumer).then_some(self.session.slot_index)
    }

    async fn publish(&self, event: &str, payload: Value) -> redis::RedisResult<()> {
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

    #[tracing::instrument(name = "ws.session", skip_all, fields(session.id = %self.session.id, role = self.party.as_str()))]
    async fn serve(self, mut session: Session, mut stream: actix_ws::AggregatedMessageStream) {
        let redis = &self.state.redis;
        let side = self.party.as_str();
        let ready = async {
            let subscription = self.state.hub.subscribe(&self.channel()).await?;
            presence::claim_session_side(
                redis,
                self.tenant,
                self.session.id,
                side,
                &self.generation,
            )
            .await?;
            self.publish("system.peer_connected", self.peer_event("connected"))
                .await?;
            redis::RedisResult::Ok(subscription)
        };
        let mut subscription = match ready.await {
            Ok(subscription) => subscription,
            Err(error) => {
                tracing::warn!(%error, "session socket could not join its channel");
                let _ = session.close(close(1013, "Try again later")).await;
                return;
            }
        };
        let reason = self.run(&mut session, &mut stream, &mut subscription).await;
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
        stream: &mut actix_ws::AggregatedMessageStream,
        subscription: &mut Subscription,
    ) -> Option<CloseReason> {
        let idle = self.state.settings.realtime.idle_timeout;
        let mut last_seen = Instant::now();
        let mut window = (Instant::now(), 0u32);
        let mut sent = HashSet::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1).min(idle / 2));
        loop {
            let next = tokio::select! {
                frame = stream.recv() => {
                    last_seen = Instant::now();
                    if window.0.elapsed() >= Duration::from_secs(1) {
                        window = (Instant::now(), 0);
                    }
                    window.1 += 1;
                    if window.1 > MAX_FRAMES_PER_SECOND {
                        return close(1008, "Too many frames; slow down");
                    }
                    match frame {
                        None => return None,
                        Some(Ok(AggregatedMessage::Close(reason))) => return echo(reason),
                        Some(Ok(AggregatedMessage::Text(text))) => {
                            self.on_frame(session, &text, &mut sent).await
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
                    Some(event) => self.on_event(session, &event, &mut sent).await,
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

    async fn send(&self, session: &mut Session, frame: Value) -> Next {
        match session.text(frame.to_string()).await {
            Ok(()) => Next::Continue,
            Err(_) => Next::Close(None),
        }
    }

    async fn error_frame(&self, session: &mut Session, message: &str) -> Next {
        let frame = json!({
            "type": "system.error",
            "sessionId": self.session.id,
            "payload": { "message": message },
        });
        self.send(session, frame).await
    }

    /// A frame from this side's client.
    async fn on_frame(&self, session: &mut Session, text: &str, sent: &mut HashSet<i64>) -> Next {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            return self.error_frame(session, "frames are JSON objects").await;
        };
        let kind = frame["type"].as_str().unwrap_or_default().to_owned();
        match kind.as_str() {
            "system.heartbeat" => {
                let side = self.party.as_str();
                let _ = presence::claim_session_side(
                    &self.state.redis,
                    self.tenant,
                    self.session.id,
                    side,
                    &self.generation,
                )
                .await;
                self.send(session, json!({ "type": "system.heartbeat_ack" }))
                    .await
            }
            "dialogue.typing" => {
                let payload = json!({
                    "sessionId": self.session.id,
                    "role": self.party.as_str(),
                    "slotIndex": self.slot(self.party),
                    "payload": frame.get("payload").cloned().unwrap_or(json!({})),
                });
                let _ = self.publish("dialogue.typing", payload).await;
                Next::Continue
            }
            "session.resume" => {
                let after = frame["payload"]["afterSeq"].as_i64().unwrap_or(0).max(0);
                self.resume(session, after, sent).await
            }
            _ => self.store_frame(session, &kind, frame).await,
        }
    }

    async fn store_frame(&self, session: &mut Session, kind: &str, frame: Value) -> Next {
        let parsed = MessageType::parse(Some(kind), self.party)
            .and_then(|kind| Ok((kind, parse_payload(frame.get("payload").cloned())?)));
        let (kind, payload) = match parsed {
            Ok(parsed) => parsed,
            Err(error) => return self.error_frame(session, &error.to_string()).await,
        };
        let client_id = frame["id"]
            .as_str()
            .filter(|id| (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_owned);
        let sender = Sender {
            party: self.party,
            user: match self.party {
                Party::Consumer => self.session.consumer_id,
                Party::Provider => self.session.provider_id,
            },
            agent: (self.party == Party::Provider).then_some(self.session.agent_id),
        };
        let incoming = Incoming {
            kind,
            payload,
            client_id,
        };
        let now = self.state.clock.now();
        let stored: Result<_, ApiError> = async {
            let mut tx = self.state.db.begin().await?;
            let locked = repo::lock(&mut tx, self.tenant, self.session.id)
                .await?
                .ok_or_else(|| ApiError::not_found("Session"))?;
            let result = store(
                &mut tx,
                &self.state,
                self.tenant,
                &locked,
                &sender,
                incoming,
                now,
            )
            .await?;
            tx.commit().await?;
            Ok(result)
        }
        .await;
        match stored {
            Ok(_) => {
                self.state.outbox.wake();
                Next::Continue
            }
            Err(error) if error.code.status().is_client_error() => {
                self.error_frame(session, &error.to_string()).await
            }
            Err(error) => {
                tracing::warn!(%error, "a session frame could not be stored");
                Next::Close(close(1013, "Try again later"))
            }
        }
    }

    /// The stored messages after `after`, in order, then live traffic (already-sent ones skipped).
    async fn resume(&self, session: &mut Session, after: i64, sent: &mut HashSet<i64>) -> Next {
        let mut from = after;
        loop {
            let page = match self.state.db.acquire().await {
                Ok(mut conn) => {
                    message_repo::page(
                        &mut conn,
                        self.tenant,
                        self.session.id,
                        After::Seq(from),
                        200,
                    )
                    .await
                }
                Err(error) => Err(error),
            };
            let Ok(rows) = page else {
                return Next::Close(close(1013, "Try again later"));
            };
            let done = rows.len() < 200;
            for row in rows {
                from = row.seq;
                if row.sender_role == self.party.as_str() {
                    continue;
                }
                let view = serde_json::to_value(MessageView::from(row)).unwrap_or(Value::Null);
                if let Next::Close(reason) = self.forward_message(session, &view, sent).await {
                    return Next::Close(reason);
                }
            }
            if done {
                return Next::Continue;
            }
        }
    }

    /// A stored message, as the peer's frame: the envelope, `seq`, and `_meta` with the stored
    /// `createdAt` as the dedupe cursor.
    async fn forward_message(
        &self,
        session: &mut Session,
        m: &Value,
        sent: &mut HashSet<i64>,
    ) -> Next {
        let seq = m["seq"].as_i64().unwrap_or(0);
        // Sent already (a resume and the live channel can both carry it). Relays on several
        // replicas may publish out of order, so this remembers every seq, not the highest.
        if !sent.insert(seq) {
            return Next::Continue;
        }
        let created = m["createdAt"].as_str().unwrap_or_default();
        let millis = chrono::DateTime::parse_from_rfc3339(created)
            .map(|t| t.timestamp_millis())
            .unwrap_or(0);
        let role = m["sender"]["role"].as_str().unwrap_or_default();
        let sender_party = if role == "provider" {
            Party::Provider
        } else {
            Party::Consumer
        };
        let mut sender = json!({ "role": role });
        let mut meta =
            json!({ "sessionId": self.session.id, "senderRole": role, "timestamp": created });
        if let Some(agent) = m["sender"].get("agentId") {
            sender["agentId"] = agent.clone();
        }
        if let Some(slot) = self.slot(sender_party) {
            sender["slotIndex"] = json!(slot);
            meta["slotIndex"] = json!(slot);
        }
        let frame = json!({
            "id": m["id"],
            "sessionId": self.session.id,
            "seq": seq,
            "timestamp": millis,
            "sender": sender,
            "type": m["type"],
            "payload": m["payload"],
            "_meta": meta,
        });
        self.send(session, frame).await
    }

    /// An event on the session's channel.
    async fn on_event(&self, session: &mut Session, raw: &str, sent: &mut HashSet<i64>) -> Next {
        let Ok(event) = serde_json::from_str::<Value>(raw) else {
            return Next::Continue;
        };
        let name = event["event"].as_str().unwrap_or_default();
        let payload = &event["payload"];
        match name {
            "system.session_ended" => {
                let frame = json!({
                    "type": "system.session_ended",
                    "sessionId": self.session.id,
                    "payload": { "reason": payload["reason"] },
                });
                let _ = self.send(session, frame).await;
                Next::Close(close(4003, "Session ended"))
            }
            "system.peer_connected" | "system.peer_disconnected" | "dialogue.typing" => {
                let from = payload["payload"]["role"]
                    .as_str()
                    .or(payload["role"].as_str());
                if from == Some(self.party.as_str()) {
                    return Next::Continue;
                }
                let frame = match name {
                    "dialogue.typing" => json!({
                        "type": "dialogue.typing",
                        "sessionId": self.session.id,
                        "sender": { "role": payload["role"] },
                        "payload": payload["payload"],
                    }),
                    _ => {
                        json!({ "type": name, "sessionId": self.session.id, "payload": payload["payload"] })
                    }
                };
                self.send(session, frame).await
            }
            "session.approved" => Next::Continue,
            _ if payload.get("seq").is_some() => {
                if payload["sender"]["role"] == self.party.as_str() {
                    return Next::Continue;
                }
                self.forward_message(session, payload, sent).await
            }
            _ => Next::Continue,
        }
    }
}
