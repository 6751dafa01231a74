//! The release binary (`clawrent serve`) as a child process on a free port, stopped on drop.

use crate::http::Client;
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const JWT_SECRET: &str = "bench-sessions-secret-that-is-long-enough-0123456789";

pub struct Server {
    pub port: u16,
    child: Child,
}

/// `clawrent`, built by `cargo build --release -p clawrent-api` next to this binary.
fn binary() -> anyhow::Result<PathBuf> {
    let bin = std::env::current_exe()?.with_file_name("clawrent");
    if !bin.exists() {
        bail!(
            "{} is missing: build it first (cargo build --release -p clawrent-api)",
            bin.display()
        );
    }
    Ok(bin)
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl Server {
    /// Serves `database_url` with a pool of `pool` connections (migrations are the caller's).
    pub async fn start(name: &str, database_url: &str, pool: usize) -> anyhow::Result<Self> {
        let port = free_port()?;
        let dir = std::env::temp_dir().join("clawrent-bench-sessions");
        std::fs::create_dir_all(&dir)?;
        let log = std::fs::File::create(dir.join(format!("{name}.log")))?;
        let child = Command::new(binary()?)
            .arg("serve")
            .current_dir(&dir)
            .env("DATABASE_URL", database_url)
            .env("DATABASE_MAX_CONNECTIONS", pool.to_string())
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("AUTO_MIGRATE", "false")
            .env("JWT_SECRET", JWT_SECRET)
            .env(
                "PLATFORM_OPERATOR_TOKEN",
                "bench-sessions-operator-token-0123456789",
            )
            .env("REDIS_PREFIX", format!("bench-sessions-{port}"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting clawrent serve")?;
        let mut server = Self { port, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut probe) = Client::connect(port).await
                && let Ok(r) = probe.send("GET", "/healthz", None, None).await
                && r.status == 200
            {
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "clawrent serve for {name} exited ({status}); see {}",
                    dir.join(format!("{name}.log")).display()
                );
            }
            if Instant::now() > deadline {
                bail!("clawrent serve for {name} did not answer /healthz within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Why a request could not reach the server: its exit status when it has exited.
    pub fn explain(&mut self, err: anyhow::Error) -> anyhow::Error {
        match self.child.try_wait() {
            Ok(Some(status)) => {
                err.context(format!("the server on port {} exited: {status}", self.port))
            }
            _ => err,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
