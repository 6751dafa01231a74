//! Rental sessions: statuses, the one state machine of their transitions, and the parsed values
//! of a rent request and a message.

use crate::error::{ApiError, ApiResult};
use crate::wire_enum::wire_enum;
use serde_json::Value;

wire_enum!(
    /// Where a session stands. `pending_approval` and `active` are open; the others are final.
    /// A session that ends is settled in the same transaction, so `completed` is never stored by
    /// this server; it is accepted on the wire for compatibility.
    SessionStatus, "session_status", "status",
    {
        PendingApproval => "pending_approval",
        Active => "active",
        Completed => "completed",
        Settled => "settled",
        Aborted => "aborted",
        Expired => "expired",
    }
);

impl SessionStatus {
    pub fn is_open(self) -> bool {
        matches!(self, SessionStatus::PendingApproval | SessionStatus::Active)
    }
}

/// A participant's side of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Consumer,
    Provider,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Consumer => "consumer",
            Party::Provider => "provider",
        }
    }

    pub fn parse_role(raw: &str) -> ApiResult<Self> {
        match raw {
            "consumer" => Ok(Party::Consumer),
            "provider" => Ok(Party::Provider),
            _ => Err(ApiError::field("role", "must be consumer or provider")),
        }
    }
}

/// Who asks for a transition: a participant, or the server's sweeper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Party(Party),
    System,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Reject,
    End,
    /// A pending session waited longer than SESSION_PENDING_TTL.
    Expire,
    /// An active session had no message for SESSION_IDLE_TIMEOUT.
    EndIdle,
    /// A per-minute session reached the minutes its hold covers.
    EndAtCap,
}

impl Action {
    /// The `reason` of `system.session_ended` and of the stored end.
    pub fn end_reason(self) -> &'static str {
        match self {
            Action::Approve => "approved",
            Action::Reject => "rejected",
            Action::End => "ended",
            Action::Expire => "expired",
            Action::EndIdle => "idle_timeout",
            Action::EndAtCap => "minute_cap_reached",
        }
    }
}

/// What a permitted transition does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `pending_approval → active`.
    Activate,
    /// Nothing changes (approving an active session): answer with the session as it is.
    Unchanged,
    /// The hold goes back to the consumer and the session takes this final status.
    Void(SessionStatus),
    /// The hold is settled by usage; the session becomes `settled`.
    Settle,
    /// The session had already ended: answer with its first result.
    Replay,
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The participant may not do this (a consumer approving): 403.
    NotYours(&'static str),
    /// Not in this status: 409.
    Conflict(String),
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotYours(message) => ApiError::forbidden(message),
            Refusal::Conflict(message) => ApiError::conflict(message),
        }
    }
}

/// Every transition of a session, in one place.
pub fn transition(status: SessionStatus, action: Action, by: Actor) -> Result<Effect, Refusal> {
    use Action::*;
    use SessionStatus::*;
    let provider_only = |what: &'static str| match by {
        Actor::Party(Party::Provider) => Ok(()),
        _ => Err(Refusal::NotYours(what)),
    };
    let system_only = || match by {
        Actor::System => Ok(()),
        Actor::Party(_) => Err(Refusal::NotYours("Only the server ends sessions this way")),
    };
    let participant_only = || match by {
        Actor::Party(_) => Ok(()),
        Actor::System => Err(Refusal::Conflict("a system end needs a reason".into())),
    };
    let ended = |what: &str| {
        Refusal::Conflict(format!(
            "The session has already ended ({}); it cannot be {what}",
            status.as_str()
        ))
    };
    match action {
        Approve => {
            provider_only("Only the provider can approve a session")?;
            match status {
                PendingApproval => Ok(Effect::Activate),
                Active => Ok(Effect::Unchanged),
                _ => Err(ended("approved")),
            }
        }
        Reject => {
            provider_only("Only the provider can reject a session")?;
            match status {
                PendingApproval => Ok(Effect::Void(Aborted)),
                Active => Err(Refusal::Conflict(
                    "The session is active: end it instead of rejecting it".into(),
                )),
                _ => Err(ended("rejected")),
            }
        }
        End => {
            participant_only()?;
            match status {
                PendingApproval => Ok(Effect::Void(Aborted)),
                Active => Ok(Effect::Settle),
                Completed | Settled | Aborted | Expired => Ok(Effect::Replay),
            }
        }
        Expire => {
            system_only()?;
            match status {
                PendingApproval => Ok(Effect::Void(Expired)),
                _ => Err(Refusal::Conflict("only a pending session expires".into())),
            }
        }
        EndIdle | EndAtCap => {
            system_only()?;
            match status {
                Active => Ok(Effect::Settle),
                _ => Err(Refusal::Conflict(
                    "only an active session ends by time".into(),
                )),
            }
        }
    }
}

/// A `sessionKey`: 1-128 visible ASCII characters.
pub fn parse_session_key(raw: Option<&str>) -> ApiResult<Option<String>> {
    match raw {
        None => Ok(None),
        Some(key)
            if (1..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(key.to_owned()))
        }
        Some(_) => Err(ApiError::field(
            "sessionKey",
            "must be 1-128 visible ASCII characters (letters, digits, punctuation; no spaces), e.g. a UUID",
        )),
    }
}

