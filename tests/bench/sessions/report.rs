//! docs/benchmarks-sessions.json and the sessions section of docs/benchmarks.md.

use crate::common::{self, median, spread, verdict, verdict_at_most};
use crate::cpu::PerRequest;
use serde_json::{Value, json};

/// One HTTP phase, reduced.
#[derive(Clone, Copy)]
pub struct Sample {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub cpu: PerRequest,
}

/// A throughput point: the ceiling and the project, one value per round.
pub struct Point {
    pub clients: usize,
    pub ceiling: Vec<f64>,
    pub project: Vec<Sample>,
    pub ran_dry: usize,
}

impl Point {
    fn rates(&self) -> Vec<f64> {
        self.project.iter().map(|s| s.per_second).collect()
    }

    fn p50s(&self) -> Vec<f64> {
        self.project.iter().map(|s| s.p50_ms).collect()
    }

    fn p99s(&self) -> Vec<f64> {
        self.project.iter().map(|s| s.p99_ms).collect()
    }

    fn cpu(&self, part: impl Fn(&PerRequest) -> f64) -> Vec<f64> {
        self.project.iter().map(|s| part(&s.cpu)).collect()
    }

    /// Median CPU µs per request: server / Postgres / load generator.
    fn cpu_cell(&self) -> String {
        format!(
            "{:.0} / {:.0} / {:.0}",
            median(&self.cpu(|c| c.server_us)),
            median(&self.cpu(|c| c.postgres_us)),
            median(&self.cpu(|c| c.client_us))
        )
    }

    pub fn ratio(&self) -> f64 {
        median(&self.rates()) / median(&self.ceiling)
    }

    fn json(&self) -> Value {
        json!({
            "clients": self.clients, "ceiling_tps": self.ceiling, "http_per_s": self.rates(),
            "p50_ms": self.p50s(), "p99_ms": self.p99s(), "ceiling_median": median(&self.ceiling),
            "http_median": median(&self.rates()), "p50_ms_median": median(&self.p50s()),
            "p99_ms_median": median(&self.p99s()), "ratio": self.ratio(),
            "clients_whose_sessions_ran_out": self.ran_dry,
            "cpu_us_per_request": {
                "server": self.cpu(|c| c.server_us), "postgres_backends": self.cpu(|c| c.postgres_us),
                "load_generator": self.cpu(|c| c.client_us),
            },
        })
    }
}

/// A history shape: p50 and p99 per round.
pub struct Pages {
    pub shape: &'static str,
    pub p50_ms: Vec<f64>,
    pub p99_ms: Vec<f64>,
}

pub struct Report {
    pub load_before: String,
    pub seconds: u64,
    pub rounds: usize,
    pub pages_per_round: usize,
    pub settlement: Vec<Point>,
    pub messages: Vec<Point>,
    pub history: Vec<Pages>,
}

fn range(xs: &[f64], digits: usize) -> String {
    let (lo, hi) = spread(xs);
    format!("{lo:.digits$}–{hi:.digits$}")
}

impl Report {
    fn settlement_table(&self) -> String {
        let mut t = String::from(
            "| Clients | pgbench simple-update tps (median, spread) | settlements/s over HTTP (median, spread) | p50 / p99 (ms) | CPU µs per request: server / Postgres / load generator | ratio | budget ≥ 0.5 (alarm < 0.2) |\n|---|---|---|---|---|---|---|\n",
        );
        for p in &self.settlement {
            t.push_str(&format!(
                "| {} | {:.0} ({}) | {:.0} ({}) | {:.1} / {:.1} | {} | {:.2} | {} |\n",
                p.clients,
                median(&p.ceiling),
                range(&p.ceiling, 0),
                median(&p.rates()),
                range(&p.rates(), 0),
                median(&p.p50s()),
                median(&p.p99s()),
                p.cpu_cell(),
                p.ratio(),
                verdict(p.ratio(), 0.5, 0.2)
            ));
        }
        if let (Some(lo), Some(hi)) = (self.settlement.first(), self.settlement.last()) {
            let scaling = median(&hi.rates()) / median(&lo.rates());
            let ceiling = median(&hi.ceiling) / median(&lo.ceiling);
            t.push_str(&format!(
                "\nSettlements/s at {} clients ÷ at {}: **{scaling:.2}** (budget ≥ 1.0, alarm < 0.8: {}); \
                 the ceiling's own ratio in the same run: {ceiling:.2}.\n",
                hi.clients,
                lo.clients,
                verdict(scaling, 1.0, 0.8)
            ));
        }
        t
    }

