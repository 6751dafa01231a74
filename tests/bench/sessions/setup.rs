//! Set-up data written straight to the database (only the measured requests go through HTTP):
//! a fresh database, consumer/provider pairs with their own wallets and agent, holds placed
//! through the billing service, and the session rows of those holds, `active`.

use crate::common::server;
use crate::server::JWT_SECRET;
use anyhow::Context;
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::auth::jwt::JwtKeys;
use clawrent_api::billing::domain::{HoldLimits, PricingTerms};
use clawrent_api::billing::{holds, wallets};
use clawrent_api::config::Settings;
use clawrent_api::ids::{AgentId, SessionId, UserId};
use clawrent_api::money::{Currency, Money};
use clawrent_api::tenancy::domain::Tenant;
use rust_decimal::Decimal;
use sqlx::{Connection, PgConnection, PgPool};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The server's defaults (HOLD_MINUTE_CAP, HOLD_TOKEN_BUDGET).
const LIMITS: HoldLimits = HoldLimits {
    minute_cap: 60,
    token_budget: 100_000,
};

/// Sessions start this long before they end: a per-minute session is charged 3 started minutes
/// (a charge, a fee and a refund, as in `make bench-settlement`).
const ACTIVE_FOR: chrono::TimeDelta = chrono::TimeDelta::seconds(150);

pub fn database_url(db: &str) -> String {
    format!("{}/{db}", server())
}

