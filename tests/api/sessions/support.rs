//! A rentable agent (listed, connected, activated) with its provider, and a consumer with money;
//! the session paths and the balance checks every session test uses.

use crate::helpers::*;
use crate::money_helpers::dec;
use rust_decimal::Decimal;
use serde_json::{Value, json};

pub const SESSIONS: &str = "/api/sessions";

pub fn session_path(id: &str) -> String {
    format!("{SESSIONS}/{id}")
}

pub fn action(id: &str, action: &str) -> String {
    format!("{SESSIONS}/{id}/{action}")
}

/// An agent that can be rented right now and the people around it.
pub struct Market {
    pub agent: String,
    pub slug: String,
    pub provider: TestUser,
    pub consumer: TestUser,
    pub admin: TestUser,
}

impl Market {
    /// A rent body for this market's agent.
    pub fn rent_body(&self, task: &str) -> Value {
        json!({ "agentId": self.agent, "taskDescription": task, "grantedPermissions": {} })
    }
}

/// Lists an agent with `terms`, connects and activates it, and gives a fresh consumer `funds`
/// in CNY.
pub async fn market(app: &TestApp, terms: Value, funds: &str) -> Market {
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let slug = unique_slug("rent");
    let agent = app.listed_agent_with(&provider, &admin, &slug, terms).await;
    online(app, &provider, &agent).await;
    let consumer = app.signup().await;
    if dec(funds) > Decimal::ZERO {
        app.topup(&consumer.auth(), funds).await.expect(200);
    }
    Market {
        agent,
        slug,
        provider,
        consumer,
        admin,
    }
}

/// Connects the agent (presence) and activates it: it is `online`.
pub async fn online(app: &TestApp, provider: &TestUser, agent: &str) {
    let tenant = app.tenant_id("default").await;
    app.set_connected(tenant, agent, true).await;
    app.post_empty(&format!("/api/agents/{agent}/activate"), &provider.auth())
        .await
        .expect(200);
}

pub async fn rent(app: &TestApp, who: &TestUser, body: &Value) -> Reply {
    app.post(SESSIONS, &who.auth(), body).await
}

/// Rents and returns the session's id.
pub async fn rented(app: &TestApp, m: &Market, task: &str) -> String {
    let reply = rent(app, &m.consumer, &m.rent_body(task)).await.expect(201);
    reply.body["id"].as_str().expect("id").to_owned()
}

pub async fn cny(app: &TestApp, user: &TestUser) -> Decimal {
    app.balance(user, Some("CNY")).await
}
