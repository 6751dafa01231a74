//! Who may call what: every agent, admin-review, marketplace and favourite endpoint, called by
//! every kind of principal, as one table per area. Each row gets a fresh target agent in the
//! state the endpoint needs; a refused call must leave the database exactly as it was and must
//! not reveal anything about the agent.

use crate::helpers::*;
use crate::principal_table::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Owner-scoped agent endpoints: the owner (any credential) only; everyone else 404 or 401.
const OWNER_ONLY: [Expect; 9] = [
    ANON, OK, OK, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, BAD_TOKEN, NOT_FOUND,
];
/// Admin review decisions: the tenant admin only.
const ADMIN_ONLY: [Expect; 9] = [
    ANON, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, BAD_TOKEN, NOT_FOUND,
];

/// The state the target agent is put in before the call.
#[derive(Clone, Copy, Debug)]
enum State {
    Draft,
    Pending,
    Listed,
    /// Listed, and holding a (simulated) `/ws/agent` connection.
    Connected,
    Suspended,
    /// Listed, and a favourite of its owner.
    Favorited,
}

struct Row {
    method: Method,
    /// `{id}` and `{slug}` are the target's.
    path: &'static str,
    body: Option<fn() -> Value>,
    state: State,
    /// A successful call changes the database (else it must not).
    writes: bool,
    /// A successful call's body shows the target's id.
    shows_target: bool,
    /// In the order of [`PRINCIPALS`].
    expect: [Expect; 9],
}

fn row(method: Method, path: &'static str, state: State, expect: [Expect; 9]) -> Row {
    let writes = method != Method::GET;
    Row {
        method,
        path,
        body: None,
        state,
        writes,
        shows_target: true,
        expect,
    }
}

impl Row {
    fn body(mut self, body: fn() -> Value) -> Self {
        self.body = Some(body);
        self
    }
}

struct World {
    app: TestApp,
    tenant: uuid::Uuid,
    owner: TestUser,
    other: TestUser,
    admin: TestUser,
    foreign: TestUser,
    foreign_admin: TestUser,
}

async fn world() -> World {
    let app = spawn_app().await;
    let tenant = app.tenant_id("default").await;
    let owner = app.signup().await;
    let other = app.signup().await;
    let admin = app.default_admin().await;
    let slug = app.create_tenant("foreign").await;
    let foreign = app.signup_in(Some(&slug)).await;
    let foreign_admin = app.admin_in(&slug).await;
    World {
        app,
        tenant,
        owner,
        other,
        admin,
        foreign,
        foreign_admin,
    }
}

/// A fresh agent of the owner, with an agent token, in `state`.
struct Target {
    id: String,
    slug: String,
    name: String,
    description: String,
    token: String,
}

async fn fixture(w: &World, state: State) -> Target {
    let app = &w.app;
    let slug = unique_slug("authz");
    let name = format!("Secret agent {}", uuid::Uuid::now_v7().simple());
    let description = format!("Private description {}", uuid::Uuid::now_v7().simple());
    let id = app
        .create_agent(
            &w.owner,
            &slug,
            json!({ "name": name, "description": description }),
        )
        .await;
    let token = app.agent_token(&w.owner, &id).await;
    let publish_and_approve = || async {
        app.publish(&w.owner, &id, json!({})).await.expect(200);
        app.review(&w.admin, &id, "approve", None).await.expect(200);
    };
    match state {
        State::Draft => {}
        State::Pending => {
            app.publish(&w.owner, &id, json!({})).await.expect(200);
        }
        State::Listed => publish_and_approve().await,
        State::Connected => {
            publish_and_approve().await;
            app.set_connected(w.tenant, &id, true).await;
        }
        State::Suspended => {
            publish_and_approve().await;
            app.review(&w.admin, &id, "suspend", Some("paused"))
                .await
                .expect(200);
        }
        State::Favorited => {
            publish_and_approve().await;
            app.post_empty(&format!("/api/favorites/{id}"), &w.owner.auth())
                .await
                .expect(200);
        }
    }
    Target {
        id,
        slug,
        name,
        description,
        token,
    }
}

