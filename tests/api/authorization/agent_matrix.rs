//! The agent-target matrix: each (row, principal) call gets a fresh agent of the owner in the
//! state the endpoint needs; a refused call must leave the database exactly as it was and must
//! not reveal anything about the agent. The tables that use it are `agents`, `admin_review` and
//! `marketplace`.

use super::world::World;
use crate::helpers::*;
use crate::principal_table::*;
use futures_util::StreamExt as _;
use reqwest::Method;
use serde_json::{Value, json};

/// Owner-scoped agent endpoints: the owner (any credential) only; everyone else 404 or 401.
pub const OWNER_ONLY: [Expect; N] = [
    ANON, OK, OK, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, BAD_TOKEN, NOT_FOUND, BAD_TOKEN,
];
/// Admin review decisions: the tenant admin only.
pub const ADMIN_ONLY: [Expect; N] = [
    ANON, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, BAD_TOKEN, NOT_FOUND,
    BAD_TOKEN,
];

/// The state the target agent is put in before the call.
#[derive(Clone, Copy, Debug)]
pub enum State {
    Draft,
    Pending,
    Listed,
    /// Listed, and holding a (simulated) `/ws/agent` connection.
    Connected,
    Suspended,
    /// Listed, and a favourite of its owner.
    Favorited,
}

pub struct Row {
    pub method: Method,
    /// `{id}` and `{slug}` are the target's.
    pub path: &'static str,
    pub body: Option<fn() -> Value>,
    pub state: State,
    /// A successful call changes the database (else it must not).
    pub writes: bool,
    /// A successful call's body shows the target's id.
    pub shows_target: bool,
    /// In the order of [`PRINCIPALS`].
    pub expect: [Expect; N],
}

pub fn row(method: Method, path: &'static str, state: State, expect: [Expect; N]) -> Row {
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
    pub fn body(mut self, body: fn() -> Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// A fresh agent of the owner, with an agent token, in `state`.
pub struct Target {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub token: String,
}

pub async fn fixture(w: &World, state: State) -> Target {
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
        // The presence key expires in real time: `run` sets it right before the call.
        State::Connected => publish_and_approve().await,
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

/// Everything a call could change about the target (and the global counts), as one JSON text.
async fn snapshot(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar(
        "SELECT json_build_object(
            'agent', (SELECT row_to_json(a) FROM agents a WHERE a.id = $1::uuid),
            'profile', (SELECT row_to_json(p) FROM provider_profiles p WHERE p.agent_id = $1::uuid),
            'revision', (SELECT row_to_json(r) FROM profile_revisions r WHERE r.agent_id = $1::uuid),
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

pub fn has_key(value: &Value, key: &str) -> bool {
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

fn check(row: &Row, expect: Expect, call: &Call<'_>, w: &World) -> Vec<String> {
    let Call {
        target,
        path,
        reply,
        before,
        after,
    } = *call;
    let status = expect.status();
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

/// Fixtures made at once: the app has one worker and a small pool.
const FIXTURES_AT_ONCE: usize = 4;

/// Runs every row for every principal, each on a fresh target, and reports all failures at once.
/// Each row's targets are made first, a few at a time; its calls then run one by one, so that each
/// before/after snapshot (which includes global counts) sees only its own call.
pub async fn run(w: &World, rows: &[Row]) {
    let started = std::time::Instant::now();
    let plan: Vec<(&Row, Who, Expect)> = rows
        .iter()
        .flat_map(|row| {
            PRINCIPALS
                .into_iter()
                .zip(row.expect)
                .map(move |(who, expect)| (row, who, expect))
        })
        .collect();
    // One row's targets at a time, so that a list row sees its target among the newest.
    let mut targets: Vec<Target> = Vec::with_capacity(plan.len());
    let mut arranged = std::time::Duration::ZERO;
    let mut failures = Vec::new();
    let mut calls = 0;
    for (i, (row, who, expect)) in plan.iter().enumerate() {
        if i % N == 0 {
            let making = std::time::Instant::now();
            targets = futures_util::stream::iter(&plan[i..i + N])
                .map(|(row, _, _)| fixture(w, row.state))
                .buffered(FIXTURES_AT_ONCE)
                .collect()
                .await;
            arranged += making.elapsed();
        }
        let target = &targets[i % N];
        let (row, who, expect) = (*row, *who, *expect);
        // Arrange
        let path = row
            .path
            .replace("{id}", &target.id)
            .replace("{slug}", &target.slug);
        if matches!(row.state, State::Connected) {
            w.app.set_connected(w.tenant, &target.id, true).await;
        }
        let before = snapshot(&w.app, &target.id).await;

        // Act
        let mut request = w
            .app
            .request(row.method.clone(), &path, &w.auth(who, &target.token));
        if let Some(body) = row.body {
            request = request.json(&body());
        }
        let reply = read(request.send().await.expect("request")).await;

        // Assert
        let after = snapshot(&w.app, &target.id).await;
        calls += 1;
        let call = Call {
            target,
            path: &path,
            reply: &reply,
            before: &before,
            after: &after,
        };
        for problem in check(row, expect, &call, w) {
            failures.push(format!(
                "{} {} as {who:?} (expected {expect:?}): {problem}",
                row.method, row.path
            ));
        }
    }
    println!(
        "{} rows x {} principals: fixtures {arranged:?}, calls {:?}",
        rows.len(),
        PRINCIPALS.len(),
        started.elapsed() - arranged
    );
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

/// The (method, path template) of every row, for the coverage test.
pub fn covered(rows: &[Row]) -> Vec<Operation> {
    rows.iter()
        .map(|r| Operation {
            method: r.method.clone(),
            path: r.path,
            expect: r.expect,
        })
        .collect()
}
