//! The real `clawrent` binary, for the tests that run it as a process.

use super::workspace_root;
use std::path::PathBuf;

/// The debug binary `make test` builds (`cargo build --workspace --bins`).
pub fn clawrent_binary() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map_or_else(|_| workspace_root().join("target"), PathBuf::from);
    let path = target.join("debug/clawrent");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (make test does)",
        path.display()
    );
    path
}

/// The binary with a clean environment plus `vars`, for plain (sync) `#[test]`s.
pub fn clawrent_blocking(vars: &[(&str, &str)]) -> std::process::Command {
    let mut command = std::process::Command::new(clawrent_binary());
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn");
    for (k, v) in vars {
        command.env(k, v);
    }
    command
}

/// The binary with a clean environment plus `vars`, for async tests: its `output()`, `status()`
/// and `wait()` are awaited, so the test's runtime (and its pooled connections) keeps running.
/// The process is killed if the test drops it (a failed assertion).
pub fn clawrent(vars: &[(&str, &str)]) -> tokio::process::Command {
    let mut command = tokio::process::Command::from(clawrent_blocking(vars));
    command.kill_on_drop(true);
    command
}
