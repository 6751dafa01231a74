//! One real SMTP server (aiosmtpd) per test process, filing each message under its recipient.

use super::workspace_root;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// The SMTP server. It stops when the test process ends (it exits on stdin EOF) and removes its
/// maildir.
pub struct SmtpServer {
    pub port: u16,
    pub maildir: PathBuf,
    _child: std::sync::Mutex<Child>,
}

/// Each message is written to `<maildir>/<hex of the lowercased recipient>/<sequence>.eml`
/// before the server answers `250`, so it is there when the app's request returns, and reading
/// one recipient's mail touches only that recipient's few files (however much mail the process
/// has received).
const SMTP_SCRIPT: &str = r#"
import itertools, os, shutil, sys
from aiosmtpd.controller import Controller
port, maildir = int(sys.argv[1]), sys.argv[2]
os.makedirs(maildir, exist_ok=True)
sequence = itertools.count(1)

class PerRecipient:
    async def handle_DATA(self, server, session, envelope):
        data = envelope.content
        if isinstance(data, str):
            data = data.encode()
        for rcpt in envelope.rcpt_tos:
            folder = os.path.join(maildir, rcpt.lower().encode().hex())
            os.makedirs(folder, exist_ok=True)
            name = "%012d.eml" % next(sequence)
            partial = os.path.join(maildir, name + ".partial")
            with open(partial, "wb") as out:
                out.write(data)
            os.replace(partial, os.path.join(folder, name))
        return "250 Message accepted for delivery"

controller = Controller(PerRecipient(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
shutil.rmtree(maildir, ignore_errors=True)
"#;

fn python() -> PathBuf {
    if let Ok(path) = std::env::var("CLAWRENT_TEST_PYTHON") {
        return PathBuf::from(path);
    }
    let venv = workspace_root().join(".tools/venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// The process's SMTP server, started on first use (a blocking start: from async code, await
/// `smtp_started()` first, as `spawn_app` does, so every later `smtp()` call only reads a cell;
/// the mail is read with `tokio::fs`, awaited).
pub fn smtp() -> &'static SmtpServer {
    static SERVER: OnceLock<SmtpServer> = OnceLock::new();
    SERVER.get_or_init(start)
}

/// Starts the SMTP server off the async runtime if it is not running yet.
pub async fn smtp_started() -> &'static SmtpServer {
    tokio::task::spawn_blocking(smtp)
        .await
        .expect("the SMTP server starts")
}

fn start() -> SmtpServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let maildir = std::env::temp_dir().join(format!(
        "clawrent-maildir-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let mut child = Command::new(python())
        .args([
            "-c",
            SMTP_SCRIPT,
            &port.to_string(),
            &maildir.to_string_lossy(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start aiosmtpd (run `make test`, or deploy/test-tools.sh, to install it)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    assert_eq!(
        line.trim(),
        "ready",
        "aiosmtpd did not start (is it installed? run deploy/test-tools.sh)"
    );
    SmtpServer {
        port,
        maildir,
        _child: std::sync::Mutex::new(child),
    }
}

impl SmtpServer {
    /// Every message delivered to `to`, oldest first.
    pub async fn messages_to(&self, to: &str) -> Vec<String> {
        let folder: String = to
            .to_lowercase()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        let Ok(mut entries) = tokio::fs::read_dir(self.maildir.join(folder)).await else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = Vec::new();
        while let Ok(Some(entry)) = entries.next_entry().await {
            paths.push(entry.path());
        }
        paths.sort();
        let mut messages = Vec::with_capacity(paths.len());
        for path in &paths {
            messages.push(tokio::fs::read_to_string(path).await.unwrap_or_default());
        }
        messages
    }

    /// The newest 6-digit code mailed to `to`.
    pub async fn latest_code(&self, to: &str) -> String {
        let messages = self.messages_to(to).await;
        let last = messages
            .last()
            .unwrap_or_else(|| panic!("no mail was delivered to {to}"));
        let at = last.find("code is ").expect("the mail states the code") + "code is ".len();
        last[at..at + 6].to_owned()
    }
}
