//! The matrix for tables whose target is not an agent (`accounts`, `open`, `platform`): the
//! target is the owner's account, a fresh API key of the owner, a fresh email address or a fresh
//! marketplace. Each (row, principal) call gets its own fixture, made a few at a time row by row;
//! a write's calls run one by one between two database snapshots, a read's all at once.

use super::world::World;
use crate::helpers::*;
use crate::principal_table::*;
use futures_util::StreamExt as _;
use reqwest::Method;
use serde_json::{Value, json};

/// What is made for one call.
#[derive(Clone, Copy, Debug)]
pub enum Fixture {
    /// Nothing beyond the world: the target is the owner's account.
    Nothing,
    /// A fresh API key of the owner (`{id}` in the path).
    OwnerKey,
    /// A fresh email address, never sent a code.
    FreshEmail,
    /// A fresh email address with a verification code mailed in the default marketplace.
    VerifiedEmail,
    /// A fresh marketplace made by the operator (`{slug}` in the path).
    Tenant,
}

/// The fixture's facts; empty strings where the fixture does not make them.
#[derive(Default)]
pub struct Target {
    pub key_id: String,
    pub key: String,
    pub email: String,
    pub code: String,
    pub tenant_id: String,
    pub tenant_slug: String,
    pub tenant_name: String,
}

type Shows = fn(&World, &Target) -> Option<String>;

pub struct Row {
    pub method: Method,
    /// The path as called; `{id}` is the target key's id, `{slug}` the target tenant's slug.
    pub path: &'static str,
    pub fixture: Fixture,
    pub body: Option<fn(&World, &Target) -> Value>,
    /// What an allowed reply must contain.
    pub shows: Shows,
    /// A successful call changes the database (else it must not).
    pub writes: bool,
    /// In the order of [`PRINCIPALS`].
    pub expect: [Expect; N],
}

impl Row {
    pub fn new(method: Method, path: &'static str, fixture: Fixture, expect: [Expect; N]) -> Self {
        Self {
            writes: method != Method::GET,
            method,
            path,
            fixture,
            body: None,
            shows: |_, _| None,
            expect,
        }
    }
    pub fn body(mut self, body: fn(&World, &Target) -> Value) -> Self {
        self.body = Some(body);
        self
    }
    pub fn shows(mut self, shows: Shows) -> Self {
        self.shows = shows;
        self
    }
    pub fn writes(mut self, writes: bool) -> Self {
        self.writes = writes;
        self
    }
}

pub fn covered(rows: &[Row]) -> Vec<Operation> {
    rows.iter()
        .map(|r| Operation {
            method: r.method.clone(),
            path: r.path,
            expect: r.expect,
        })
        .collect()
}

async fn fixture(w: &World, kind: Fixture) -> Target {
    let app = &w.app;
    match kind {
        Fixture::Nothing => Target::default(),
        Fixture::OwnerKey => {
            let name = format!("key {}", uuid::Uuid::now_v7().simple());
            let made = app
                .post(
                    "/api/auth/api-keys",
                    &w.owner.auth(),
                    &json!({ "name": name }),
                )
                .await
                .expect(201);
            Target {
                key_id: made.body["id"].as_str().expect("key id").to_owned(),
                key: made.body["key"].as_str().expect("key").to_owned(),
                ..Target::default()
            }
        }
        Fixture::FreshEmail => Target {
            email: unique_email("fresh"),
            ..Target::default()
        },
        Fixture::VerifiedEmail => {
            let email = unique_email("verified");
            app.send_verification(&email, &Auth::none())
                .await
                .expect(200);
            let code = smtp().latest_code(&email).await;
            Target {
                email,
                code,
                ..Target::default()
            }
        }
        Fixture::Tenant => {
            let slug = unique_slug("target");
            let name = format!("Hidden market {}", uuid::Uuid::now_v7().simple());
            let made = app
                .post(
                    "/api/platform/tenants",
                    &Auth::operator(),
                    &json!({ "slug": slug, "name": name }),
                )
                .await
                .expect(201);
            Target {
                tenant_id: made.body["id"].as_str().expect("tenant id").to_owned(),
                tenant_slug: slug,
                tenant_name: name,
                ..Target::default()
            }
        }
    }
}

