//! Credentials minted by each kind of principal. An agent token acts as its owner on user-level
//! endpoints but mints nothing (no API key, no agent token for any agent) and never reaches an
//! admin endpoint, so revoking it leaves no working credential behind. An API key acts with its
//! owner's full role: an admin's key (minted through the admin's login) is an admin, a
//! consumer's is not.

use crate::helpers::*;
use serde_json::json;

/// Every credential a user holds in the database: their API keys (live or revoked) and the token
/// hashes of their agents.
async fn credentials(app: &TestApp, user: &TestUser) -> (i64, Vec<(String, Option<String>)>) {
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE user_id = $1::uuid")
        .bind(&user.id)
        .fetch_one(&app.db)
        .await
        .expect("keys");
    let tokens: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT id::text, encode(token_hash, 'hex') FROM agents WHERE owner_id = $1::uuid ORDER BY id",
    )
    .bind(&user.id)
    .fetch_all(&app.db)
    .await
    .expect("tokens");
    (keys, tokens)
}

/// Every credential-management call an agent token could try, with the owner's key `key_id`,
/// the token's own agent `own` and the owner's other agent `sibling`.
fn minting_calls(own: &str, sibling: &str, key_id: &str) -> Vec<(reqwest::Method, String)> {
    use reqwest::Method;
    vec![
        (Method::POST, "/api/auth/api-keys".to_owned()),
        (Method::GET, "/api/auth/api-keys".to_owned()),
        (Method::DELETE, format!("/api/auth/api-keys/{key_id}")),
        (Method::POST, format!("/api/agents/{own}/token")),
        (Method::DELETE, format!("/api/agents/{own}/token")),
        (Method::POST, format!("/api/agents/{sibling}/token")),
        (Method::DELETE, format!("/api/agents/{sibling}/token")),
    ]
}

async fn key_id_of(app: &TestApp, user: &TestUser) -> String {
    sqlx::query_scalar("SELECT id::text FROM api_keys WHERE user_id = $1::uuid LIMIT 1")
        .bind(&user.id)
        .fetch_one(&app.db)
        .await
        .expect("the user's first key")
}

#[tokio::test]
async fn an_agent_token_mints_no_api_key_and_no_agent_token_and_nothing_is_created() {
    // Arrange: the owner has two agents, both with tokens.
    let app = spawn_app().await;
    let owner = app.signup().await;
    let own = app
        .create_agent(&owner, &unique_slug("own"), json!({}))
        .await;
    let sibling = app
        .create_agent(&owner, &unique_slug("sibling"), json!({}))
        .await;
    let token = Auth::bearer(&app.agent_token(&owner, &own).await);
    app.agent_token(&owner, &sibling).await;
    let key_id = key_id_of(&app, &owner).await;
    let before = credentials(&app, &owner).await;

    // Act
    let mut replies = Vec::new();
    for (method, path) in minting_calls(&own, &sibling, &key_id) {
        let mut request = app.request(method.clone(), &path, &token);
        if method == reqwest::Method::POST {
            request = request.json(&json!({ "name": "from a daemon" }));
        }
        let reply = read(request.send().await.expect("request")).await;
        replies.push((format!("{method} {path}"), reply));
    }

    // Assert
    for (call, reply) in replies {
        assert_eq!(reply.status.as_u16(), 403, "{call}: {}", reply.text);
        assert_eq!(reply.body["error"], "FORBIDDEN", "{call}: {}", reply.text);
        assert!(
            !reply.text.contains("clr_") && !reply.text.contains("agt_clawrent_"),
            "{call} returned a credential: {}",
            reply.text
        );
    }
    assert_eq!(
        credentials(&app, &owner).await,
        before,
        "nothing was minted"
    );
    let me = app.get("/api/agents/me/agent", &token).await.expect(200);
    assert_eq!(me.body["id"], own.as_str(), "the token itself still works");
}

