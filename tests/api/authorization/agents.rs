//! Agent endpoints × every principal: the owner (JWT, API key or one of their agent tokens)
//! only; an agent token never manages agent tokens; everyone else 404 (another user, admins) or
//! 401 (a token of another marketplace, the operator token).

use super::agent_matrix::{OWNER_ONLY, Row, State, covered, row, run};
use super::world::world;
use crate::helpers::unique_slug;
use crate::principal_table::*;
use reqwest::Method;
use serde_json::{Value, json};

fn new_agent_body() -> Value {
    json!({
        "name": "Created by the caller",
        "slug": unique_slug("created"),
        "description": "An agent the caller registers for itself",
    })
}

fn rows() -> Vec<Row> {
    let mut create = row(
        Method::POST,
        "/api/agents",
        State::Draft,
        [
            ANON, CREATED, CREATED, CREATED, CREATED, CREATED, CREATED, BAD_TOKEN, CREATED,
            BAD_TOKEN,
        ],
    )
    .body(new_agent_body);
    create.shows_target = false;
    vec![
        create,
        row(
            Method::GET,
            "/api/agents/my?limit=100",
            State::Draft,
            [
                ANON, OK, OK, OK, BLIND, BLIND, BLIND, BAD_TOKEN, BLIND, BAD_TOKEN,
            ],
        ),
        row(
            Method::GET,
            "/api/agents/me/agent",
            State::Draft,
            [
                ANON, BAD_TOKEN, BAD_TOKEN, OK, BAD_TOKEN, BAD_TOKEN, BAD_TOKEN, BAD_TOKEN,
                BAD_TOKEN, BAD_TOKEN,
            ],
        ),
        row(Method::GET, "/api/agents/{id}", State::Listed, OWNER_ONLY),
        row(Method::PATCH, "/api/agents/{id}", State::Draft, OWNER_ONLY)
            .body(|| json!({ "name": "Renamed by the caller" })),
        row(
            Method::POST,
            "/api/agents/{id}/publish",
            State::Draft,
            OWNER_ONLY,
        )
        .body(|| json!({})),
        // On a listed agent, publishing stores a revision (the owner's alone to submit).
        row(
            Method::POST,
            "/api/agents/{id}/publish",
            State::Listed,
            OWNER_ONLY,
        )
        .body(|| json!({ "priceAmount": "9.00" })),
        row(
            Method::POST,
            "/api/agents/{id}/apply-provider",
            State::Draft,
            OWNER_ONLY,
        )
        .body(|| {
            json!({
                "pricingModel": "per_session", "priceAmount": "1.00", "currency": "CNY",
                "hostingType": "self_hosted", "approvalMode": "manual",
                "maxConcurrentSessions": 5, "maxConsumerSlots": 1,
            })
        }),
        row(
            Method::POST,
            "/api/agents/{id}/token",
            State::Draft,
            [
                ANON, CREATED, CREATED, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND, BAD_TOKEN,
                NOT_FOUND, BAD_TOKEN,
            ],
        ),
        row(
            Method::DELETE,
            "/api/agents/{id}/token",
            State::Draft,
            [
                ANON, OK, OK, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND, BAD_TOKEN, NOT_FOUND,
                BAD_TOKEN,
            ],
        ),
        row(
            Method::POST,
            "/api/agents/{id}/activate",
            State::Connected,
            OWNER_ONLY,
        ),
        row(
            Method::PATCH,
            "/api/agents/{id}/status",
            State::Connected,
            OWNER_ONLY,
        )
        .body(|| json!({ "onlineStatus": "busy" })),
    ]
}

pub fn operations() -> Vec<Operation> {
    covered(&rows())
}

#[tokio::test]
async fn agent_endpoints_serve_only_the_owner_and_refuse_everyone_else_without_changes() {
    let w = world().await;
    run(&w, &rows()).await;
}
