//! Settlement throughput beside its Postgres write ceiling, measured in the same run.
//!
//! For 8 and 32 concurrent clients, alternately (A B A B, 3 rounds): `pgbench -b simple-update`
//! for the ceiling, then settlements through the billing service (each client settles holds
//! between its own consumer and provider, so wallets are distinct). Holds are placed before the
//! timed phase; only settling is timed. Writes docs/benchmarks-settlement.json and the
//! settlement section of docs/benchmarks.md.
//!
//! Run: `make bench-settlement` (release build). Options: --seconds N --rounds N --clients 8,32

mod common;

use anyhow::{Context, bail};
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::{HoldLimits, PricingTerms, Usage};
use clawrent_api::billing::{holds, wallets};
use clawrent_api::config::Settings;
use clawrent_api::ids::SessionId;
use clawrent_api::money::{Currency, Money};
use clawrent_api::tenancy::domain::Tenant;
use common::{load_average, median, prepare_pgbench, root, server, spread, verdict};
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const BENCH_DB: &str = "clawrent_bench_settle";
const LIMITS: HoldLimits = HoldLimits {
    minute_cap: 60,
    token_budget: 100_000,
};

struct Args {
    seconds: u64,
    rounds: usize,
    clients: Vec<usize>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        seconds: 8,
        rounds: 3,
        clients: vec![8, 32],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().context("every flag takes a value")?;
        match flag.as_str() {
            "--seconds" => a.seconds = value.parse()?,
            "--rounds" => a.rounds = value.parse()?,
            "--clients" => {
                a.clients = value.split(',').map(str::parse).collect::<Result<_, _>>()?
            }
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

/// One consumer/provider pair per client, the consumer funded for the whole run.
async fn pairs(pool: &PgPool, tenant: &Tenant, n: usize) -> anyhow::Result<Vec<(Uuid, Uuid)>> {
    let mut out = Vec::with_capacity(n);
    let now = chrono::Utc::now();
    for i in 0..n {
        let mut ids = [Uuid::nil(); 2];
        for (slot, role) in ["consumer", "provider"].iter().enumerate() {
            let email = format!("bench-{role}-{i}@bench.local");
            let id: Uuid = sqlx::query_scalar(
                "INSERT INTO users (id, tenant_id, email, name, password_hash, role, created_at, updated_at)
                 VALUES ($1, $2, $3, $3, 'x', 'consumer', $4, $4)
                 ON CONFLICT (tenant_id, email) DO UPDATE SET updated_at = EXCLUDED.updated_at
                 RETURNING id",
            )
            .bind(Uuid::now_v7())
            .bind(tenant.id)
            .bind(&email)
            .bind(now)
            .fetch_one(pool)
            .await?;
            ids[slot] = id;
        }
        let mut conn = pool.acquire().await?;
        let amount = Decimal::from(1_000_000);
        wallets::topup(&mut conn, tenant, ids[0].into(), &usd(amount), now)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        out.push((ids[0], ids[1]));
    }
    Ok(out)
}

async fn place(pool: &PgPool, tenant: &Tenant, pair: (Uuid, Uuid)) -> anyhow::Result<Uuid> {
    let req = holds::HoldRequest {
        session_id: SessionId::new_v7(),
        consumer_id: pair.0.into(),
        provider_id: pair.1.into(),
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
    Ok(req.session_id.as_uuid())
}

async fn settle(pool: &PgPool, tenant: &Tenant, session: Uuid) -> anyhow::Result<()> {
    let usage = Usage {
        active: Duration::from_secs(150),
        tokens: 0,
    };
    let now = chrono::Utc::now();
    let resolved = clawrent_api::in_transaction!(pool, |conn| holds::settle(
        conn,
        tenant,
        session.into(),
        usage,
        now
    ))
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if resolved.replayed {
        bail!("a fresh hold settled as a replay");
    }
    Ok(())
}

/// Settlements per second with `clients` concurrent clients on distinct wallets.
async fn settle_round(
    pool: &PgPool,
    tenant: &Arc<Tenant>,
    pairs: &[(Uuid, Uuid)],
    clients: usize,
    seconds: u64,
) -> anyhow::Result<f64> {
    // Untimed: each client places holds for a little longer than the timed phase lasts.
    let place_for = Duration::from_millis(seconds * 1250);
    let mut tasks = Vec::new();
    for &pair in &pairs[..clients] {
        let (pool, tenant) = (pool.clone(), tenant.clone());
        tasks.push(tokio::spawn(async move {
            let start = Instant::now();
            let mut sessions = Vec::new();
            while start.elapsed() < place_for {
                sessions.push(place(&pool, &tenant, pair).await?);
            }
            anyhow::Ok(sessions)
        }));
    }
    let mut queues = Vec::new();
    for t in tasks {
        queues.push(t.await??);
    }
    // Timed: settle until the deadline (or the client's holds run out).
    let deadline = Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for queue in queues {
        let (pool, tenant) = (pool.clone(), tenant.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            for session in queue {
                if start.elapsed() >= deadline {
                    break;
                }
                settle(&pool, &tenant, session).await?;
                done += 1;
            }
            anyhow::Ok(done)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let load_before = load_average();
    let max_clients = a.clients.iter().copied().max().unwrap_or(32);
    let vars: HashMap<String, String> = [
        (
            "DATABASE_URL".to_owned(),
            format!("{}/{BENCH_DB}", server()),
        ),
        (
            "DATABASE_MAX_CONNECTIONS".to_owned(),
            (max_clients + 4).to_string(),
        ),
    ]
    .into();
    let settings = Settings::from_vars(&vars).map_err(|e| anyhow::anyhow!("{e}"))?;
    clawrent_api::db::migrate(&settings).await?;
    let pool = clawrent_api::db::pool(&settings)?;
    let tenant = {
        let mut conn = pool.acquire().await?;
        Arc::new(clawrent_api::tenancy::repo::find_default(&mut conn).await?)
    };
    prepare_pgbench()?;
    let pairs = pairs(&pool, &tenant, max_clients).await?;

    let mut ceiling: HashMap<usize, Vec<f64>> = HashMap::new();
    let mut project: HashMap<usize, Vec<f64>> = HashMap::new();
    for round in 1..=a.rounds {
        for &c in &a.clients {
            let pg = common::simple_update(c, a.seconds)?;
            let st = settle_round(&pool, &tenant, &pairs, c, a.seconds).await?;
            eprintln!(
                "round {round}: {c} clients: pgbench simple-update {pg:.0} tps, settlements {st:.0}/s"
            );
            ceiling.entry(c).or_default().push(pg);
            project.entry(c).or_default().push(st);
        }
    }

    let commit = common::commit();
    let load = format!("{load_before} before, {} at the end", load_average());
    let mut rows = Vec::new();
    let mut table = String::from(
        "| Clients | pgbench simple-update tps (median, spread) | settlements/s (median, spread) | ratio | budget ≥ 0.5 (alarm < 0.2) |\n|---|---|---|---|---|\n",
    );
    for &c in &a.clients {
        let (pg, st) = (median(&ceiling[&c]), median(&project[&c]));
        let (pg_lo, pg_hi) = spread(&ceiling[&c]);
        let (st_lo, st_hi) = spread(&project[&c]);
        let ratio = st / pg;
        table.push_str(&format!(
            "| {c} | {pg:.0} ({pg_lo:.0}–{pg_hi:.0}) | {st:.0} ({st_lo:.0}–{st_hi:.0}) | {ratio:.2} | {} |\n",
            verdict(ratio, 0.5, 0.2)
        ));
        rows.push(serde_json::json!({
            "clients": c, "pgbench_tps": ceiling[&c], "settlements_per_s": project[&c],
            "pgbench_median": pg, "settlements_median": st, "ratio": ratio,
        }));
    }
    let (lo, hi) = (a.clients[0], *a.clients.last().unwrap_or(&a.clients[0]));
    let scaling = median(&project[&hi]) / median(&project[&lo]);
    let ceiling_scaling = median(&ceiling[&hi]) / median(&ceiling[&lo]);
    table.push_str(&format!(
        "\nSettlements/s at {hi} clients ÷ at {lo}: **{scaling:.2}** (budget ≥ 1.0, alarm < 0.8: {}); \
         the ceiling's own ratio in the same run: {ceiling_scaling:.2}.\n",
        verdict(scaling, 1.0, 0.8)
    ));
    let report = serde_json::json!({
        "commit": commit, "date": chrono::Utc::now().to_rfc3339(), "load_avg_1m": load,
        "seconds_per_point": a.seconds, "rounds": a.rounds, "rows": rows, "scaling": scaling,
        "ceiling_scaling": ceiling_scaling,
    });
    let docs = root().join("docs");
    std::fs::write(
        docs.join("benchmarks-settlement.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    let body = format!(
        "Run of commit {commit}, load average {load}, {} s per point, {} rounds:\n\n{table}",
        a.seconds, a.rounds
    );
    common::write_section(
        &docs.join("benchmarks.md"),
        "settlement",
        "make bench-settlement",
        &body,
    )?;
    println!("{table}");
    Ok(())
}

fn usd(amount: Decimal) -> Money {
    Money::new(amount, Currency::parse("USD").expect("a currency code"))
}
