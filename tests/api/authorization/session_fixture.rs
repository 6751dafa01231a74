//! The fixtures of the session matrix (`session_matrix`): the world (the authorization
//! principals plus the owner's counterpart, everyone who may rent with money), a fresh target
//! per call (a rentable agent and, unless the row rents, a session on it with the owner on the
//! row's side, in the row's stage), and the snapshots a call is judged by.

use super::world::{World, world_on};
use crate::helpers::*;
use crate::sessions::support::{action, online, rent};
use serde_json::json;

/// The owner's part in the session, and which agent token the `AgentToken` column sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The owner rents the counterpart's agent; the agent token is the one of the owner's
    /// standing agent (it acts as the owner, a consumer).
    Consumer,
    /// The counterpart rents a fresh agent of the owner; the agent token is that agent's.
    Provider,
    /// As `Provider`, but the agent token is the one of another agent of the owner (the
    /// standing agent), which takes no part on the provider side.
    ProviderOtherAgent,
}

/// How far the target has gone before the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// A rentable agent (listed, connected, activated; auto approval), no session yet.
    Rentable,
    /// A session waiting for the provider's approval (manual approval).
    Pending,
    /// An active session (auto approval).
    Active,
    /// An active session with one message from the counterpart.
    Talking,
}

/// The authorization world plus the owner's counterpart; every user who may rent has money.
pub struct SessionWorld {
    pub w: World,
    pub counterpart: TestUser,
}

pub async fn session_world() -> SessionWorld {
    let w = world_on(spawn_app().await).await;
    let counterpart = w.app.signup().await;
    for user in [&w.owner, &counterpart, &w.other, &w.admin] {
        w.app.topup(&user.auth(), "1000.00").await.expect(200);
    }
    SessionWorld { w, counterpart }
}

/// The fixture's facts; empty strings where the stage does not make them.
#[derive(Default)]
pub struct Target {
    pub agent: String,
    /// The token of the target agent, when the owner provides it.
    pub agent_token: String,
    pub session: String,
    pub session_token: String,
    pub task: String,
    /// The text of the counterpart's message.
    pub said: String,
}

/// A marker no other fixture's data contains.
fn marker(what: &str) -> String {
    format!("{what} {}", uuid::Uuid::now_v7().simple())
}

pub async fn fixture(sw: &SessionWorld, side: Side, stage: Stage) -> Target {
    let (app, w) = (&sw.w.app, &sw.w);
    let (provider, consumer) = match side {
        Side::Consumer => (&sw.counterpart, &w.owner),
        Side::Provider | Side::ProviderOtherAgent => (&w.owner, &sw.counterpart),
    };
    let approval = if stage == Stage::Pending {
        "manual"
    } else {
        "auto"
    };
    let terms = json!({ "priceAmount": "1.00", "approvalMode": approval });
    let agent = app
        .listed_agent_with(provider, &w.admin, &unique_slug("smx"), terms)
        .await;
    online(app, provider, &agent).await;
    let agent_token = match side {
        Side::Provider => app.agent_token(provider, &agent).await,
        Side::Consumer | Side::ProviderOtherAgent => String::new(),
    };
    let mut target = Target {
        agent,
        agent_token,
        ..Target::default()
    };
    if stage == Stage::Rentable {
        return target;
    }
    target.task = marker("Secret task");
    let body = json!({ "agentId": target.agent, "taskDescription": target.task, "grantedPermissions": {} });
    let rented = rent(app, consumer, &body).await.expect(201);
    let field = |name: &str| rented.body[name].as_str().expect(name).to_owned();
    target.session = field("id");
    target.session_token = field("sessionToken");
    if stage == Stage::Talking {
        target.said = marker("Secret words");
        let message = json!({ "type": "dialogue.message", "payload": { "text": target.said } });
        app.post(
            &action(&target.session, "messages"),
            &sw.counterpart.auth(),
            &message,
        )
        .await
        .expect(200);
    }
    target
}

/// The target (its session, hold, settlement, messages, the agent's sessions, both
/// participants' wallets), then everything any session call could change anywhere.
pub async fn snapshot(sw: &SessionWorld, target: &Target) -> (String, String) {
    let db = &sw.w.app.db;
    let session: Option<uuid::Uuid> = target.session.parse().ok();
    let agent: Option<uuid::Uuid> = target.agent.parse().ok();
    let mine: String = sqlx::query_scalar(
        "SELECT json_build_object(
            'session', (SELECT row_to_json(s) FROM sessions s WHERE s.id = $1),
            'hold', (SELECT row_to_json(h) FROM holds h WHERE h.session_id = $1),
            'settlement', (SELECT row_to_json(x) FROM settlements x WHERE x.session_id = $1),
            'messages', (SELECT count(*) FROM session_messages m WHERE m.session_id = $1),
            'agent_sessions', (SELECT json_agg(s.id ORDER BY s.id) FROM sessions s
                               WHERE s.agent_id = $2),
            'wallets', (SELECT json_agg(json_build_object('user', w.user_id,
                            'currency', w.currency, 'balance', w.balance, 'postings', w.postings)
                        ORDER BY w.user_id, w.currency)
                        FROM wallets w WHERE w.user_id IN ($3::uuid, $4::uuid))
        )::text",
    )
    .bind(session)
    .bind(agent)
    .bind(&sw.w.owner.id)
    .bind(&sw.counterpart.id)
    .fetch_one(db)
    .await
    .expect("target snapshot");
    let everything: String = sqlx::query_scalar(
        "SELECT json_build_object(
            'sessions', (SELECT json_agg(s.status ORDER BY s.id) FROM sessions s),
            'messages', (SELECT count(*) FROM session_messages),
            'holds', (SELECT json_agg(h.status ORDER BY h.id) FROM holds h),
            'settlements', (SELECT count(*) FROM settlements),
            'entries', (SELECT count(*) FROM ledger_entries),
            'wallets', (SELECT json_agg(json_build_object('user', w.user_id,
                            'currency', w.currency, 'balance', w.balance)
                        ORDER BY w.user_id, w.currency) FROM wallets w),
            'keys', (SELECT count(*) FROM idempotency_keys)
        )::text",
    )
    .fetch_one(db)
    .await
    .expect("global snapshot");
    let all = format!("{mine} {everything}");
    (mine, all)
}
