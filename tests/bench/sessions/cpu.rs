//! Where a phase's CPU went, from /proc: the server process (all its threads), the Postgres
//! backends connected to the bench database, and this load generator. Divided by the requests
//! served, it says what one request costs in CPU, independently of how busy the machine was.

use sqlx::PgPool;
use std::collections::HashMap;
use std::process::Command;

/// utime + stime of a process in clock ticks (fields 14 and 15 of /proc/<pid>/stat).
fn ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU seconds of the server, the database's backends and this process at one moment.
pub struct Snapshot {
    server: u64,
    backends: HashMap<u32, u64>,
    client: u64,
}

/// What a phase cost, in CPU microseconds per request.
#[derive(Clone, Copy, Default)]
pub struct PerRequest {
    pub server_us: f64,
    pub postgres_us: f64,
    pub client_us: f64,
}

pub struct Meter {
    server_pid: u32,
    db: String,
    tick_us: f64,
}

impl Meter {
    pub fn new(server_pid: u32, db: &str) -> Self {
        Self {
            server_pid,
            db: db.to_owned(),
            tick_us: 1e6 / ticks_per_second(),
        }
    }

    pub async fn snapshot(&self, pool: &PgPool) -> anyhow::Result<Snapshot> {
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&self.db)
        .fetch_all(pool)
        .await?;
        let backends = pids
            .into_iter()
            .filter_map(|pid| u32::try_from(pid).ok())
            .filter_map(|pid| ticks(pid).map(|t| (pid, t)))
            .collect();
        Ok(Snapshot {
            server: ticks(self.server_pid).unwrap_or(0),
            backends,
            client: ticks(std::process::id()).unwrap_or(0),
        })
    }

    /// The CPU spent between two snapshots per request. A backend that connected in between
    /// counts from zero; one that disconnected is lost (the pool keeps its connections open).
    pub fn per_request(&self, before: &Snapshot, after: &Snapshot, requests: u64) -> PerRequest {
        let postgres: u64 = after
            .backends
            .iter()
            .map(|(pid, t)| t.saturating_sub(before.backends.get(pid).copied().unwrap_or(0)))
            .sum();
        let per = |ticks: u64| ticks as f64 * self.tick_us / requests.max(1) as f64;
        PerRequest {
            server_us: per(after.server.saturating_sub(before.server)),
            postgres_us: per(postgres),
            client_us: per(after.client.saturating_sub(before.client)),
        }
    }
}
