use super::*;
use serde_json::json;

const PROVIDER: Actor = Actor::Party(Party::Provider);
const CONSUMER: Actor = Actor::Party(Party::Consumer);
const SYSTEM: Actor = Actor::System;

const ACTIONS: [Action; 6] = [
    Action::Approve,
    Action::Reject,
    Action::End,
    Action::Expire,
    Action::EndIdle,
    Action::EndAtCap,
];

/// The whole table: every status × action × actor, with the expected outcome spelled out.
fn expected(status: SessionStatus, action: Action, by: Actor) -> Result<Effect, &'static str> {
    use Action::*;
    use SessionStatus::*;
    let ended = matches!(status, Completed | Settled | Aborted | Expired);
    match (action, by) {
        (Approve | Reject, Actor::Party(Party::Consumer) | Actor::System) => Err("403"),
        (Approve, _) if status == PendingApproval => Ok(Effect::Activate),
        (Approve, _) if status == Active => Ok(Effect::Unchanged),
        (Approve, _) => Err("409"),
        (Reject, _) if status == PendingApproval => Ok(Effect::Void(Aborted)),
        (Reject, _) => Err("409"),
        (End, Actor::System) => Err("409"),
        (End, _) if status == PendingApproval => Ok(Effect::Void(Aborted)),
        (End, _) if status == Active => Ok(Effect::Settle),
        (End, _) if ended => Ok(Effect::Replay),
        (Expire | EndIdle | EndAtCap, Actor::Party(_)) => Err("403"),
        (Expire, _) if status == PendingApproval => Ok(Effect::Void(Expired)),
        (EndIdle | EndAtCap, _) if status == Active => Ok(Effect::Settle),
        _ => Err("409"),
    }
}

#[test]
fn every_status_action_and_actor_has_the_expected_outcome() {
    let mut checked = 0;
    for &status in SessionStatus::VARIANTS {
        for action in ACTIONS {
            for by in [PROVIDER, CONSUMER, SYSTEM] {
                let got = transition(status, action, by).map_err(|r| match r {
                    Refusal::NotYours(_) => "403",
                    Refusal::Conflict(_) => "409",
                });
                assert_eq!(
                    got,
                    expected(status, action, by),
                    "{status:?} {action:?} by {by:?}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 6 * 6 * 3);
}

#[test]
fn only_pending_and_active_are_open() {
    let open: Vec<_> = SessionStatus::VARIANTS
        .iter()
        .filter(|s| s.is_open())
        .collect();
    assert_eq!(
        open,
        [&SessionStatus::PendingApproval, &SessionStatus::Active]
    );
}

#[test]
fn session_keys_are_bounded_visible_ascii() {
    assert_eq!(
        parse_session_key(Some("abc-123_x")).expect("valid"),
        Some("abc-123_x".into())
    );
    assert_eq!(parse_session_key(None).expect("absent"), None);
    for bad in ["", "has space", "tab\t", "é", &"k".repeat(129)] {
        let err = parse_session_key(Some(bad)).expect_err(bad);
        assert!(err.to_string().contains("sessionKey"), "{err}");
    }
}

#[test]
fn message_types_follow_the_directions_of_the_contract() {
    use Party::*;
    for (raw, from) in [
        ("dialogue.message", Consumer),
        ("dialogue.message", Provider),
        ("instruction.exec", Consumer),
        ("result.success", Provider),
        ("result.error", Provider),
        ("session.ping", Consumer),
        ("session.ping", Provider),
    ] {
        assert!(
            MessageType::parse(Some(raw), from).is_ok(),
            "{raw} {from:?}"
        );
    }
    for (raw, from) in [
        ("instruction.exec", Provider),
        ("result.success", Consumer),
        ("system.session_ended", Consumer),
        ("system.heartbeat_ack", Provider),
        ("dialogue.typing", Consumer),
        ("chat.message", Consumer),
        ("dialogue", Consumer),
        ("dialogue.", Consumer),
        ("dialogue.UPPER", Consumer),
        ("dialogue.has space", Consumer),
    ] {
        let err = MessageType::parse(Some(raw), from).expect_err(raw);
        assert!(err.to_string().contains("type"), "{raw}: {err}");
    }
    assert!(MessageType::parse(None, Consumer).is_err());
}

#[test]
fn payloads_and_permissions_are_bounded_objects() {
    assert_eq!(parse_payload(None).expect("default"), json!({}));
    assert!(parse_payload(Some(json!({"text": "hi"}))).is_ok());
    assert!(parse_payload(Some(json!("text"))).is_err());
    assert!(parse_payload(Some(json!([1]))).is_err());
    let big = json!({"text": "x".repeat(MAX_PAYLOAD_BYTES)});
    assert!(parse_payload(Some(big)).is_err());
    assert_eq!(parse_permissions(None).expect("default"), json!({}));
    assert!(parse_permissions(Some(json!(["files"]))).is_err());
}

#[test]
fn reported_tokens_come_from_usage_total_tokens() {
    assert_eq!(
        reported_tokens(&json!({"usage": {"totalTokens": 1234}})),
        1234
    );
    assert_eq!(reported_tokens(&json!({"usage": {"totalTokens": -5}})), 0);
    assert_eq!(reported_tokens(&json!({"text": "no usage"})), 0);
}
