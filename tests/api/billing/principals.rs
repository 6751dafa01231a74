//! Every billing endpoint × every kind of caller, as one table: the owner's money is served to
//! any credential of the owner, everyone else sees only their own; admin reads are served to
//! the admin of the owner's marketplace only. A refused call returns only the error envelope,
//! changes nothing and reveals nothing of the owner; a read changes nothing anywhere.

use super::support::{WALLET, money_snapshot, per_session};
use crate::helpers::*;
use crate::principal_table::*;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// One user's money as the database holds it: their wallets, postings and audit entries.
async fn user_snapshot(app: &TestApp, user: &TestUser) -> String {
    sqlx::query_scalar(
        "SELECT json_build_object(
            'wallets', (SELECT json_agg(json_build_object(
                            'currency', currency, 'balance', balance, 'postings', postings)
                        ORDER BY currency) FROM wallets WHERE user_id = $1::uuid),
            'postings', (SELECT count(*) FROM ledger_postings WHERE user_id = $1::uuid),
            'audit', (SELECT count(*) FROM admin_audit WHERE target_id = $1::uuid)
        )::text",
    )
    .bind(&user.id)
    .fetch_one(&app.db)
    .await
    .expect("user snapshot")
}

/// The owner's money: any credential of the owner; everyone else sees their own.
const OWN_MONEY: [Expect; N] = [
    ANON, OK, OK, OK, BLIND, BLIND, BLIND, BAD_TOKEN, BLIND, BAD_TOKEN,
];
/// About the owner, for the owner's marketplace admin only.
const ADMIN_ABOUT_OWNER: [Expect; N] = [
    ANON, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, BAD_TOKEN, NOT_FOUND,
    BAD_TOKEN,
];
/// A marketplace-wide admin read: each admin sees their own marketplace.
const ADMIN_OF_ANY_MARKETPLACE: [Expect; N] = [
    ANON, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, BAD_TOKEN, BLIND, BAD_TOKEN,
];

/// What an allowed reply must show.
#[derive(Clone, Copy, Debug)]
enum Shows {
    Nothing,
    OwnerBalance,
    OwnerId,
    Session,
    Fee,
}

struct Row {
    method: Method,
    /// `{user}` is the owner's id, `{session}` the owner's settled session.
    path: &'static str,
    body: Option<Value>,
    shows: Shows,
    expect: [Expect; N],
}

impl Row {
    /// A read of `path`.
    fn get(path: &'static str, shows: Shows, expect: [Expect; N]) -> Self {
        Self {
            method: Method::GET,
            path,
            body: None,
            shows,
            expect,
        }
    }

    /// A write of `body` to `path`.
    fn post(path: &'static str, body: Value, shows: Shows, expect: [Expect; N]) -> Self {
        Self {
            method: Method::POST,
            path,
            body: Some(body),
            shows,
            expect,
        }
    }

    fn writes(&self) -> bool {
        self.method != Method::GET
    }
}

struct MoneyWorld {
    app: TestApp,
    owner: TestUser,
    agent_token: String,
    other: TestUser,
    admin: TestUser,
    foreign: TestUser,
    foreign_admin: TestUser,
    session: Uuid,
}

/// The session's price: its 15 % fee, 1.1655, is a marker no other reply contains.
const SESSION_PRICE: &str = "7.77";
const SESSION_FEE: &str = "1.1655";

async fn money_world() -> MoneyWorld {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let provider = app.signup().await;
    let other = app.signup().await;
    let admin = app.default_admin().await;
    let slug = app.create_tenant("foreign").await;
    let foreign = app.signup_in(Some(&slug)).await;
    let foreign_admin = app.admin_in(&slug).await;
    app.topup(&owner.auth(), "4321.09").await.expect(200);
    let session = per_session(&app, &owner, &provider, SESSION_PRICE, "CNY").await;
    let agent = app
        .create_agent(&owner, &unique_slug("money"), json!({}))
        .await;
    let agent_token = app.agent_token(&owner, &agent).await;
    MoneyWorld {
        app,
        owner,
        agent_token,
        other,
        admin,
        foreign,
        foreign_admin,
        session,
    }
}

impl MoneyWorld {
    fn auth(&self, who: Who) -> Auth {
        match who {
            Who::Anonymous => Auth::none(),
            Who::Owner => self.owner.auth(),
            Who::OwnerApiKey => Auth::api_key(&self.owner.api_key),
            Who::AgentToken => Auth::bearer(&self.agent_token),
            Who::OtherUser => self.other.auth(),
            Who::Admin => self.admin.auth(),
            Who::ForeignUser => self.foreign.auth(),
            Who::ForeignTokenHere => Auth::bearer(&self.foreign.token),
            Who::ForeignAdmin => self.foreign_admin.auth(),
            Who::PlatformOperator => Auth::operator(),
        }
    }

    async fn owner_balance(&self) -> String {
        let wallet = self.app.get(WALLET, &self.owner.auth()).await.expect(200);
        wallet.body["balance"].as_str().expect("balance").to_owned()
    }

    /// The owner's facts that must not appear in a reply that is not about the owner.
    fn leaks(&self, path: &str, balance: &str, reply: &Reply) -> Vec<String> {
        let session = self.session.to_string();
        let mut markers = vec![
            ("email", self.owner.email.as_str()),
            ("balance", balance),
            ("fee revenue", SESSION_FEE),
        ];
        if !path.contains(&self.owner.id) {
            markers.push(("id", self.owner.id.as_str()));
        }
        if !path.contains(&session) {
            markers.push(("session", session.as_str()));
        }
        markers
            .into_iter()
            .filter(|(_, marker)| reply.text.contains(marker))
            .map(|(what, _)| format!("the reply reveals the owner's {what}: {}", reply.text))
            .collect()
    }
}

