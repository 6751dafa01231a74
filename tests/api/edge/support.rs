//! Helpers the edge tests need and `helpers.rs` lacks: raw JSON bodies, a row-count snapshot of
//! every table, base64url for cursor surgery, and a raw HTTP/1.1 exchange over a tokio TcpStream
//! (for the errors the HTTP layer answers before any handler runs).

use crate::helpers::{Auth, Reply, TestApp, read};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The longest any raw exchange may take before the test fails as hung (a guard, not a timing).
pub const HANG_GUARD: Duration = Duration::from_secs(60);

impl TestApp {
    /// Sends `body` exactly as written, as `application/json`.
    pub async fn send_raw_json(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: &str,
    ) -> Reply {
        read(
            self.request(method, path, auth)
                .header("content-type", "application/json")
                .body(body.to_owned())
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    /// Row counts of every table of the app's database (migrations bookkeeping excluded).
    pub async fn snapshot(&self) -> BTreeMap<String, i64> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations' ORDER BY 1",
        )
        .fetch_all(&self.db)
        .await
        .expect("tables");
        let mut counts = BTreeMap::new();
        for table in tables {
            let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM \"{table}\""
            )))
            .fetch_one(&self.db)
            .await
            .expect("count");
            counts.insert(table, count);
        }
        counts
    }
}

/// Asserts the error envelope: `{"error": code, "message": non-empty}`.
pub fn assert_envelope(reply: &Reply, status: u16, code: &str, case: &str) {
    assert_eq!(
        (reply.status.as_u16(), reply.body["error"].as_str()),
        (status, Some(code)),
        "{case}: body {}",
        reply.text
    );
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{case}: no message in {}",
        reply.text
    );
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub fn base64url_decode(text: &str) -> Vec<u8> {
    let (mut bits, mut count, mut out) = (0u32, 0, Vec::new());
    for c in text.bytes() {
        let value = B64
            .iter()
            .position(|b| *b == c)
            .expect("a base64url character") as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A response read off a raw socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub status_line: String,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the server closed the connection after the response.
    pub closed: bool,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Asserts status, `Content-Type: application/json`, `Content-Length` equal to the body's
    /// length, and the `{"error": code, "message"}` envelope.
    pub fn assert_json_error(&self, status: u16, code: &str, case: &str) {
        let shown = format!(
            "{case}: {self:?} body {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.status, status, "{shown}");
        assert!(
            self.header("content-type")
                .is_some_and(|v| v.starts_with("application/json")),
            "{shown}"
        );
        let declared: Option<usize> = self
            .header("content-length")
            .and_then(|v| v.trim().parse().ok());
        assert_eq!(declared, Some(self.body.len()), "{shown}");
        let body = self.json();
        assert_eq!(body["error"], code, "{shown}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{shown}"
        );
    }
}

/// Writes `request` on a fresh connection (concurrently with reading, so a server that answers
/// before reading everything is still heard) and never sends more nor closes its side: a request
/// cut short stalls. Reads one response and, with `await_close`, waits for the server to close
/// the connection (`closed` is false otherwise). Panics after [`HANG_GUARD`].
pub async fn raw_exchange(port: u16, request: Vec<u8>, await_close: bool) -> RawResponse {
    let exchange = async move {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let (mut reader, mut writer) = stream.into_split();
        // The writer keeps its half open after writing: the client stalls rather than closes.
        let write = tokio::spawn(async move {
            let _ = writer.write_all(&request).await;
            let _ = writer.flush().await;
            writer
        });
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        let (head_end, length) = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    break (end, length);
                }
            }
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => panic!(
                    "the connection ended before a whole response: {:?}",
                    String::from_utf8_lossy(&buf)
                ),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let extra = &buf[head_end + 4 + length..];
        assert!(extra.is_empty(), "bytes after the response: {extra:?}");
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default().to_owned();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let body = buf[head_end + 4..head_end + 4 + length].to_vec();
        // A server that keeps the connection open makes this wait until the hang guard.
        let closed = await_close && matches!(reader.read(&mut chunk).await, Ok(0) | Err(_));
        drop(write.await);
        RawResponse {
            status,
            status_line,
            headers,
            body,
            closed,
        }
    };
    tokio::time::timeout(HANG_GUARD, exchange)
        .await
        .expect("the exchange (answer, and close when awaited) ended within the hang guard")
}
