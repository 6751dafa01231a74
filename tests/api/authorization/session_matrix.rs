//! The session-target matrix: each (row, principal) call gets a fresh rentable agent and, unless
//! the row rents, a fresh session on it between the owner and a counterpart (the world's owner
//! on the side the row names, a dedicated user on the other), in the stage the endpoint needs
//! (`session_fixture`). A refused call must leave the sessions, holds, messages and wallets
//! exactly as they were and must not reveal anything of the session; an allowed call shows its
//! target. The table that uses it is `sessions`.

use super::session_fixture::{SessionWorld, Side, Stage, Target, fixture, snapshot};
use crate::helpers::*;
use crate::principal_table::*;
use futures_util::StreamExt as _;
use reqwest::Method;
use serde_json::Value;

/// A participant's session: the owner (any credential) and only them; everyone else 404 or 401.
pub const PARTICIPANT: [Expect; N] = [
    ANON, OK, OK, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, BAD_TOKEN, NOT_FOUND, BAD_TOKEN,
];
/// The owner's own sessions in a list: everyone else gets their own (empty of this session).
pub const OWN_LIST: [Expect; N] = [
    ANON, OK, OK, OK, BLIND, BLIND, BLIND, BAD_TOKEN, BLIND, BAD_TOKEN,
];

/// What an allowed reply must contain.
#[derive(Clone, Copy, Debug)]
pub enum Shows {
    Nothing,
    Agent,
    Session,
    /// The counterpart's message.
    Said,
}

pub struct Row {
    pub method: Method,
    /// `{id}` is the target session's id.
    pub path: &'static str,
    pub side: Side,
    pub stage: Stage,
    pub body: Option<fn(&Target) -> Value>,
    pub shows: Shows,
    /// In the order of [`PRINCIPALS`].
    pub expect: [Expect; N],
}

pub fn row(
    method: Method,
    path: &'static str,
    side: Side,
    stage: Stage,
    expect: [Expect; N],
) -> Row {
    Row {
        method,
        path,
        side,
        stage,
        body: None,
        shows: Shows::Session,
        expect,
    }
}

impl Row {
    pub fn body(mut self, body: fn(&Target) -> Value) -> Self {
        self.body = Some(body);
        self
    }
    pub fn shows(mut self, shows: Shows) -> Self {
        self.shows = shows;
        self
    }
    fn writes(&self) -> bool {
        self.method != Method::GET
    }
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

/// What a reply must not contain: anything of the session the caller did not send. A blind
/// reply (the caller's own list) may show user ids, since the caller may share sessions with
/// them; a refusal shows nothing at all.
fn leaks(
    sw: &SessionWorld,
    target: &Target,
    path: &str,
    denied: bool,
    reply: &Reply,
) -> Vec<String> {
    let mut markers = vec![
        ("session token", target.session_token.as_str()),
        ("task", target.task.as_str()),
        ("message", target.said.as_str()),
        ("agent token", target.agent_token.as_str()),
    ];
    for (what, id) in [("session id", &target.session), ("agent id", &target.agent)] {
        if !path.contains(id.as_str()) {
            markers.push((what, id.as_str()));
        }
    }
    if denied {
        markers.extend([
            ("owner id", sw.w.owner.id.as_str()),
            ("owner email", sw.w.owner.email.as_str()),
            ("counterpart id", sw.counterpart.id.as_str()),
        ]);
    }
    markers
        .into_iter()
        .filter(|(_, m)| !m.is_empty() && reply.text.contains(m))
        .map(|(what, _)| format!("the reply reveals the {what}: {}", reply.text))
        .collect()
}

/// One executed call: its path, reply and the snapshots (target, everything) around it.
struct Call<'a> {
    target: &'a Target,
    path: &'a str,
    reply: &'a Reply,
    before: &'a (String, String),
    after: &'a (String, String),
}

fn check(sw: &SessionWorld, row: &Row, expect: Expect, call: &Call<'_>) -> Vec<String> {
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
    let target_unchanged = before.0 == after.0;
    let all_unchanged = before.1 == after.1;
    let mut problems = Vec::new();
    if !row.writes() && !all_unchanged {
        problems.push(format!(
            "a read changed data:\n  {}\n  {}",
            before.1, after.1
        ));
    }
    match expect {
        Expect::Allowed(_) => {
            let shown = match row.shows {
                Shows::Nothing => None,
                Shows::Agent => Some(&target.agent),
                Shows::Session => Some(&target.session),
                Shows::Said => Some(&target.said),
            };
            if let Some(marker) = shown
                && (marker.is_empty() || !reply.text.contains(marker.as_str()))
            {
                problems.push(format!(
                    "the reply does not show {:?} ({marker}): {}",
                    row.shows, reply.text
                ));
            }
            if row.writes() && target_unchanged {
                problems.push("the allowed write did not change the target".to_owned());
            }
        }
        Expect::Blind(_) => {
            problems.extend(leaks(sw, target, path, false, reply));
            if !target_unchanged {
                problems.push(format!(
                    "the target changed:\n  {}\n  {}",
                    before.0, after.0
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
            problems.extend(leaks(sw, target, path, true, reply));
            if !all_unchanged {
                problems.push(format!(
                    "a refused call changed data:\n  {}\n  {}",
                    before.1, after.1
                ));
            }
        }
    }
    problems
}

/// Fixtures made at once: the app has one worker and a small pool.
const FIXTURES_AT_ONCE: usize = 4;

/// Runs every row for every principal, each on a fresh target, and reports all failures at once.
/// A row's targets are made first (so that a list row sees its target among the newest); its
/// calls then run one by one, each between two snapshots that include global counts.
pub async fn run(sw: &SessionWorld, rows: &[Row]) {
    let started = std::time::Instant::now();
    let mut arranged = std::time::Duration::ZERO;
    let mut failures = Vec::new();
    let mut calls = 0;
    for row in rows {
        // Arrange
        let making = std::time::Instant::now();
        let targets: Vec<Target> = futures_util::stream::iter(PRINCIPALS)
            .map(|_| fixture(sw, row.side, row.stage))
            .buffered(FIXTURES_AT_ONCE)
            .collect()
            .await;
        arranged += making.elapsed();

        for ((who, expect), target) in PRINCIPALS.into_iter().zip(row.expect).zip(&targets) {
            let path = row.path.replace("{id}", &target.session);
            let agent_token = match row.side {
                Side::Provider => &target.agent_token,
                Side::Consumer | Side::ProviderOtherAgent => &sw.w.owner_agent_token,
            };
            let before = snapshot(sw, target).await;

            // Act
            let auth = sw.w.auth(who, agent_token);
            let mut request = sw.w.app.request(row.method.clone(), &path, &auth);
            if let Some(body) = row.body {
                request = request.json(&body(target));
            }
            let reply = read(request.send().await.expect("request")).await;

            // Assert
            let after = snapshot(sw, target).await;
            calls += 1;
            let call = Call {
                target,
                path: &path,
                reply: &reply,
                before: &before,
                after: &after,
            };
            for problem in check(sw, row, expect, &call) {
                failures.push(format!(
                    "{} {} ({:?}, {:?}) as {who:?} (expected {expect:?}): {problem}",
                    row.method, row.path, row.side, row.stage
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
    assert_eq!(calls, rows.len() * N, "every row ran for every principal");
    assert!(
        failures.is_empty(),
        "{} of {calls} session authorization checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
