//! The sessions endpoints beside their Postgres ceilings, measured in the same run against the
//! release binary (`clawrent serve`, a child process on a fresh database):
//!
//! 1. settlement: `POST /api/sessions/{id}/end` on active sessions, each client ending its own
//!    consumer's sessions with its own provider and agent (no shared rows), at 8 and 32 clients,
//!    divided by `pgbench -b simple-update` at the same client count;
//! 2. message sends: `POST /api/sessions/{id}/messages`, one session per client, with p50 and p99,
//!    divided by pgbench running `message_insert.sql` (the seq UPDATE and the INSERT one send
//!    does at minimum) at the same client count;
//! 3. history pages at 1M stored messages (spread over 10,000 sessions, and all in one session)
//!    divided by the same page at 100 stored messages (see `history.rs`).
//!
//! Ceiling and project alternate (A B A B), `--rounds` times; medians and spreads are reported.
//! Set-up data (users, wallets, agents, holds through the billing service, session rows) is
//! written directly; only the measured operations go through HTTP. Writes
//! docs/benchmarks-sessions.json and the sessions section of docs/benchmarks.md.
//!
//! Run: `make bench-sessions`. Options: --seconds N --rounds N --clients 8,32 --pages N

#[path = "../common.rs"]
mod common;
mod cpu;
mod history;
mod http;
mod report;
mod server;
mod setup;

use anyhow::{Context, bail};
use http::{ClientWork, Phase, Request, Work};
use report::{Pages, Point, Report, Sample};
use server::Server;
use std::collections::HashMap;
use std::time::Duration;

const BENCH_DB: &str = "clawrent_bench_sessions";
/// The text of every message sent (the pgbench script stores the same payload).
const MESSAGE: &str = r#"{"type":"dialogue.message","payload":{"text":"A benchmark message, about as long as one line of a conversation between two agents."}}"#;

struct Args {
    seconds: u64,
    rounds: usize,
    clients: Vec<usize>,
    pages: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        seconds: 6,
        rounds: 3,
        clients: vec![8, 32],
        pages: 400,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().context("every flag takes a value")?;
        match flag.as_str() {
            "--seconds" => a.seconds = value.parse()?,
            "--rounds" => a.rounds = value.parse()?,
            "--pages" => a.pages = value.parse()?,
            "--clients" => {
                a.clients = value.split(',').map(str::parse).collect::<Result<_, _>>()?
            }
            other => bail!("unknown flag {other}"),
        }
    }
    if a.clients.is_empty() || a.rounds == 0 || a.seconds == 0 || a.pages == 0 {
        bail!("--clients, --rounds, --seconds and --pages must be positive");
    }
    Ok(a)
}

/// Runs one closed-loop phase and reduces it, with the CPU it cost per request.
async fn measured(
    meter: &cpu::Meter,
    pool: &sqlx::PgPool,
    port: u16,
    work: Vec<ClientWork>,
    duration: Duration,
) -> anyhow::Result<(Phase, Sample)> {
    let before = meter.snapshot(pool).await?;
    let phase = http::closed_loop(port, work, duration, 200).await?;
    let after = meter.snapshot(pool).await?;
    let sample = Sample {
        per_second: phase.per_second(),
        p50_ms: phase.percentile_ms(0.50),
        p99_ms: phase.percentile_ms(0.99),
        cpu: meter.per_request(&before, &after, phase.requests),
    };
    Ok((phase, sample))
}

fn message_work(pairs: &[setup::Pair]) -> Vec<ClientWork> {
    pairs
        .iter()
        .map(|p| ClientWork {
            token: p.token.clone(),
            work: Work::Repeat(Request {
                method: "POST",
                path: format!("/api/sessions/{}/messages", p.chat),
                body: Some(MESSAGE.as_bytes().to_vec()),
            }),
        })
        .collect()
}