/// An agent token acts as its owner on user-level endpoints, but never carries the owner's
/// admin powers (it runs on a daemon's machine), and mints no credential either.
#[tokio::test]
async fn an_admins_agent_token_cannot_do_admin_work_nor_mint_a_key() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let agent = app
        .create_agent(&admin, &unique_slug("admin-agent"), json!({}))
        .await;
    let token = Auth::bearer(&app.agent_token(&admin, &agent).await);
    let consumer = app.signup().await;
    let before = credentials(&app, &admin).await;

    // Act and assert: admin endpoints refuse it, user-level ones serve the admin's own data.
    for path in [
        "/api/admin/ledger/verify",
        "/api/admin/ledger/revenue",
        "/api/admin/providers",
        "/api/admin/audit",
    ] {
        app.get(path, &token).await.expect_error(403, "FORBIDDEN");
    }
    app.post(
        &format!("/api/admin/wallets/{}/adjustments", consumer.id),
        &token,
        &json!({ "type": "credit", "amount": "5.00", "reason": "from a daemon" }),
    )
    .await
    .expect_error(403, "FORBIDDEN");
    app.post("/api/auth/api-keys", &token, &json!({ "name": "daemon" }))
        .await
        .expect_error(403, "FORBIDDEN");
    app.get("/api/platform/tenants", &token)
        .await
        .expect_error(401, "INVALID_TOKEN");
    app.get("/api/billing/wallet", &token).await.expect(200);
    app.get("/api/admin/ledger/verify", &admin.auth())
        .await
        .expect(200);
    let credited = app
        .get("/api/billing/wallet", &consumer.auth())
        .await
        .expect(200);
    assert_eq!(credited.body["balance"], "0.00");
    assert_eq!(
        credentials(&app, &admin).await,
        before,
        "nothing was minted"
    );
}

/// Mints an API key with `user`'s login token.
async fn mint_key(app: &TestApp, user: &TestUser) -> Auth {
    let made = app
        .post(
            "/api/auth/api-keys",
            &user.auth(),
            &json!({ "name": "mine" }),
        )
        .await
        .expect(201);
    let key = Auth::api_key(made.body["key"].as_str().expect("key"));
    match &user.tenant {
        Some(slug) => key.tenant(slug),
        None => key,
    }
}

/// Documented: an API key acts with its owner's full role, so an admin's key is an admin (it
/// is a credential the admin made with their login, kept off daemons' machines).
#[tokio::test]
async fn an_api_key_minted_by_an_admin_does_admin_work() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let provider = app.signup().await;
    let agent = app
        .create_agent(&provider, &unique_slug("pending"), json!({}))
        .await;
    app.publish(&provider, &agent, json!({})).await.expect(200);
    let key = mint_key(&app, &admin).await;

    // Act
    let listed = app
        .get("/api/admin/providers?status=pending_review", &key)
        .await;
    let approved = app
        .post_empty(&format!("/api/admin/providers/{agent}/approve"), &key)
        .await;
    let credited = app
        .post(
            &format!("/api/admin/wallets/{}/adjustments", provider.id),
            &key,
            &json!({ "type": "credit", "amount": "3.00", "reason": "Goodwill" }),
        )
        .await;
    let platform = app.get("/api/platform/tenants", &key).await;

    // Assert
    assert!(listed.expect(200).text.contains(&agent));
    approved.expect(200);
    credited.expect(200);
    let shown = app
        .get(&format!("/api/agents/{agent}"), &provider.auth())
        .await
        .expect(200);
    assert_eq!(shown.body["status"], "active");
    let wallet = app
        .get("/api/billing/wallet", &provider.auth())
        .await
        .expect(200);
    assert_eq!(wallet.body["balance"], "3.00");
    let audit = app.get("/api/admin/audit", &admin.auth()).await.expect(200);
    assert_eq!(audit.body["total"], 2, "both admin acts are audited");
    // Still a tenant credential: the platform API stays out of reach.
    platform.expect_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn an_api_key_minted_by_a_consumer_cannot_do_admin_work() {
    // Arrange
    let app = spawn_app().await;
    let consumer = app.signup().await;
    let key = mint_key(&app, &consumer).await;
    let before = app.audit_count().await;

    // Act and assert
    for path in [
        "/api/admin/providers",
        "/api/admin/audit",
        "/api/admin/ledger/verify",
        "/api/admin/ledger/revenue",
    ] {
        app.get(path, &key).await.expect_error(403, "FORBIDDEN");
    }
    app.post(
        &format!("/api/admin/wallets/{}/adjustments", consumer.id),
        &key,
        &json!({ "type": "credit", "amount": "5.00", "reason": "to myself" }),
    )
    .await
    .expect_error(403, "FORBIDDEN");
    let wallet = app.get("/api/billing/wallet", &key).await.expect(200);
    assert_eq!(wallet.body["balance"], "0.00");
    assert_eq!(app.audit_count().await, before);
}

