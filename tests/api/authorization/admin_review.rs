//! Admin review endpoints × every principal: the marketplace's admin only (with their login or
//! API key, never through an agent token); a refused call writes no audit record.

use super::agent_matrix::{ADMIN_ONLY, Row, State, covered, row, run};
use super::world::world;
use crate::principal_table::*;
use reqwest::Method;
use serde_json::json;

/// A marketplace-wide admin list: each admin sees their own marketplace only.
const ADMIN_LIST: [Expect; N] = [
    ANON, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, BAD_TOKEN, BLIND, BAD_TOKEN,
];

fn rows() -> Vec<Row> {
    vec![
        row(
            Method::GET,
            "/api/admin/providers?status=pending_review&limit=100",
            State::Pending,
            ADMIN_LIST,
        ),
        row(
            Method::POST,
            "/api/admin/providers/{id}/approve",
            State::Pending,
            ADMIN_ONLY,
        ),
        row(
            Method::POST,
            "/api/admin/providers/{id}/reject",
            State::Pending,
            ADMIN_ONLY,
        )
        .body(|| json!({ "reason": "Not ready" })),
        row(
            Method::POST,
            "/api/admin/providers/{id}/suspend",
            State::Listed,
            ADMIN_ONLY,
        )
        .body(|| json!({ "reason": "Reported" })),
        row(
            Method::POST,
            "/api/admin/providers/{id}/reinstate",
            State::Suspended,
            ADMIN_ONLY,
        ),
        // An illegal transition: even the admin is refused, and nothing is audited.
        row(
            Method::POST,
            "/api/admin/providers/{id}/approve",
            State::Listed,
            [
                ANON, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, CONFLICT, FORBIDDEN, BAD_TOKEN,
                NOT_FOUND, BAD_TOKEN,
            ],
        ),
        row(
            Method::GET,
            "/api/admin/audit?limit=100",
            State::Listed,
            ADMIN_LIST,
        ),
    ]
}

pub fn operations() -> Vec<Operation> {
    covered(&rows())
}

#[tokio::test]
async fn admin_endpoints_serve_only_the_tenant_admin_and_refused_calls_write_no_audit() {
    let w = world().await;
    run(&w, &rows()).await;
}