    fn messages_table(&self) -> String {
        let mut t = String::from(
            "| Clients | message-INSERT pgbench tps (median, spread) | messages/s over HTTP (median, spread) | p50 (ms) | p99 (ms, median, spread) | CPU µs per request: server / Postgres / load generator | ratio | budget: ratio ≥ 0.5 (alarm < 0.2) with p99 ≤ 50 ms |\n|---|---|---|---|---|---|---|---|\n",
        );
        for p in &self.messages {
            let p99 = median(&p.p99s());
            let v = if p99 > 50.0 {
                "p99 over 50 ms: not sustained at this concurrency"
            } else {
                verdict(p.ratio(), 0.5, 0.2)
            };
            t.push_str(&format!(
                "| {} | {:.0} ({}) | {:.0} ({}) | {:.1} | {p99:.1} ({}) | {} | {:.2} | {v} |\n",
                p.clients,
                median(&p.ceiling),
                range(&p.ceiling, 0),
                median(&p.rates()),
                range(&p.rates(), 0),
                median(&p.p50s()),
                range(&p.p99s(), 1),
                p.cpu_cell(),
                p.ratio(),
            ));
        }
        t
    }

    fn history_table(&self) -> String {
        let mut t = String::from(
            "| Stored messages | p50 (ms, median of rounds, spread) | p99 (ms) | p50 ratio to 100 messages | budget ≤ 1.2 (alarm > 2.0) |\n|---|---|---|---|---|\n",
        );
        let base = self.history.first().map(|h| median(&h.p50_ms));
        for h in &self.history {
            let p50 = median(&h.p50_ms);
            let ratio = base.map(|b| p50 / b).unwrap_or(f64::NAN);
            t.push_str(&format!(
                "| {} | {p50:.2} ({}) | {:.2} | {ratio:.2} | {} |\n",
                h.shape,
                range(&h.p50_ms, 2),
                median(&h.p99_ms),
                verdict_at_most(ratio, 1.2, 2.0)
            ));
        }
        t
    }

    fn json(&self, commit: &str, load: &str) -> Value {
        let base = self.history.first().map(|h| median(&h.p50_ms));
        json!({
            "commit": commit, "date": chrono::Utc::now().to_rfc3339(), "load_avg_1m": load,
            "seconds_per_point": self.seconds, "rounds": self.rounds,
            "settlement": self.settlement.iter().map(Point::json).collect::<Vec<_>>(),
            "messages": self.messages.iter().map(Point::json).collect::<Vec<_>>(),
            "history": {
                "pages_per_round": self.pages_per_round,
                "shapes": self.history.iter().map(|h| json!({
                    "shape": h.shape, "p50_ms": h.p50_ms, "p99_ms": h.p99_ms,
                    "p50_ms_median": median(&h.p50_ms), "p99_ms_median": median(&h.p99_ms),
                    "ratio": base.map(|b| median(&h.p50_ms) / b),
                })).collect::<Vec<_>>(),
            },
        })
    }

    /// Writes both files and returns the markdown written.
    pub fn write(&self) -> anyhow::Result<String> {
        let commit = common::commit();
        let load = format!(
            "{} before, {} at the end",
            self.load_before,
            common::load_average()
        );
        let dry: usize = self.settlement.iter().map(|p| p.ran_dry).sum();
        let dry_note = if dry > 0 {
            format!(
                "\n**A settlement client ran out of sessions before the deadline {dry} time(s): those rates are lower bounds.**\n"
            )
        } else {
            String::new()
        };
        let body = format!(
            "Run of commit {commit}, load average {load}, {} s per throughput point, {} rounds, \
             {} pages per history point and round:\n\n\
             Settlement (`POST /api/sessions/{{id}}/end`, distinct wallets):\n\n{}{dry_note}\n\
             Message sends (`POST /api/sessions/{{id}}/messages`, one session per client):\n\n{}\n\
             History page (`GET /api/sessions/{{id}}/messages?afterSeq=N&limit=50`, one connection, sequential):\n\n{}",
            self.seconds,
            self.rounds,
            self.pages_per_round,
            self.settlement_table(),
            self.messages_table(),
            self.history_table(),
        );
        let docs = common::root().join("docs");
        std::fs::write(
            docs.join("benchmarks-sessions.json"),
            serde_json::to_string_pretty(&self.json(&commit, &load))? + "\n",
        )?;
        common::write_section(
            &docs.join("benchmarks.md"),
            "sessions",
            "make bench-sessions",
            &body,
        )?;
        Ok(body)
    }
}