/// The owner's account and the target, then every count a call could change, as JSON texts.
async fn snapshot(w: &World, target: &Target) -> (String, String) {
    let mine: String = sqlx::query_scalar(
        "SELECT json_build_object(
            'owner', (SELECT row_to_json(u) FROM users u WHERE u.id = $1::uuid),
            'keys', (SELECT json_agg(json_build_object('id', k.id, 'name', k.name,
                        'revoked', k.revoked_at) ORDER BY k.id)
                     FROM api_keys k WHERE k.user_id = $1::uuid),
            'tokens', (SELECT json_agg(json_build_object('id', a.id,
                        'token', encode(a.token_hash, 'hex')) ORDER BY a.id)
                       FROM agents a WHERE a.owner_id = $1::uuid),
            'tenant', (SELECT row_to_json(t) FROM tenants t WHERE t.slug = $2),
            'tenant_users', (SELECT json_agg(u.id ORDER BY u.id)
                             FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.slug = $2),
            'codes', (SELECT json_agg(row_to_json(v) ORDER BY v.tenant_id)
                      FROM email_verifications v WHERE v.email = $3),
            'accounts', (SELECT json_agg(u.id ORDER BY u.id) FROM users u WHERE u.email = $3)
        )::text",
    )
    .bind(&w.owner.id)
    .bind(&target.tenant_slug)
    .bind(&target.email)
    .fetch_one(&w.app.db)
    .await
    .expect("target snapshot");
    let counts: String = sqlx::query_scalar(
        "SELECT json_build_object(
            'tenants', (SELECT count(*) FROM tenants),
            'hostnames', (SELECT count(*) FROM tenant_hostnames),
            'users', (SELECT count(*) FROM users),
            'admins', (SELECT count(*) FROM users WHERE role = 'admin'),
            'keys', (SELECT count(*) FROM api_keys),
            'revoked', (SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL),
            'codes', (SELECT count(*) FROM email_verifications),
            'tokens', (SELECT count(*) FROM agents WHERE token_hash IS NOT NULL),
            'audit', (SELECT count(*) FROM admin_audit)
        )::text",
    )
    .fetch_one(&w.app.db)
    .await
    .expect("count snapshot");
    let all = format!("{mine} {counts}");
    (mine, all)
}

/// What no refusal and no reply about the caller's own data may contain.
fn secrets<'a>(w: &'a World, target: &'a Target, path: &str) -> Vec<(&'static str, &'a str)> {
    let key_prefix = target.key.get(..12).unwrap_or_default();
    [
        ("owner's id", w.owner.id.as_str()),
        ("owner's email", w.owner.email.as_str()),
        ("owner's API key", w.owner.api_key.as_str()),
        ("owner's agent token", w.owner_agent_token.as_str()),
        ("key id", target.key_id.as_str()),
        ("key prefix", key_prefix),
        ("email", target.email.as_str()),
        ("tenant id", target.tenant_id.as_str()),
        ("tenant slug", target.tenant_slug.as_str()),
        ("tenant name", target.tenant_name.as_str()),
    ]
    .into_iter()
    .filter(|(_, s)| !s.is_empty() && !path.contains(s))
    .collect()
}

/// One executed call: its reply and the snapshots (target part, everything) around it.
pub struct Seen<'a> {
    pub reply: &'a Reply,
    pub before: &'a (String, String),
    pub after: &'a (String, String),
}

