//! The test harness: a real app per test on port 0, its own database cloned from a migrated
//! template, its own Redis prefix, and a real SMTP server (aiosmtpd) to read mail from.
//!
//! One rule holds everywhere in it: nothing here blocks the test's async runtime. Child processes
//! run through `tokio::process`, waits are awaited, and the one blocking start-up (the SMTP
//! server, once per process) runs on `spawn_blocking`. A blocked runtime is not only slow: a wait
//! longer than the server's keep-alive lets the server close a pooled connection that the client
//! then reuses (`hyper::Error(IncompleteMessage)`); `http_client` keeps its idle connections for
//! less than that keep-alive, and `clients::` proves it.

mod agents;
mod app;
mod client;
mod database;
mod paging;
mod process;
mod reply;
mod smtp;
mod time;
mod users;

pub use agents::*;
pub use app::*;
pub use client::*;
pub use paging::*;
pub use process::*;
pub use reply::*;
pub use smtp::*;
pub use time::*;
pub use users::*;

use std::path::{Path, PathBuf};

pub const OPERATOR_TOKEN: &str = "test-operator-token-0123456789abcdef";
pub const PASSWORD: &str = "correct horse battery staple";

fn server_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}