fn auth(w: &World, who: Who, target: &Target) -> Auth {
    match who {
        Who::Anonymous => Auth::none(),
        Who::Owner => w.owner.auth(),
        Who::OwnerApiKey => Auth::api_key(&w.owner.api_key),
        Who::AgentToken => Auth::bearer(&target.token),
        Who::OtherUser => w.other.auth(),
        Who::Admin => w.admin.auth(),
        Who::ForeignUser => w.foreign.auth(),
        Who::ForeignTokenHere => Auth::bearer(&w.foreign.token),
        Who::ForeignAdmin => w.foreign_admin.auth(),
    }
}

/// Everything a call could change about the target (and the global counts), as one JSON text.
async fn snapshot(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar(
        "SELECT json_build_object(
            'agent', (SELECT row_to_json(a) FROM agents a WHERE a.id = $1::uuid),
            'profile', (SELECT row_to_json(p) FROM provider_profiles p WHERE p.agent_id = $1::uuid),
            'listing', (SELECT row_to_json(l) FROM listings l WHERE l.agent_id = $1::uuid),
            'favorites', (SELECT json_agg(f ORDER BY f.user_id) FROM favorites f WHERE f.agent_id = $1::uuid),
            'agents', (SELECT count(*) FROM agents),
            'profiles', (SELECT count(*) FROM provider_profiles),
            'audit', (SELECT count(*) FROM admin_audit),
            'listed', (SELECT json_agg(c ORDER BY c.tenant_id) FROM listing_counts c)
        )::text",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .expect("snapshot")
}

/// Keys that belong to an agent and must never appear in a refusal.
const AGENT_KEYS: [&str; 6] = [
    "slug",
    "ownerId",
    "providerProfile",
    "agentTokenPrefix",
    "token",
    "name",
];

fn has_key(value: &Value, key: &str) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(k, v)| k == key || has_key(v, key)),
        Value::Array(items) => items.iter().any(|v| has_key(v, key)),
        _ => false,
    }
}

/// What the body must not contain: anything about the target the caller did not send.
fn leaks(w: &World, target: &Target, path: &str, reply: &Reply) -> Vec<String> {
    let mut markers = vec![
        ("name", target.name.as_str()),
        ("description", target.description.as_str()),
        ("owner id", w.owner.id.as_str()),
        ("owner email", w.owner.email.as_str()),
        ("agent token", target.token.as_str()),
    ];
    if !path.contains(&target.id) {
        markers.push(("id", target.id.as_str()));
    }
    if !path.contains(&target.slug) {
        markers.push(("slug", target.slug.as_str()));
    }
    markers
        .into_iter()
        .filter(|(_, marker)| reply.text.contains(marker))
        .map(|(what, _)| format!("the body reveals the agent's {what}: {}", reply.text))
        .collect()
}

/// One executed call and the database around it.
struct Call<'a> {
    target: &'a Target,
    path: &'a str,
    reply: &'a Reply,
    before: &'a str,
    after: &'a str,
}

fn check(w: &World, row: &Row, expect: Expect, call: &Call<'_>) -> Vec<String> {
    let Call {
        target,
        path,
        reply,
        before,
        after,
    } = *call;
    let status = match expect {
        Expect::Allowed(s) | Expect::Blind(s) | Expect::Denied(s, _) => s,
    };
    if reply.status.as_u16() != status {
        return vec![format!(
            "expected {status}, got {}: {}",
            reply.status.as_u16(),
            reply.text
        )];
    }
    let mut problems = Vec::new();
    let unchanged = before == after;
    match expect {
        Expect::Allowed(_) => {
            if row.shows_target && !reply.text.contains(&target.id) {
                problems.push(format!("the body does not show the agent: {}", reply.text));
            }
            if row.writes && unchanged {
                problems.push("the allowed write changed nothing".to_owned());
            }
            if !row.writes && !unchanged {
                problems.push(format!("a read changed data:\n  {before}\n  {after}"));
            }
        }
        Expect::Blind(_) => {
            problems.extend(leaks(w, target, path, reply));
            if !unchanged {
                problems.push(format!("data changed:\n  {before}\n  {after}"));
            }
        }
        Expect::Denied(_, code) => {
            if reply.body["error"] != code {
                problems.push(format!("expected error {code}: {}", reply.text));
            }
            let envelope_only = reply.body.as_object().is_some_and(|map| {
                map.keys()
                    .all(|k| ["error", "message", "details"].contains(&k.as_str()))
            });
            if !envelope_only {
                problems.push(format!(
                    "the body is not just the error envelope: {}",
                    reply.text
                ));
            }
            for key in AGENT_KEYS {
                if has_key(&reply.body, key) {
                    problems.push(format!("the refusal contains `{key}`: {}", reply.text));
                }
            }
            problems.extend(leaks(w, target, path, reply));
            if !unchanged {
                problems.push(format!(
                    "a refused call changed data:\n  {before}\n  {after}"
                ));
            }
        }
    }
    problems
}

