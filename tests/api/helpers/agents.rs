//! Agents in every state, and their presence.

use super::{Reply, TestApp, TestUser, redis_url};
use serde_json::{Value, json};

/// A listed agent and the people around it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: String,
    pub slug: String,
    pub provider: TestUser,
    pub admin: TestUser,
}

pub fn unique_slug(tag: &str) -> String {
    format!("{tag}-{}", &uuid::Uuid::now_v7().simple().to_string()[18..])
}

impl TestApp {
    /// Registers a draft agent for `owner` and returns its id.
    pub async fn create_agent(&self, owner: &TestUser, slug: &str, extra: Value) -> String {
        let mut body = json!({
            "name": format!("Agent {slug}"),
            "slug": slug,
            "description": "An agent that helps with tests and more",
            "capabilities": [{ "category": "testing", "name": "Test writing", "description": "writes tests", "tags": ["rust"] }],
        });
        if let (Some(target), Some(more)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in more {
                target.insert(k.clone(), v.clone());
            }
        }
        let reply = self
            .post("/api/agents", &owner.auth(), &body)
            .await
            .expect(201);
        reply.body["id"].as_str().expect("id").to_owned()
    }

    /// Publishes the agent with `terms` (`json!({})` for the defaults).
    pub async fn publish(&self, owner: &TestUser, agent: &str, terms: Value) -> Reply {
        self.post(
            &format!("/api/agents/{agent}/publish"),
            &owner.auth(),
            &terms,
        )
        .await
    }

    pub async fn review(
        &self,
        admin: &TestUser,
        agent: &str,
        action: &str,
        reason: Option<&str>,
    ) -> Reply {
        let path = format!("/api/admin/providers/{agent}/{action}");
        match reason {
            Some(reason) => {
                self.post(&path, &admin.auth(), &json!({ "reason": reason }))
                    .await
            }
            None => self.post_empty(&path, &admin.auth()).await,
        }
    }

    /// A provider's agent, published with `terms` and approved by `admin`: it is in the marketplace.
    pub async fn listed_agent_with(
        &self,
        provider: &TestUser,
        admin: &TestUser,
        slug: &str,
        terms: Value,
    ) -> String {
        let id = self.create_agent(provider, slug, json!({})).await;
        self.publish(provider, &id, terms).await.expect(200);
        self.review(admin, &id, "approve", None).await.expect(200);
        id
    }

    /// A fresh provider, admin and listed agent in the default tenant.
    pub async fn listed_agent(&self) -> Listed {
        let provider = self.signup().await;
        let admin = self.default_admin().await;
        let slug = unique_slug("listed");
        let id = self
            .listed_agent_with(&provider, &admin, &slug, json!({ "priceAmount": "5.00" }))
            .await;
        Listed {
            id,
            slug,
            provider,
            admin,
        }
    }

    /// Issues an agent token for `agent` (owned by `owner`).
    pub async fn agent_token(&self, owner: &TestUser, agent: &str) -> String {
        let reply = self
            .post_empty(&format!("/api/agents/{agent}/token"), &owner.auth())
            .await
            .expect(201);
        reply.body["token"].as_str().expect("token").to_owned()
    }

    /// Marks the agent connected in Redis exactly as a live `/ws/agent` socket does (the
    /// WebSocket endpoint comes with the sessions issue; presence is its Redis key).
    pub async fn set_connected(&self, tenant: uuid::Uuid, agent: &str, connected: bool) {
        let agent: uuid::Uuid = agent.parse().expect("agent id");
        let key = clawrent_api::realtime::presence::agent_key(
            &self.state.redis,
            tenant.into(),
            agent.into(),
        );
        let client = redis::Client::open(redis_url()).expect("redis url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis");
        let _: () = if connected {
            redis::cmd("SET")
                .arg(&key)
                .arg("1")
                .arg("EX")
                .arg(60)
                .query_async(&mut conn)
                .await
                .expect("set")
        } else {
            redis::cmd("DEL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .expect("del")
        };
    }

    pub async fn tenant_id(&self, slug: &str) -> uuid::Uuid {
        sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1")
            .bind(slug)
            .fetch_one(&self.db)
            .await
            .expect("tenant")
    }
}