/// The verdict on one call; empty when it behaved as expected.
pub fn judge(
    expect: Expect,
    writes: bool,
    shows: Option<&str>,
    secrets: &[(&str, &str)],
    seen: &Seen<'_>,
) -> Vec<String> {
    let reply = seen.reply;
    let status = expect.status();
    if reply.status.as_u16() != status {
        return vec![format!(
            "expected {status}, got {}: {}",
            reply.status.as_u16(),
            reply.text
        )];
    }
    let target_unchanged = seen.before.0 == seen.after.0;
    let all_unchanged = seen.before.1 == seen.after.1;
    let leaks = || {
        secrets
            .iter()
            .filter(|(_, s)| reply.text.contains(s))
            .map(|(what, _)| format!("the reply reveals the {what}: {}", reply.text))
    };
    let mut problems = Vec::new();
    if !writes && !all_unchanged {
        problems.push(format!(
            "a read changed data:\n  {}\n  {}",
            seen.before.1, seen.after.1
        ));
    }
    match expect {
        Expect::Allowed(_) => {
            if let Some(marker) = shows
                && !reply.text.contains(marker)
            {
                problems.push(format!("the reply does not show {marker}: {}", reply.text));
            }
            if writes && all_unchanged {
                problems.push("the allowed write changed nothing".to_owned());
            }
        }
        Expect::Blind(_) => {
            problems.extend(leaks());
            if !target_unchanged {
                problems.push(format!(
                    "the target changed:\n  {}\n  {}",
                    seen.before.0, seen.after.0
                ));
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
                problems.push(format!("not just the error envelope: {}", reply.text));
            }
            problems.extend(leaks());
            if !all_unchanged {
                problems.push(format!(
                    "a refused call changed data:\n  {}\n  {}",
                    seen.before.1, seen.after.1
                ));
            }
        }
    }
    problems
}

const FIXTURES_AT_ONCE: usize = 4;

/// One call of `row` by `who` on `target`: the path called and the reply.
async fn call(w: &World, row: &Row, who: Who, target: &Target) -> (String, Reply) {
    let path = row
        .path
        .replace("{id}", &target.key_id)
        .replace("{slug}", &target.tenant_slug);
    let auth = w.auth(who, &w.owner_agent_token);
    let mut request = w.app.request(row.method.clone(), &path, &auth);
    if let Some(body) = row.body {
        request = request.json(&body(w, target));
    }
    let reply = read(request.send().await.expect("request")).await;
    (path, reply)
}

/// Runs every row for every principal and reports all failures at once. A row that writes
/// runs its calls one by one, each between two snapshots; a read runs them all at once (none
/// may write, so every snapshot after them must equal the one before).
pub async fn run(w: &World, rows: &[Row]) {
    let started = std::time::Instant::now();
    let mut arranged = std::time::Duration::ZERO;
    let mut failures = Vec::new();
    for row in rows {
        // Arrange: this row's targets (so that a list row sees its target among the newest).
        let making = std::time::Instant::now();
        let targets: Vec<Target> = futures_util::stream::iter(PRINCIPALS)
            .map(|_| fixture(w, row.fixture))
            .buffered(FIXTURES_AT_ONCE)
            .collect()
            .await;
        arranged += making.elapsed();
        let (mut before, mut replies, mut after) = (Vec::new(), Vec::new(), Vec::new());

        // Act
        if row.writes {
            for (who, target) in PRINCIPALS.into_iter().zip(&targets) {
                before.push(snapshot(w, target).await);
                replies.push(call(w, row, who, target).await);
                after.push(snapshot(w, target).await);
            }
        } else {
            for target in &targets {
                before.push(snapshot(w, target).await);
            }
            let calls = PRINCIPALS
                .into_iter()
                .zip(&targets)
                .map(|(who, target)| call(w, row, who, target));
            replies = futures_util::future::join_all(calls).await;
            for target in &targets {
                after.push(snapshot(w, target).await);
            }
        }

        // Assert
        for (i, (who, expect)) in PRINCIPALS.into_iter().zip(row.expect).enumerate() {
            let (path, reply) = &replies[i];
            let shows = (row.shows)(w, &targets[i]);
            let seen = Seen {
                reply,
                before: &before[i],
                after: &after[i],
            };
            let secrets = secrets(w, &targets[i], path);
            for problem in judge(expect, row.writes, shows.as_deref(), &secrets, &seen) {
                failures.push(format!(
                    "{} {} as {who:?} (expected {expect:?}): {problem}",
                    row.method, row.path
                ));
            }
        }
    }
    println!(
        "{} rows x {} principals: fixtures {arranged:?}, calls {:?}",
        rows.len(),
        PRINCIPALS.len(),
        started.elapsed() - arranged
    );
    assert!(
        failures.is_empty(),
        "{} of {} authorization checks failed:\n{}",
        failures.len(),
        rows.len() * PRINCIPALS.len(),
        failures.join("\n")
    );
}