#[tokio::test]
async fn revoking_an_agent_token_leaves_no_working_credential_behind() {
    // Arrange: the token tries every way to mint a credential while it is live.
    let app = spawn_app().await;
    let owner = app.signup().await;
    let own = app
        .create_agent(&owner, &unique_slug("own"), json!({}))
        .await;
    let sibling = app
        .create_agent(&owner, &unique_slug("sibling"), json!({}))
        .await;
    let token = Auth::bearer(&app.agent_token(&owner, &own).await);
    let key_id = key_id_of(&app, &owner).await;
    let (keys_before, _) = credentials(&app, &owner).await;
    for (method, path) in minting_calls(&own, &sibling, &key_id) {
        let reply = read(
            app.request(method, &path, &token)
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 403, "{path}: {}", reply.text);
    }

    // Act
    app.delete(&format!("/api/agents/{own}/token"), &owner.auth())
        .await
        .expect(200);

    // Assert: the token is dead, and the owner holds exactly the credentials they held before
    // the token existed (no key, no agent token was added).
    for path in [
        "/api/agents/me/agent",
        "/api/billing/wallet",
        "/api/auth/me",
    ] {
        app.get(path, &token)
            .await
            .expect_error(401, "INVALID_TOKEN");
    }
    let (keys_after, tokens_after) = credentials(&app, &owner).await;
    assert_eq!(keys_after, keys_before, "no API key was minted");
    assert!(
        tokens_after.iter().all(|(_, hash)| hash.is_none()),
        "no agent of the owner holds a token: {tokens_after:?}"
    );
}

/// Every `/api/admin/*` operation the served document lists, with its parameters filled in.
fn admin_operations(
    document: &serde_json::Value,
    agent: &str,
    user: &str,
) -> Vec<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    let mut found = Vec::new();
    for (template, item) in paths.iter().filter(|(t, _)| t.starts_with("/api/admin/")) {
        let path = template
            .replace("{agentId}", agent)
            .replace("{userId}", user)
            .replace("{sessionId}", &uuid::Uuid::now_v7().to_string());
        assert!(
            !path.contains('{'),
            "a parameter this test does not fill: {template}"
        );
        for method in item.as_object().expect("path item").keys() {
            found.push((method.to_uppercase(), path.clone()));
        }
    }
    found
}

#[tokio::test]
async fn an_admins_agent_token_is_refused_on_every_admin_operation_of_the_document() {
    // Arrange: a pending agent to review and a consumer to credit, and the admin's agent token.
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let provider = app.signup().await;
    let pending = app
        .create_agent(&provider, &unique_slug("pending"), json!({}))
        .await;
    app.publish(&provider, &pending, json!({}))
        .await
        .expect(200);
    let own = app
        .create_agent(&admin, &unique_slug("admin-agent"), json!({}))
        .await;
    let token = Auth::bearer(&app.agent_token(&admin, &own).await);
    let document = app
        .get("/api/openapi.json", &Auth::none())
        .await
        .expect(200)
        .body;
    let calls = admin_operations(&document, &pending, &provider.id);
    let audit = "SELECT count(*) FROM admin_audit";
    let postings = "SELECT count(*) FROM ledger_postings";
    let before = (app.count(audit).await, app.count(postings).await);

    // Act
    let mut refused = Vec::new();
    for (method, path) in &calls {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let body = json!({ "type": "credit", "amount": "5.00", "reason": "from a daemon" });
        let reply = read(
            app.request(method.clone(), path, &token)
                .json(&body)
                .send()
                .await
                .expect("request"),
        )
        .await;
        refused.push((format!("{method} {path}"), reply));
    }

    // Assert
    println!("{} admin operations refused", refused.len());
    assert!(refused.len() >= 10, "admin operations found: {calls:?}");
    for (call, reply) in refused {
        assert_eq!(
            (reply.status.as_u16(), reply.body["error"].as_str()),
            (403, Some("FORBIDDEN")),
            "{call}: {}",
            reply.text
        );
    }
    assert_eq!(
        (app.count(audit).await, app.count(postings).await),
        before,
        "nothing was reviewed, credited or audited"
    );
    let shown = app
        .get(&format!("/api/agents/{pending}"), &provider.auth())
        .await
        .expect(200);
    assert_eq!(shown.body["status"], "pending_review");
}
