//! Marketplace and favourite endpoints × every principal: any credential of the marketplace;
//! another marketplace's users never see this one's agents.

use super::agent_matrix::{Row, State, covered, row, run};
use super::world::world;
use crate::principal_table::*;
use reqwest::Method;

fn rows() -> Vec<Row> {
    vec![
        row(
            Method::GET,
            "/api/marketplace/browse?limit=100",
            State::Listed,
            [ANON, OK, OK, OK, OK, OK, BLIND, BAD_TOKEN, BLIND, BAD_TOKEN],
        ),
        row(
            Method::GET,
            "/api/marketplace/agents/{slug}",
            State::Listed,
            [
                ANON, OK, OK, OK, OK, OK, NOT_FOUND, BAD_TOKEN, NOT_FOUND, BAD_TOKEN,
            ],
        ),
        row(
            Method::POST,
            "/api/favorites/{id}",
            State::Listed,
            [
                ANON, OK, OK, OK, OK, OK, NOT_FOUND, BAD_TOKEN, NOT_FOUND, BAD_TOKEN,
            ],
        ),
        // Removing someone else's favourite is a no-op (each user has their own list).
        row(
            Method::DELETE,
            "/api/favorites/{id}",
            State::Favorited,
            [
                ANON, OK, OK, OK, BLIND, BLIND, BLIND, BAD_TOKEN, BLIND, BAD_TOKEN,
            ],
        ),
        row(
            Method::GET,
            "/api/favorites?limit=100",
            State::Favorited,
            [
                ANON, OK, OK, OK, BLIND, BLIND, BLIND, BAD_TOKEN, BLIND, BAD_TOKEN,
            ],
        ),
    ]
}

pub fn operations() -> Vec<Operation> {
    covered(&rows())
}

#[tokio::test]
async fn marketplace_and_favorites_are_tenant_scoped_and_need_a_credential() {
    let w = world().await;
    run(&w, &rows()).await;
}
