//! Helpers shared by the agent tests: the paths, a valid registration body and the CLI's
//! terms, row counts, what the database stored for an agent, the field-error and conflict
//! assertions, and readers for browse pages and the audit log.

use crate::helpers::*;
use serde_json::{Value, json};

pub const AGENTS: &str = "/api/agents";

/// The prefix of every agent token.
pub const PREFIX: &str = "agt_clawrent_";

pub fn agent_path(id: &str) -> String {
    format!("{AGENTS}/{id}")
}

pub fn action_path(id: &str, action: &str) -> String {
    format!("{AGENTS}/{id}/{action}")
}

/// A valid registration body for `slug`.
pub fn agent_body(slug: &str) -> Value {
    json!({
        "name": "Rust reviewer",
        "slug": slug,
        "description": "Reviews Rust code for correctness and style",
        "capabilities": [{
            "category": "Coding",
            "name": "Rust review",
            "description": "reads diffs",
            "tags": ["rust", "review"],
        }],
        "requiredPermissions": ["system.exec"],
    })
}

/// `base` with `key` set to `value`.
pub fn with_field(base: &Value, key: &str, value: Value) -> Value {
    let mut body = base.clone();
    body[key] = value;
    body
}

/// The terms the CLI's `provider agent apply-provider` always sends.
pub fn cli_terms() -> Value {
    json!({
        "pricingModel": "per_session",
        "priceAmount": "1.00",
        "currency": "CNY",
        "hostingType": "self_hosted",
        "approvalMode": "manual",
        "maxConcurrentSessions": 5,
        "maxConsumerSlots": 1,
    })
}

pub async fn agent_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM agents").await
}

pub async fn profile_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM provider_profiles").await
}

/// The agent as its owner sees it.
pub async fn view(app: &TestApp, owner: &TestUser, id: &str) -> Value {
    app.get(&agent_path(id), &owner.auth())
        .await
        .expect(200)
        .body
}

/// The profile status stored for the agent (None for a draft).
pub async fn stored_status(app: &TestApp, id: &str) -> Option<String> {
    sqlx::query_scalar("SELECT status::text FROM provider_profiles WHERE agent_id = $1::uuid")
        .bind(id)
        .fetch_optional(&app.db)
        .await
        .expect("profile query")
}

pub async fn stored_online_status(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT online_status::text FROM agents WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("agent row")
}

/// Asserts a 400 VALIDATION_ERROR whose `details.field` is `field` and whose message names it.
pub fn assert_field_error(reply: &Reply, why: &str, field: &str) {
    assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
    assert_eq!(
        reply.body["error"], "VALIDATION_ERROR",
        "{why}: {}",
        reply.text
    );
    assert_eq!(
        reply.body["details"]["field"], field,
        "{why}: {}",
        reply.text
    );
    let message = reply.body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(field),
        "{why}: the message names {field}: {message}"
    );
}

/// Asserts 409 CONFLICT with the current status quoted in the message.
pub fn assert_conflict_naming(reply: &Reply, why: &str, status: &str) {
    assert_eq!(reply.status.as_u16(), 409, "{why}: {}", reply.text);
    assert_eq!(reply.body["error"], "CONFLICT", "{why}: {}", reply.text);
    let message = reply.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("'{status}'")),
        "{why}: the message names the status '{status}': {message}"
    );
}

/// The slugs on the first browse page (up to 100) with the extra `query` (`&k=v...`).
pub async fn browse_slugs(app: &TestApp, auth: &Auth, query: &str) -> Vec<String> {
    let page = app
        .get(&format!("/api/marketplace/browse?limit=100{query}"), auth)
        .await
        .expect(200)
        .body;
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|a| a["slug"].as_str().expect("slug").to_owned())
        .collect()
}

pub async fn audit(app: &TestApp, admin: &TestUser, query: &str) -> Value {
    app.get(&format!("/api/admin/audit?limit=100{query}"), &admin.auth())
        .await
        .expect(200)
        .body
}

pub fn strings(page: &Value, key: &str) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|item| item[key].as_str().expect("string field").to_owned())
        .collect()
}