pub fn settings(db: &str, pool: usize) -> anyhow::Result<Settings> {
    let vars: HashMap<String, String> = [
        ("DATABASE_URL", database_url(db)),
        ("DATABASE_MAX_CONNECTIONS", pool.to_string()),
        ("JWT_SECRET", JWT_SECRET.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Settings::from_vars(&vars).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Drops `db` when it exists, creates it and applies the migrations.
pub async fn fresh_database(settings: &Settings, db: &str) -> anyhow::Result<()> {
    let mut admin = PgConnection::connect(&database_url("postgres")).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    admin.close().await?;
    clawrent_api::db::migrate(settings).await
}

pub async fn default_tenant(pool: &PgPool) -> anyhow::Result<Arc<Tenant>> {
    let mut conn = pool.acquire().await?;
    Ok(Arc::new(
        clawrent_api::tenancy::repo::find_default(&mut conn).await?,
    ))
}

pub fn usd(amount: Decimal) -> Money {
    Money::new(amount, Currency::parse("USD").expect("a currency code"))
}

/// A consumer, a provider and the provider's agent (active profile, 0.10 USD per minute).
#[derive(Clone, Copy)]
pub struct Parties {
    pub consumer: UserId,
    pub provider: UserId,
    pub agent: AgentId,
}

/// Writes the two users and the agent with its profile; `label` keeps emails and slugs apart.
pub async fn insert_parties(
    conn: &mut PgConnection,
    tenant: &Tenant,
    label: &str,
) -> anyhow::Result<Parties> {
    let mut users = Vec::new();
    for role in ["consumer", "provider"] {
        let email = format!("bench-{role}-{label}@bench.local");
        let id: UserId = sqlx::query_scalar(
            "INSERT INTO users (id, tenant_id, email, name, password_hash, role, email_verified_at, created_at, updated_at)
             VALUES ($1, $2, $3, $3, 'x', $4::user_role, now(), now(), now())
             RETURNING id",
        )
        .bind(UserId::new_v7())
        .bind(tenant.id)
        .bind(&email)
        .bind(role)
        .fetch_one(&mut *conn)
        .await?;
        users.push(id);
    }
    let agent = AgentId::new_v7();
    sqlx::query(
        "INSERT INTO agents (id, tenant_id, owner_id, name, slug, description, roles, online_status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'An agent of the sessions benchmark.', 'consumer', 'online', now(), now())",
    )
    .bind(agent)
    .bind(tenant.id)
    .bind(users[1])
    .bind(format!("Bench agent {label}"))
    .bind(format!("bench-agent-{label}"))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO provider_profiles (agent_id, tenant_id, status, pricing_model, price_amount, currency,
             hosting_type, approval_mode, transparency_level, max_concurrent_sessions, max_consumer_slots,
             slot_assignment_mode, allow_shared_consumer, submitted_at, created_at, updated_at)
         VALUES ($1, $2, 'active', 'per_minute', 0.10, 'USD', 'self_hosted', 'auto', 'moderate', 1000, 100,
             'auto', false, now(), now(), now())",
    )
    .bind(agent)
    .bind(tenant.id)
    .execute(&mut *conn)
    .await?;
    Ok(Parties {
        consumer: users[0],
        provider: users[1],
        agent,
    })
}

/// One client of the HTTP phases: its own consumer wallet, provider wallet and agent, the
/// consumer's access token, and the session it sends messages in.
pub struct Pair {
    pub parties: Parties,
    pub token: String,
    pub chat: SessionId,
}

/// `n` pairs, each consumer funded for the whole run, each with an active chat session.
pub async fn pairs(
    pool: &PgPool,
    tenant: &Arc<Tenant>,
    settings: &Settings,
    n: usize,
) -> anyhow::Result<Vec<Pair>> {
    let keys = JwtKeys::from_settings(settings)?;
    let now = chrono::Utc::now();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut conn = pool.acquire().await?;
        let parties = insert_parties(&mut conn, tenant, &i.to_string()).await?;
        wallets::topup(
            &mut conn,
            tenant,
            parties.consumer,
            &usd(Decimal::from(1_000_000)),
            now,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        drop(conn);
        let token = keys
            .issue(tenant.id, parties.consumer, "consumer", now)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let chat = place(pool, tenant, &parties).await?;
        open(pool, tenant, &parties, &[chat]).await?;
        out.push(Pair {
            parties,
            token,
            chat,
        });
    }
    Ok(out)
}

/// Places one hold through the billing service (as renting does); returns its session id.
async fn place(pool: &PgPool, tenant: &Tenant, parties: &Parties) -> anyhow::Result<SessionId> {
    let req = holds::HoldRequest {
        session_id: SessionId::new_v7(),
        consumer_id: parties.consumer,
        provider_id: parties.provider,
        terms: PricingTerms {
            model: PricingModel::PerMinute,
            unit_price: usd(Decimal::new(10, 2)),
        },
    };
    let now = chrono::Utc::now();
    clawrent_api::in_transaction!(pool, |conn| holds::place_hold(
        conn, tenant, &req, LIMITS, now
    ))
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(req.session_id)
}

/// The session rows of placed holds: `active` since [`ACTIVE_FOR`] ago, priced as the hold.
async fn open(
    pool: &PgPool,
    tenant: &Tenant,
    parties: &Parties,
    sessions: &[SessionId],
) -> anyhow::Result<()> {
    let started = chrono::Utc::now() - ACTIVE_FOR;
    let ids: Vec<uuid::Uuid> = sessions.iter().map(SessionId::as_uuid).collect();
    sqlx::query(
        "INSERT INTO sessions (id, tenant_id, agent_id, consumer_id, provider_id, status, slot_index,
             task_description, granted_permissions, pricing_model, price_amount, currency, fee_rate,
             hold_amount, last_activity_at, created_at, approved_at)
         SELECT h.session_id, h.tenant_id, $3, h.consumer_id, h.provider_id, 'active', 0,
             'A session of the sessions benchmark', '{}'::jsonb, h.pricing_model, h.unit_price, h.currency,
             $4, h.amount, $5, $5, $5
         FROM holds h WHERE h.tenant_id = $1 AND h.session_id = ANY($2)",
    )
    .bind(tenant.id)
    .bind(&ids)
    .bind(parties.agent)
    .bind(tenant.fee_rate)
    .bind(started)
    .execute(pool)
    .await
    .context("inserting the sessions of the placed holds")?;
    Ok(())
}

/// Active sessions for each of `pairs[..clients]`, ready to be ended: per client `count[i]`
/// sessions, or as many as it can place in `for_at_least` when `count` is empty.
pub async fn active_sessions(
    pool: &PgPool,
    tenant: &Arc<Tenant>,
    pairs: &[Pair],
    count: &[usize],
    for_at_least: Duration,
) -> anyhow::Result<Vec<Vec<SessionId>>> {
    let mut tasks = Vec::new();
    for (i, pair) in pairs.iter().enumerate() {
        let (pool, tenant) = (pool.clone(), tenant.clone());
        let parties = pair.parties;
        let want = count.get(i).copied();
        tasks.push(tokio::spawn(async move {
            let start = Instant::now();
            let mut sessions = Vec::new();
            loop {
                let done = match want {
                    Some(n) => sessions.len() >= n,
                    None => start.elapsed() >= for_at_least,
                };
                if done {
                    break;
                }
                sessions.push(place(&pool, &tenant, &parties).await?);
            }
            for chunk in sessions.chunks(2_000) {
                open(&pool, &tenant, &parties, chunk).await?;
            }
            anyhow::Ok(sessions)
        }));
    }
    let mut queues = Vec::new();
    for t in tasks {
        queues.push(t.await??);
    }
    Ok(queues)
}

/// The sessions the message-INSERT pgbench script writes to: one per pgbench client, with the id
/// `md5('bench-msg-' || client_id)::uuid`, between the parties of the pair of that number.
pub async fn pgbench_sessions(
    pool: &PgPool,
    tenant: &Tenant,
    pairs: &[Pair],
) -> anyhow::Result<()> {
    let started = chrono::Utc::now();
    for (i, pair) in pairs.iter().enumerate() {
        sqlx::query(
            "INSERT INTO sessions (id, tenant_id, agent_id, consumer_id, provider_id, status, slot_index,
                 task_description, granted_permissions, pricing_model, price_amount, currency, fee_rate,
                 hold_amount, last_activity_at, created_at, approved_at)
             VALUES (md5('bench-msg-' || $1::text)::uuid, $2, $3, $4, $5, 'active', 1,
                 'The pgbench ceiling of message sends', '{}'::jsonb, 'per_minute', 0.10, 'USD', $6, 6.00,
                 $7, $7, $7)",
        )
        .bind(i.to_string())
        .bind(tenant.id)
        .bind(pair.parties.agent)
        .bind(pair.parties.consumer)
        .bind(pair.parties.provider)
        .bind(tenant.fee_rate)
        .bind(started)
        .execute(pool)
        .await?;
    }
    Ok(())
}
