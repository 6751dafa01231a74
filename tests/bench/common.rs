//! What the benchmark binaries share: where things are, the pgbench ceilings, medians and
//! spreads, verdicts against a budget, and writing a marked section of docs/benchmarks.md.

// Each binary uses a part of these.
#![allow(dead_code)]

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pgbench database (`pgbench -i -s 10`), shared by every benchmark.
pub const PGBENCH_DB: &str = "clawrent_bench_pgbench";

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The Postgres server, without a database name.
pub fn server() -> String {
    std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn pg_args() -> Vec<String> {
    vec![
        "-h".into(),
        "127.0.0.1".into(),
        "-U".into(),
        "postgres".into(),
    ]
}

/// Runs pgbench for `seconds` with `clients` clients and the given workload arguments
/// (`-b simple-update`, or `-f script`), and returns the tps it reports (without connection time).
pub fn pgbench(workload: &[&str], clients: usize, seconds: u64, db: &str) -> anyhow::Result<f64> {
    let out = Command::new("pgbench")
        .args(pg_args())
        .arg("-n")
        .args(workload)
        .arg("-c")
        .arg(clients.to_string())
        .arg("-j")
        .arg(clients.min(4).to_string())
        .arg("-T")
        .arg(seconds.to_string())
        .arg(db)
        .output()
        .context("pgbench is missing: run deploy/bench-tools.sh")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| {
            format!(
                "pgbench output: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// `pgbench -b simple-update` at `clients` clients: the small-update-transaction ceiling.
pub fn simple_update(clients: usize, seconds: u64) -> anyhow::Result<f64> {
    pgbench(&["-b", "simple-update"], clients, seconds, PGBENCH_DB)
}

/// Creates and initialises the pgbench database when it is missing.
pub fn prepare_pgbench() -> anyhow::Result<()> {
    let exists = Command::new("psql")
        .args(pg_args())
        .args([
            "-d",
            PGBENCH_DB,
            "-qAtc",
            "SELECT count(*) FROM pgbench_branches",
        ])
        .output()
        .context("psql is missing: run deploy/bench-tools.sh")?;
    if !exists.status.success() {
        let _ = Command::new("createdb")
            .args(pg_args())
            .arg(PGBENCH_DB)
            .status()?;
        let init = Command::new("pgbench")
            .args(pg_args())
            .args(["-i", "-q", "-s", "10", PGBENCH_DB])
            .status()?;
        if !init.success() {
            bail!("pgbench -i failed");
        }
    }
    Ok(())
}

pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn spread(xs: &[f64]) -> (f64, f64) {
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(0.0, f64::max);
    (min, max)
}

/// For budgets where more is better (a throughput ratio): `ratio ≥ target` is ok.
pub fn verdict(ratio: f64, target: f64, alarm: f64) -> &'static str {
    if ratio >= target {
        "ok"
    } else if ratio >= alarm {
        "watch (under target, above alarm)"
    } else {
        "ALARM"
    }
}

/// For budgets where less is better (a latency ratio): `ratio ≤ target` is ok.
pub fn verdict_at_most(ratio: f64, target: f64, alarm: f64) -> &'static str {
    if ratio <= target {
        "ok"
    } else if ratio <= alarm {
        "watch (over target, under alarm)"
    } else {
        "ALARM"
    }
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

/// The short commit of the working tree.
pub fn commit() -> String {
    Command::new("git")
        .args([
            "-C",
            &root().to_string_lossy(),
            "rev-parse",
            "--short",
            "HEAD",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Replaces the section between `<!-- {name}:begin` and `<!-- {name}:end -->` of `path` with
/// `body` (the markers included), or appends it when the markers are missing.
pub fn write_section(path: &Path, name: &str, command: &str, body: &str) -> anyhow::Result<()> {
    let begin = format!("<!-- {name}:begin");
    let end = format!("<!-- {name}:end -->");
    let section = format!("{begin} (written by `{command}`) -->\n{body}{end}");
    let text = std::fs::read_to_string(path)?;
    let updated = match (text.find(&begin), text.find(&end)) {
        (Some(start), Some(stop)) if start < stop => {
            format!("{}{section}{}", &text[..start], &text[stop + end.len()..])
        }
        _ => format!("{}\n{section}\n", text.trim_end()),
    };
    std::fs::write(path, updated)?;
    Ok(())
}