fn end_work(
    pairs: &[setup::Pair],
    queues: Vec<Vec<clawrent_api::ids::SessionId>>,
) -> Vec<ClientWork> {
    pairs
        .iter()
        .zip(queues)
        .map(|(p, queue)| ClientWork {
            token: p.token.clone(),
            work: Work::Queue(
                queue
                    .into_iter()
                    .map(|id| Request {
                        method: "POST",
                        path: format!("/api/sessions/{id}/end"),
                        body: None,
                    })
                    .collect(),
            ),
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let load_before = common::load_average();
    let max_clients = a.clients.iter().copied().max().unwrap_or(32);
    let seconds = Duration::from_secs(a.seconds);

    eprintln!("preparing {BENCH_DB} (fresh) and {}", common::PGBENCH_DB);
    let settings = setup::settings(BENCH_DB, 8)?;
    setup::fresh_database(&settings, BENCH_DB).await?;
    let pool = clawrent_api::db::pool(&settings)?;
    let tenant = setup::default_tenant(&pool).await?;
    common::prepare_pgbench()?;
    let pairs = setup::pairs(&pool, &tenant, &settings, max_clients).await?;
    setup::pgbench_sessions(&pool, &tenant, &pairs).await?;
    let script = common::root().join("tests/bench/sessions/message_insert.sql");
    let script = script.to_string_lossy().into_owned();
    let tenant_var = format!("tenant={}", tenant.id);
    let message_ceiling = |clients: usize| {
        common::pgbench(
            &["-M", "prepared", "-D", &tenant_var, "-f", &script],
            clients,
            a.seconds,
            BENCH_DB,
        )
    };

    let server = Server::start("sessions", &setup::database_url(BENCH_DB), max_clients + 4).await?;
    let meter = cpu::Meter::new(server.pid(), BENCH_DB);
    // Warm-up, not measured: every pooled connection prepares its statements.
    eprintln!("warming up");
    let warm =
        setup::active_sessions(&pool, &tenant, &pairs, &vec![10; max_clients], seconds).await?;
    http::closed_loop(server.port, end_work(&pairs, warm), seconds, 200).await?;
    http::closed_loop(
        server.port,
        message_work(&pairs),
        Duration::from_secs(2),
        200,
    )
    .await?;
    message_ceiling(max_clients)?;

    let mut settlement: Vec<Point> = Vec::new();
    let mut messages: Vec<Point> = Vec::new();
    for &c in &a.clients {
        for list in [&mut settlement, &mut messages] {
            list.push(Point {
                clients: c,
                ceiling: Vec::new(),
                project: Vec::new(),
                ran_dry: 0,
            });
        }
    }
    // Sessions to place per client at each client count: time-based in the first round, then
    // twice as many as the fastest round ended per client (clients do not all go at one speed).
    let mut plan: HashMap<usize, usize> = HashMap::new();
    for round in 1..=a.rounds {
        for (i, &c) in a.clients.iter().enumerate() {
            let counts = plan.get(&c).map(|&n| vec![n; c]).unwrap_or_default();
            let queues =
                setup::active_sessions(&pool, &tenant, &pairs[..c], &counts, seconds + seconds / 4)
                    .await?;
            let pg = common::simple_update(c, a.seconds)?;
            let work = end_work(&pairs[..c], queues);
            let (phase, sample) = measured(&meter, &pool, server.port, work, seconds).await?;
            let per_client = (phase.requests as usize).div_ceil(c);
            let planned = plan.entry(c).or_insert(0);
            *planned = (*planned).max(2 * per_client + 20);
            eprintln!(
                "round {round}: {c} clients: simple-update {pg:.0} tps, settlements {:.0}/s (p99 {:.1} ms; CPU µs per request: server {:.0}, Postgres {:.0})",
                phase.per_second(),
                phase.percentile_ms(0.99),
                sample.cpu.server_us,
                sample.cpu.postgres_us
            );
            settlement[i].ceiling.push(pg);
            settlement[i].project.push(sample);
            settlement[i].ran_dry += phase.ran_dry;

            let pg = message_ceiling(c)?;
            let work = message_work(&pairs[..c]);
            let (phase, sample) = measured(&meter, &pool, server.port, work, seconds).await?;
            eprintln!(
                "round {round}: {c} clients: message-INSERT {pg:.0} tps, messages {:.0}/s (p50 {:.1} ms, p99 {:.1} ms; CPU µs per request: server {:.0}, Postgres {:.0})",
                phase.per_second(),
                phase.percentile_ms(0.5),
                phase.percentile_ms(0.99),
                sample.cpu.server_us,
                sample.cpu.postgres_us
            );
            messages[i].ceiling.push(pg);
            messages[i].project.push(sample);
        }
    }
    drop(server);
    pool.close().await;

    eprintln!("history pages");
    let mut served = Vec::new();
    for shape in &history::SHAPES {
        served.push(history::serve(shape).await?);
    }
    let mut pages: Vec<Pages> = history::SHAPES
        .iter()
        .map(|s| Pages {
            shape: s.name,
            p50_ms: Vec::new(),
            p99_ms: Vec::new(),
        })
        .collect();
    let mut rng = history::Rng::new(0x5E55_1035);
    for round in 1..=a.rounds {
        for (s, p) in served.iter_mut().zip(pages.iter_mut()) {
            let latencies = history::measure(s, a.pages, &mut rng).await?;
            let (p50, p99) = (
                http::percentile_ms(&latencies, 0.5),
                http::percentile_ms(&latencies, 0.99),
            );
            eprintln!(
                "round {round}: {}: p50 {p50:.2} ms, p99 {p99:.2} ms",
                p.shape
            );
            p.p50_ms.push(p50);
            p.p99_ms.push(p99);
        }
    }
    drop(served);

    let report = Report {
        load_before,
        seconds: a.seconds,
        rounds: a.rounds,
        pages_per_round: a.pages,
        settlement,
        messages,
        history: pages,
    };
    println!("{}", report.write()?);
    Ok(())
}