pub const MAX_TASK_CHARS: usize = 10_000;
/// `grantedPermissions` and message payloads are JSON objects of at most this many bytes (a
/// payload's limit stays under the request body limit, MAX_BODY_BYTES, 64 KiB by default, so
/// a large payload gets this field error and only a larger body gets 413).
pub const MAX_PERMISSIONS_BYTES: usize = 16 * 1024;
pub const MAX_PAYLOAD_BYTES: usize = 32 * 1024;

pub fn parse_task(raw: Option<&str>) -> ApiResult<String> {
    let task = raw.unwrap_or_default().trim();
    if task.chars().count() > MAX_TASK_CHARS {
        return Err(ApiError::field(
            "taskDescription",
            format!("must be at most {MAX_TASK_CHARS} characters"),
        ));
    }
    Ok(task.to_owned())
}

/// `grantedPermissions`: a JSON object (the clients send `{}` by default).
pub fn parse_permissions(raw: Option<Value>) -> ApiResult<Value> {
    match raw {
        None | Some(Value::Null) => Ok(Value::Object(Default::default())),
        Some(value @ Value::Object(_)) => {
            if value.to_string().len() > MAX_PERMISSIONS_BYTES {
                return Err(ApiError::field(
                    "grantedPermissions",
                    format!("must be at most {MAX_PERMISSIONS_BYTES} bytes of JSON"),
                ));
            }
            Ok(value)
        }
        Some(_) => Err(ApiError::field(
            "grantedPermissions",
            "must be a JSON object such as {\"files\": \"read\"}",
        )),
    }
}

/// The family of a message type, which decides who may send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageFamily {
    Dialogue,
    Instruction,
    Result,
    Session,
    System,
}

/// A stored message type: `family.name`, checked against the sender's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageType {
    pub family: MessageFamily,
    pub text: String,
}

impl MessageType {
    /// `dialogue.*` both ways, `instruction.*` consumer to provider (the provider's daemon runs
    /// them), `result.*` provider to consumer (what the agent answers, with its token usage),
    /// `session.*` either side, `system.*` the server only. `dialogue.typing` is live only
    /// (WebSocket) and never stored.
    pub fn parse(raw: Option<&str>, from: Party) -> ApiResult<Self> {
        let raw = raw.ok_or_else(|| ApiError::field("type", "is required"))?;
        let (family, name) = raw.split_once('.').unwrap_or((raw, ""));
        let well_formed = !name.is_empty()
            && raw.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
        let family = match family {
            "dialogue" => Some(MessageFamily::Dialogue),
            "instruction" => Some(MessageFamily::Instruction),
            "result" => Some(MessageFamily::Result),
            "session" => Some(MessageFamily::Session),
            "system" => Some(MessageFamily::System),
            _ => None,
        };
        let unknown = || {
            ApiError::field(
                "type",
                format!(
                    "{raw:?} is not a message type: use dialogue.*, instruction.* (consumer), result.* (provider) or session.*"
                ),
            )
        };
        let Some(family) = family.filter(|_| well_formed) else {
            return Err(unknown());
        };
        if raw == "dialogue.typing" {
            return Err(ApiError::field(
                "type",
                "dialogue.typing is live only: send it over /ws/session, it is never stored",
            ));
        }
        let allowed = match family {
            MessageFamily::Dialogue | MessageFamily::Session => true,
            MessageFamily::Instruction => from == Party::Consumer,
            MessageFamily::Result => from == Party::Provider,
            MessageFamily::System => false,
        };
        if !allowed {
            let rule = match family {
                MessageFamily::Instruction => {
                    "instruction.* goes from the provider to the consumer"
                }
                MessageFamily::Result => "result.* goes from the consumer to the provider",
                _ => "system.* messages come from the server only",
            };
            return Err(ApiError::field("type", format!("{raw:?}: {rule}")));
        }
        Ok(Self {
            family,
            text: raw.to_owned(),
        })
    }
}

/// A message payload: a JSON object of at most [`MAX_PAYLOAD_BYTES`].
pub fn parse_payload(raw: Option<Value>) -> ApiResult<Value> {
    match raw {
        None | Some(Value::Null) => Ok(Value::Object(Default::default())),
        Some(value @ Value::Object(_)) => {
            if value.to_string().len() > MAX_PAYLOAD_BYTES {
                return Err(ApiError::field(
                    "payload",
                    format!("must be at most {MAX_PAYLOAD_BYTES} bytes of JSON"),
                ));
            }
            Ok(value)
        }
        Some(_) => Err(ApiError::field(
            "payload",
            "must be a JSON object such as {\"text\": \"hello\"}",
        )),
    }
}

/// Tokens a provider's `result.*` payload reports (`usage.totalTokens`: the agent's usage),
/// metered for per-token sessions.
pub fn reported_tokens(payload: &Value) -> u64 {
    payload
        .pointer("/usage/totalTokens")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
