//! The platform operator's API × every principal: the operator token only. The platform API
//! knows no user credential, so every user, admin and agent token is an invalid token there
//! (401 INVALID_TOKEN), an API key alone is no Bearer credential (401 UNAUTHORIZED), and a
//! tenant admin (of any marketplace) never reaches it. Nothing changes on a refusal.

use super::matrix::{Fixture, Row, covered, run};
use super::world::world;
use crate::helpers::*;
use crate::principal_table::*;
use reqwest::Method;
use serde_json::json;

/// `allowed` for the operator; every other principal is refused.
fn operator_only(allowed: Expect) -> [Expect; N] {
    [
        ANON, BAD_TOKEN, ANON, BAD_TOKEN, BAD_TOKEN, BAD_TOKEN, BAD_TOKEN, BAD_TOKEN, BAD_TOKEN,
        allowed,
    ]
}

fn rows() -> Vec<Row> {
    vec![
        Row::new(
            Method::GET,
            "/api/platform/tenants?limit=100",
            Fixture::Tenant,
            operator_only(OK),
        )
        .shows(|_, t| Some(t.tenant_slug.clone())),
        Row::new(
            Method::POST,
            "/api/platform/tenants",
            Fixture::Nothing,
            operator_only(CREATED),
        )
        .body(|_, _| json!({ "slug": unique_slug("made"), "name": "Made by the caller" })),
        Row::new(
            Method::GET,
            "/api/platform/tenants/{slug}",
            Fixture::Tenant,
            operator_only(OK),
        )
        .shows(|_, t| Some(t.tenant_id.clone())),
        Row::new(
            Method::PATCH,
            "/api/platform/tenants/{slug}",
            Fixture::Tenant,
            operator_only(OK),
        )
        .body(|_, _| json!({ "name": "Renamed by the caller" }))
        .shows(|_, t| Some(t.tenant_id.clone())),
        Row::new(
            Method::POST,
            "/api/platform/tenants/{slug}/admins",
            Fixture::Tenant,
            operator_only(CREATED),
        )
        .body(|_, _| {
            json!({ "email": unique_email("made-admin"), "password": PASSWORD, "name": "Made" })
        }),
    ]
}

pub fn operations() -> Vec<Operation> {
    covered(&rows())
}

#[tokio::test]
async fn the_platform_api_serves_the_operator_only_and_no_tenant_credential() {
    let w = world().await;
    run(&w, &rows()).await;
}
