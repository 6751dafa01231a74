//! The traffic of a `/ws/session` socket: frames from its client (heartbeats, typing, resume,
//! messages to store) and events from the session's channel (stored messages, peer events, the
//! end), turned into the frames of the wire contract.

use super::domain::{MessageType, Party, parse_payload};
use super::message_repo::{self, After};
use super::messages::{Incoming, Sender, store};
use super::repo;
use super::socket::{Next, Side};
use super::views::MessageView;
use crate::error::ApiError;
use crate::realtime::close::close;
use crate::realtime::presence;
use actix_ws::Session;
use serde_json::{Value, json};
use std::collections::HashSet;

/// What a socket has delivered: messages up to `baseline` were stored before it joined (they
/// come only with `session.resume`), `last_seen` is the highest seq it knows of (either side's),
/// `sent` the seqs it forwarded.
pub(super) struct Delivery {
    pub(super) baseline: i64,
    pub(super) last_seen: i64,
    pub(super) sent: HashSet<i64>,
}

impl Delivery {
    pub(super) fn after(baseline: i64) -> Self {
        Self {
            baseline,
            last_seen: baseline,
            sent: HashSet::new(),
        }
    }
}

impl Side {
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
    pub(super) async fn on_frame(
        &self,
        session: &mut Session,
        text: &str,
        d: &mut Delivery,
    ) -> Next {
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
                self.resume(session, after, d).await
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

    /// A stored message from the channel. Messages stored before this socket joined are left to
    /// `session.resume` (so a resuming client gets them in order, before live traffic); a gap
    /// after the last seq this socket knows of (a publish it missed) is filled from Postgres
    /// first, so the peer's messages always arrive in `seq` order.
    async fn live_message(&self, session: &mut Session, m: &Value, d: &mut Delivery) -> Next {
        let seq = m["seq"].as_i64().unwrap_or(0);
        if seq <= d.baseline {
            return Next::Continue;
        }
        if seq > d.last_seen + 1
            && let Next::Close(reason) = self.resume(session, d.last_seen, d).await
        {
            return Next::Close(reason);
        }
        d.last_seen = d.last_seen.max(seq);
        if m["sender"]["role"] == self.party.as_str() {
            return Next::Continue;
        }
        self.forward_message(session, m, d).await
    }

    /// The stored messages after `after`, in order, then live traffic (already-sent ones skipped).
    pub(super) async fn resume(&self, session: &mut Session, after: i64, d: &mut Delivery) -> Next {
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
                d.last_seen = d.last_seen.max(row.seq);
                if row.sender_role == self.party.as_str() {
                    continue;
                }
                let view = serde_json::to_value(MessageView::from(row)).unwrap_or(Value::Null);
                if let Next::Close(reason) = self.forward_message(session, &view, d).await {
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
    async fn forward_message(&self, session: &mut Session, m: &Value, d: &mut Delivery) -> Next {
        let seq = m["seq"].as_i64().unwrap_or(0);
        // Sent already (a resume and the live channel can both carry it). Relays on several
        // replicas may publish out of order, so this remembers every seq, not the highest.
        if !d.sent.insert(seq) {
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
    pub(super) async fn on_event(
        &self,
        session: &mut Session,
        raw: &str,
        d: &mut Delivery,
    ) -> Next {
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
            // The hub was away from Redis: catch up from the stored messages. Relays on
            // several replicas may publish slightly out of order, so start a margin below the
            // highest seq known; what was sent already is skipped.
            "hub.resync" => {
                let after = (d.last_seen - 100).max(d.baseline);
                self.resume(session, after, d).await
            }
            _ if payload.get("seq").is_some() => self.live_message(session, payload, d).await,
            _ => Next::Continue,
        }
    }
}