/// Runs every row for every principal, each on a fresh target, and reports all failures at once.
async fn run(w: &World, rows: &[Row]) {
    let mut failures = Vec::new();
    let mut calls = 0;
    for row in rows {
        for (who, expect) in PRINCIPALS.into_iter().zip(row.expect) {
            // Arrange
            let target = fixture(w, row.state).await;
            let path = row
                .path
                .replace("{id}", &target.id)
                .replace("{slug}", &target.slug);
            let before = snapshot(&w.app, &target.id).await;

            // Act
            let mut request = w
                .app
                .request(row.method.clone(), &path, &auth(w, who, &target));
            if let Some(body) = row.body {
                request = request.json(&body());
            }
            let reply = read(request.send().await.expect("request")).await;

            // Assert
            let after = snapshot(&w.app, &target.id).await;
            calls += 1;
            let call = Call {
                target: &target,
                path: &path,
                reply: &reply,
                before: &before,
                after: &after,
            };
            for problem in check(w, row, expect, &call) {
                failures.push(format!(
                    "{} {} as {who:?} (expected {expect:?}): {problem}",
                    row.method, row.path
                ));
            }
        }
    }
    assert_eq!(
        calls,
        rows.len() * PRINCIPALS.len(),
        "every row ran for every principal"
    );
    assert!(
        failures.is_empty(),
        "{} of {calls} authorization checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn new_agent_body() -> Value {
    json!({
        "name": "Created by the caller",
        "slug": unique_slug("created"),
        "description": "An agent the caller registers for itself",
    })
}

#[tokio::test]
async fn agent_endpoints_serve_only_the_owner_and_refuse_everyone_else_without_changes() {
    let w = world().await;
    let mut create = row(
        Method::POST,
        "/api/agents",
        State::Draft,
        [
            ANON, CREATED, CREATED, CREATED, CREATED, CREATED, CREATED, BAD_TOKEN, CREATED,
        ],
    )
    .body(new_agent_body);
    create.shows_target = false;
    let rows = vec![
        create,
        row(
            Method::GET,
            "/api/agents/my?limit=100",
            State::Draft,
            [ANON, OK, OK, OK, BLIND, BLIND, BLIND, BAD_TOKEN, BLIND],
        ),
        row(
            Method::GET,
            "/api/agents/me/agent",
            State::Draft,
            [
                ANON, BAD_TOKEN, BAD_TOKEN, OK, BAD_TOKEN, BAD_TOKEN, BAD_TOKEN, BAD_TOKEN,
                BAD_TOKEN,
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
                NOT_FOUND,
            ],
        ),
        row(
            Method::DELETE,
            "/api/agents/{id}/token",
            State::Draft,
            [
                ANON, OK, OK, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND, BAD_TOKEN, NOT_FOUND,
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
    ];
    run(&w, &rows).await;
}

#[tokio::test]
async fn admin_endpoints_serve_only_the_tenant_admin_and_refused_calls_write_no_audit() {
    let w = world().await;
    let rows = vec![
        row(
            Method::GET,
            "/api/admin/providers?status=pending_review&limit=100",
            State::Pending,
            [
                ANON, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, BAD_TOKEN, BLIND,
            ],
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
                NOT_FOUND,
            ],
        ),
        row(
            Method::GET,
            "/api/admin/audit?limit=100",
            State::Listed,
            [
                ANON, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, BAD_TOKEN, BLIND,
            ],
        ),
    ];
    run(&w, &rows).await;
}

#[tokio::test]
async fn marketplace_and_favorites_are_tenant_scoped_and_need_a_credential() {
    let w = world().await;
    let rows = vec![
        row(
            Method::GET,
            "/api/marketplace/browse?limit=100",
            State::Listed,
            [ANON, OK, OK, OK, OK, OK, BLIND, BAD_TOKEN, BLIND],
        ),
        row(
            Method::GET,
            "/api/marketplace/agents/{slug}",
            State::Listed,
            [ANON, OK, OK, OK, OK, OK, NOT_FOUND, BAD_TOKEN, NOT_FOUND],
        ),
        row(
            Method::POST,
            "/api/favorites/{id}",
            State::Listed,
            [ANON, OK, OK, OK, OK, OK, NOT_FOUND, BAD_TOKEN, NOT_FOUND],
        ),
        // Removing someone else's favourite is a no-op (each user has their own list).
        row(
            Method::DELETE,
            "/api/favorites/{id}",
            State::Favorited,
            [ANON, OK, OK, OK, BLIND, BLIND, BLIND, BAD_TOKEN, BLIND],
        ),
        row(
            Method::GET,
            "/api/favorites?limit=100",
            State::Favorited,
            [ANON, OK, OK, OK, BLIND, BLIND, BLIND, BAD_TOKEN, BLIND],
        ),
    ];
    run(&w, &rows).await;
}

async fn token_prefix(app: &TestApp, id: &str) -> Option<String> {
    sqlx::query_scalar("SELECT token_prefix FROM agents WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("agent row")
}

#[tokio::test]
async fn a_refused_token_call_keeps_the_working_token_and_its_prefix() {
    // Arrange: the table checks the whole row; this states the token case explicitly.
    let w = world().await;
    let target = fixture(&w, State::Draft).await;
    let path = format!("/api/agents/{}/token", target.id);
    let before = token_prefix(&w.app, &target.id).await;

    // Act
    let issued = w.app.post_empty(&path, &w.other.auth()).await;
    let revoked = w.app.delete(&path, &w.foreign.auth()).await;
    let revoked_here = w.app.delete(&path, &Auth::bearer(&w.foreign.token)).await;

    // Assert
    issued.expect_error(404, "NOT_FOUND");
    revoked.expect_error(404, "NOT_FOUND");
    revoked_here.expect_error(401, "INVALID_TOKEN");
    assert!(before.is_some());
    assert_eq!(token_prefix(&w.app, &target.id).await, before);
    let me = w
        .app
        .get("/api/agents/me/agent", &Auth::bearer(&target.token))
        .await
        .expect(200);
    assert_eq!(
        me.body["id"],
        target.id.as_str(),
        "the owner's token still works"
    );
}

#[tokio::test]
async fn a_refused_review_leaves_the_status_and_the_audit_log_as_they_were() {
    // Arrange
    let w = world().await;
    let target = fixture(&w, State::Pending).await;
    let audited = w
        .app
        .get("/api/admin/audit", &w.admin.auth())
        .await
        .expect(200)
        .body["total"]
        .clone();
    let refusals = [
        ("owner", w.owner.auth(), 403),
        ("agent token", Auth::bearer(&target.token), 403),
        ("other user", w.other.auth(), 403),
        ("foreign admin", w.foreign_admin.auth(), 404),
    ];

    for (why, auth, status) in refusals {
        // Act
        let reply = w
            .app
            .post_empty(
                &format!("/api/admin/providers/{}/approve", target.id),
                &auth,
            )
            .await;

        // Assert
        assert_eq!(reply.status.as_u16(), status, "{why}: {}", reply.text);
        let shown = w
            .app
            .get(&format!("/api/agents/{}", target.id), &w.owner.auth())
            .await
            .expect(200)
            .body;
        assert_eq!(shown["status"], "pending_review", "{why}");
        let now = w
            .app
            .get("/api/admin/audit", &w.admin.auth())
            .await
            .expect(200)
            .body["total"]
            .clone();
        assert_eq!(now, audited, "{why}: no audit record");
    }
}

/// An agent token acts as its owner on user-level endpoints, but never carries the owner's
/// admin powers: it runs on a daemon's machine.
#[tokio::test]
async fn an_admins_agent_token_cannot_do_admin_work() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let agent = app
        .create_agent(&admin, &unique_slug("admin-agent"), json!({}))
        .await;
    let token = Auth::bearer(&app.agent_token(&admin, &agent).await);
    let consumer = app.signup().await;

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
    app.get("/api/billing/wallet", &token).await.expect(200);
    app.get("/api/admin/ledger/verify", &admin.auth())
        .await
        .expect(200);
    let credited = app
        .get("/api/billing/wallet", &consumer.auth())
        .await
        .expect(200);
    assert_eq!(credited.body["balance"], "0.00");
}
