//! The account endpoints × every principal: `/api/auth/me` and the API keys. The owner's keys
//! are managed by the owner's login or API key only: their agent token gets 403 (it must not
//! mint a credential that outlives its revocation); anyone else sees and makes only their own
//! keys, and another user's key id is 404.

use super::matrix::{Fixture, Row, covered, run};
use super::world::world;
use crate::principal_table::*;
use reqwest::Method;
use serde_json::json;

/// Served about the caller's own account: the owner sees theirs, anyone else theirs.
const OWN_ACCOUNT: [Expect; N] = [
    ANON, OK, OK, OK, BLIND, BLIND, BLIND, BAD_TOKEN, BLIND, BAD_TOKEN,
];
/// Credential management: the owner's agent token is refused.
const OWN_KEYS: [Expect; N] = [
    ANON, OK, OK, FORBIDDEN, BLIND, BLIND, BLIND, BAD_TOKEN, BLIND, BAD_TOKEN,
];
const MADE_OWN_KEY: Expect = Expect::Blind(201);

fn rows() -> Vec<Row> {
    vec![
        Row::new(Method::GET, "/api/auth/me", Fixture::Nothing, OWN_ACCOUNT)
            .shows(|w, _| Some(w.owner.id.clone())),
        Row::new(
            Method::GET,
            "/api/auth/api-keys?limit=100",
            Fixture::OwnerKey,
            OWN_KEYS,
        )
        .shows(|_, t| Some(t.key_id.clone())),
        Row::new(
            Method::POST,
            "/api/auth/api-keys",
            Fixture::Nothing,
            [
                ANON,
                CREATED,
                CREATED,
                FORBIDDEN,
                MADE_OWN_KEY,
                MADE_OWN_KEY,
                MADE_OWN_KEY,
                BAD_TOKEN,
                MADE_OWN_KEY,
                BAD_TOKEN,
            ],
        )
        .body(|_, _| json!({ "name": "Made by the caller" })),
        Row::new(
            Method::DELETE,
            "/api/auth/api-keys/{id}",
            Fixture::OwnerKey,
            [
                ANON, OK, OK, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND, BAD_TOKEN, NOT_FOUND,
                BAD_TOKEN,
            ],
        ),
    ]
}

pub fn operations() -> Vec<Operation> {
    covered(&rows())
}

#[tokio::test]
async fn account_and_api_key_endpoints_serve_the_caller_only_and_refuse_agent_tokens() {
    let w = world().await;
    run(&w, &rows()).await;
}
