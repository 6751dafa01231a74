//! Session endpoints × every principal. The "owner" is a participant of the target session,
//! playing the side each row names (`session_fixture::Side`); the other participant is a
//! dedicated counterpart, never one of the ten principals:
//!
//! - `Consumer`: the owner rented the counterpart's agent. The `AgentToken` column sends the
//!   token of another agent of the owner, which acts as its owner: a consumer.
//! - `Provider`: the counterpart rented the owner's agent, and `AgentToken` is that agent's
//!   token: a provider.
//! - `ProviderOtherAgent`: as `Provider`, but `AgentToken` belongs to another agent of the owner;
//!   an agent token is on the provider side only for its own agent's sessions, so it takes no
//!   part (404 on the session, nothing in the provider list).
//!
//! For renting, the target is an agent: the counterpart's (`Consumer`: anyone of the marketplace
//! may rent it) or the owner's (`Provider`: the owner, with any credential, may not, 400).
//! Non-participants (another user, the admin, a foreign user, the foreign admin) get 404, as for
//! a session that does not exist; tokens of another marketplace and the operator token 401.

use super::session_fixture::{Side, Stage, session_world};
use super::session_matrix::{OWN_LIST, PARTICIPANT, Row, Shows, covered, row, run};
use crate::principal_table::*;
use reqwest::Method;
use serde_json::json;

/// Approving or rejecting as the consumer: their side may not (403); outsiders 404.
const CONSUMER_REFUSED: [Expect; N] = [
    ANON, FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND, BAD_TOKEN, NOT_FOUND,
    BAD_TOKEN,
];
/// On the provider side with a token of another of the owner's agents: that token takes no part.
const OTHER_AGENT_REFUSED: [Expect; N] = [
    ANON, OK, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, BAD_TOKEN, NOT_FOUND, BAD_TOKEN,
];
const OWN_LIST_OTHER_AGENT: [Expect; N] = [
    ANON, OK, OK, BLIND, BLIND, BLIND, BLIND, BAD_TOKEN, BLIND, BAD_TOKEN,
];
/// Renting someone else's agent: any user of the marketplace; a foreign user finds no such agent.
const RENT_OTHERS: [Expect; N] = [
    ANON, CREATED, CREATED, CREATED, CREATED, CREATED, NOT_FOUND, BAD_TOKEN, NOT_FOUND, BAD_TOKEN,
];
const OWN_AGENT: Expect = Expect::Denied(400, "VALIDATION_ERROR");
/// Renting the owner's own agent: refused to every credential of the owner.
const RENT_OWN: [Expect; N] = [
    ANON, OWN_AGENT, OWN_AGENT, OWN_AGENT, CREATED, CREATED, NOT_FOUND, BAD_TOKEN, NOT_FOUND,
    BAD_TOKEN,
];

const ONE: &str = "/api/sessions/{id}";
const MESSAGES: &str = "/api/sessions/{id}/messages";

/// Reads: lists, the session, its messages.
fn reads() -> Vec<Row> {
    use Side::*;
    let list = |path, side, expect| row(Method::GET, path, side, Stage::Active, expect);
    let one = |side, expect| row(Method::GET, ONE, side, Stage::Active, expect);
    let history =
        |side, expect| row(Method::GET, MESSAGES, side, Stage::Talking, expect).shows(Shows::Said);
    vec![
        list("/api/sessions?limit=100", Consumer, OWN_LIST),
        list("/api/sessions?role=provider&limit=100", Provider, OWN_LIST),
        list(
            "/api/sessions?role=provider&limit=100",
            ProviderOtherAgent,
            OWN_LIST_OTHER_AGENT,
        ),
        one(Consumer, PARTICIPANT),
        one(Provider, PARTICIPANT),
        one(ProviderOtherAgent, OTHER_AGENT_REFUSED),
        history(Consumer, PARTICIPANT),
        history(Provider, PARTICIPANT),
        history(ProviderOtherAgent, OTHER_AGENT_REFUSED),
    ]
}

/// Writes: renting, approving, rejecting, ending, sending a message.
fn writes() -> Vec<Row> {
    use Side::*;
    let rent = |side, expect| {
        row(Method::POST, "/api/sessions", side, Stage::Rentable, expect)
            .body(|t| json!({ "agentId": t.agent, "taskDescription": "Rented by the caller" }))
            .shows(Shows::Agent)
    };
    let verb = |path, side, stage, expect| row(Method::POST, path, side, stage, expect);
    let approve = "/api/sessions/{id}/approve";
    let reject = "/api/sessions/{id}/reject";
    let end = "/api/sessions/{id}/end";
    let send = |side, expect| {
        row(Method::POST, MESSAGES, side, Stage::Active, expect)
            .body(
                |_| json!({ "type": "dialogue.message", "payload": { "text": "From the caller" } }),
            )
            .shows(Shows::Nothing)
    };
    vec![
        rent(Consumer, RENT_OTHERS),
        rent(Provider, RENT_OWN),
        verb(approve, Provider, Stage::Pending, PARTICIPANT),
        verb(approve, Consumer, Stage::Pending, CONSUMER_REFUSED),
        verb(
            approve,
            ProviderOtherAgent,
            Stage::Pending,
            OTHER_AGENT_REFUSED,
        ),
        verb(reject, Provider, Stage::Pending, PARTICIPANT)
            .body(|_| json!({ "reason": "Not this week" })),
        verb(reject, Consumer, Stage::Pending, CONSUMER_REFUSED),
        verb(end, Consumer, Stage::Active, PARTICIPANT),
        verb(end, Provider, Stage::Active, PARTICIPANT),
        verb(end, ProviderOtherAgent, Stage::Active, OTHER_AGENT_REFUSED),
        send(Consumer, PARTICIPANT),
        send(Provider, PARTICIPANT),
    ]
}

pub fn operations() -> Vec<Operation> {
    [covered(&reads()), covered(&writes())].concat()
}

#[tokio::test]
async fn session_reads_serve_only_the_participants_and_reveal_nothing_to_anyone_else() {
    let sw = session_world().await;
    run(&sw, &reads()).await;
}

#[tokio::test]
async fn session_writes_are_the_participants_by_side_and_refusals_change_nothing() {
    let sw = session_world().await;
    run(&sw, &writes()).await;
}