/// The owner's state and the whole money state, before and after one call.
struct Observed {
    owner_before: String,
    owner_after: String,
    all_before: String,
    all_after: String,
}

fn judge(
    w: &MoneyWorld,
    row: &Row,
    expect: Expect,
    path: &str,
    balance: &str,
    reply: &Reply,
    seen: &Observed,
) -> Vec<String> {
    let status = expect.status();
    if reply.status.as_u16() != status {
        return vec![format!(
            "expected {status}, got {}: {}",
            reply.status.as_u16(),
            reply.text
        )];
    }
    let owner_unchanged = seen.owner_before == seen.owner_after;
    let all_unchanged = seen.all_before == seen.all_after;
    let mut problems = Vec::new();
    if !row.writes() && !all_unchanged {
        problems.push(format!(
            "a read changed data:\n  {}\n  {}",
            seen.all_before, seen.all_after
        ));
    }
    match expect {
        Expect::Allowed(_) => {
            let session = w.session.to_string();
            let marker = match row.shows {
                Shows::Nothing => None,
                Shows::OwnerBalance => Some(balance),
                Shows::OwnerId => Some(w.owner.id.as_str()),
                Shows::Session => Some(session.as_str()),
                Shows::Fee => Some(SESSION_FEE),
            };
            if let Some(marker) = marker
                && !reply.text.contains(marker)
            {
                problems.push(format!(
                    "the reply does not show {:?} ({marker}): {}",
                    row.shows, reply.text
                ));
            }
            if row.writes() && owner_unchanged {
                problems.push("the allowed write did not change the owner's money".to_owned());
            }
        }
        Expect::Blind(_) => {
            problems.extend(w.leaks(path, balance, reply));
            if !owner_unchanged {
                problems.push(format!(
                    "the owner's money changed:\n  {}\n  {}",
                    seen.owner_before, seen.owner_after
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
            problems.extend(w.leaks(path, balance, reply));
            if !all_unchanged {
                problems.push(format!(
                    "a refused call changed data:\n  {}\n  {}",
                    seen.all_before, seen.all_after
                ));
            }
        }
    }
    problems
}

/// The rows the table runs: every billing endpoint.
fn rows() -> Vec<Row> {
    vec![
        Row::get("/api/billing/wallet", Shows::OwnerBalance, OWN_MONEY),
        Row::get(
            "/api/billing/wallet/transactions",
            Shows::Session,
            OWN_MONEY,
        ),
        Row::post(
            "/api/billing/wallet/topup",
            json!({ "amount": "1.00" }),
            Shows::Nothing,
            OWN_MONEY,
        ),
        Row::post(
            "/api/admin/wallets/{user}/adjustments",
            json!({ "type": "credit", "amount": "1.00", "reason": "Authz table" }),
            Shows::OwnerId,
            ADMIN_ABOUT_OWNER,
        ),
        Row::get(
            "/api/admin/wallets/{user}",
            Shows::OwnerId,
            ADMIN_ABOUT_OWNER,
        ),
        Row::get(
            "/api/admin/ledger/revenue",
            Shows::Fee,
            ADMIN_OF_ANY_MARKETPLACE,
        ),
        Row::get(
            "/api/admin/ledger/verify",
            Shows::Nothing,
            ADMIN_OF_ANY_MARKETPLACE,
        ),
        Row::get(
            "/api/admin/ledger/settlements/{session}",
            Shows::Session,
            ADMIN_ABOUT_OWNER,
        ),
    ]
}

/// The (method, path) of every row, for the coverage test in `authorization`.
pub fn operations() -> Vec<Operation> {
    rows()
        .into_iter()
        .map(|r| Operation {
            method: r.method,
            path: r.path,
            expect: r.expect,
        })
        .collect()
}

#[tokio::test]
async fn every_billing_endpoint_refuses_the_wrong_principal() {
    let w = money_world().await;
    let rows = rows();

    let mut failures = Vec::new();
    let mut calls = 0;
    for row in &rows {
        for (who, expect) in PRINCIPALS.into_iter().zip(row.expect) {
            // Arrange
            let path = row
                .path
                .replace("{user}", &w.owner.id)
                .replace("{session}", &w.session.to_string());
            let balance = w.owner_balance().await;
            let owner_before = user_snapshot(&w.app, &w.owner).await;
            let all_before = money_snapshot(&w.app).await;

            // Act
            let mut request = w.app.request(row.method.clone(), &path, &w.auth(who));
            if let Some(body) = &row.body {
                request = request.json(body);
            }
            let reply = read(request.send().await.expect("request")).await;

            // Assert
            let seen = Observed {
                owner_before,
                owner_after: user_snapshot(&w.app, &w.owner).await,
                all_before,
                all_after: money_snapshot(&w.app).await,
            };
            calls += 1;
            for problem in judge(&w, row, expect, &path, &balance, &reply, &seen) {
                failures.push(format!(
                    "{} {} as {who:?} (expected {expect:?}): {problem}",
                    row.method, row.path
                ));
            }
        }
    }
    assert_eq!(calls, rows.len() * PRINCIPALS.len());
    assert!(
        failures.is_empty(),
        "{} of {calls} billing authorization checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
