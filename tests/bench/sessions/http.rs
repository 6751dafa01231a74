//! A minimal HTTP/1.1 keep-alive client and closed-loop load: each client has one connection and
//! sends its next request when the previous answer has been read, recording every latency.
//!
//! Hand-written rather than reqwest or wrk: the load generator shares two cores with the server and
//! Postgres, so it should cost as little as possible, and each client must own its sessions
//! (wrk's connections share one script state per thread). The server always answers with a
//! Content-Length (actix-web's JSON responses); anything else is an error here.

use anyhow::{Context, bail};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub struct Client {
    port: u16,
    stream: BufReader<TcpStream>,
    out: Vec<u8>,
    line: String,
}

pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Client {
    pub async fn connect(port: u16) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            port,
            stream: BufReader::new(stream),
            out: Vec::with_capacity(1024),
            line: String::with_capacity(128),
        })
    }

    /// Sends one request and reads its response. `body` is JSON; `None` sends no body.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&[u8]>,
    ) -> anyhow::Result<Response> {
        use std::io::Write;
        self.out.clear();
        write!(
            self.out,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n",
            self.port
        )?;
        if let Some(token) = token {
            write!(self.out, "Authorization: Bearer {token}\r\n")?;
        }
        match body {
            Some(body) => {
                write!(
                    self.out,
                    "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )?;
                self.out.extend_from_slice(body);
            }
            None if method == "GET" => self.out.extend_from_slice(b"\r\n"),
            None => self.out.extend_from_slice(b"Content-Length: 0\r\n\r\n"),
        }
        self.stream.get_mut().write_all(&self.out).await?;
        self.read_response().await
    }

    async fn read_line(&mut self) -> anyhow::Result<&str> {
        self.line.clear();
        if self.stream.read_line(&mut self.line).await? == 0 {
            bail!("the server closed the connection");
        }
        Ok(self.line.trim_end())
    }

    async fn read_response(&mut self) -> anyhow::Result<Response> {
        let status_line = self.read_line().await?;
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("malformed status line {status_line:?}"))?;
        let mut length = None;
        loop {
            let line = self.read_line().await?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                bail!("malformed header {line:?}");
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>()?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                bail!("unexpected Transfer-Encoding: {value}");
            } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close")
            {
                bail!("the server closes the connection (status {status})");
            }
        }
        let mut body = vec![0; length.context("a response without Content-Length")?];
        self.stream.read_exact(&mut body).await?;
        Ok(Response { status, body })
    }
}

/// One request of a client's work.
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub body: Option<Vec<u8>>,
}

/// What one client sends: a queue consumed once (each request ends another session), or one
/// request repeated until the deadline.
pub enum Work {
    Queue(Vec<Request>),
    Repeat(Request),
}

pub struct ClientWork {
    pub token: String,
    pub work: Work,
}

/// What a closed-loop phase measured.
pub struct Phase {
    pub requests: u64,
    pub seconds: f64,
    /// Latencies in microseconds, sorted.
    pub latencies_us: Vec<u64>,
    /// Clients whose queue ran out before the deadline (the rate is then a lower bound).
    pub ran_dry: usize,
}

impl Phase {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        percentile_ms(&self.latencies_us, p)
    }
}

/// The `p` quantile (0-1) of sorted microsecond latencies, in milliseconds.
pub fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted_us.len() as f64 * p).ceil() as usize).clamp(1, sorted_us.len());
    sorted_us[rank - 1] as f64 / 1000.0
}

/// Runs every client at once until `duration` has passed (or its queue is empty); each request
/// must answer `expect`.
pub async fn closed_loop(
    port: u16,
    clients: Vec<ClientWork>,
    duration: Duration,
    expect: u16,
) -> anyhow::Result<Phase> {
    let mut connections = Vec::with_capacity(clients.len());
    for _ in &clients {
        connections.push(Client::connect(port).await?);
    }
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(clients.len());
    for (mut conn, client) in connections.into_iter().zip(clients) {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(8192);
            let token = Some(client.token.as_str());
            let (mut queue, repeat) = match client.work {
                Work::Queue(q) => (q.into_iter(), None),
                Work::Repeat(r) => (Vec::new().into_iter(), Some(r)),
            };
            let mut current = None;
            loop {
                if start.elapsed() >= duration {
                    return anyhow::Ok((latencies, false));
                }
                if repeat.is_none() {
                    match queue.next() {
                        Some(r) => current = Some(r),
                        None => return Ok((latencies, true)),
                    }
                }
                let request = repeat
                    .as_ref()
                    .or(current.as_ref())
                    .context("a client without work")?;
                let sent = Instant::now();
                let response = conn
                    .send(
                        request.method,
                        &request.path,
                        token,
                        request.body.as_deref(),
                    )
                    .await?;
                latencies.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
                if response.status != expect {
                    bail!(
                        "{} {}: HTTP {} {}",
                        request.method,
                        request.path,
                        response.status,
                        response.text()
                    );
                }
            }
        }));
    }
    let mut all = Vec::new();
    let mut ran_dry = 0;
    for task in tasks {
        let (latencies, dry) = task.await??;
        all.extend(latencies);
        ran_dry += usize::from(dry);
    }
    let seconds = start.elapsed().as_secs_f64();
    all.sort_unstable();
    Ok(Phase {
        requests: all.len() as u64,
        seconds,
        latencies_us: all,
        ran_dry,
    })
}

/// `n` requests one after another on one keep-alive connection (after `warmup` unmeasured ones),
/// each built by `path(i)`; every one must answer 200. Sorted latencies in microseconds.
pub async fn sequential(
    port: u16,
    token: &str,
    warmup: usize,
    n: usize,
    mut path: impl FnMut(usize) -> String,
) -> anyhow::Result<Vec<u64>> {
    let mut conn = Client::connect(port).await?;
    let mut latencies = Vec::with_capacity(n);
    for i in 0..warmup + n {
        let p = path(i);
        let sent = Instant::now();
        let response = conn.send("GET", &p, Some(token), None).await?;
        let took = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        if response.status != 200 {
            bail!("GET {p}: HTTP {} {}", response.status, response.text());
        }
        if i >= warmup {
            latencies.push(took);
        }
    }
    latencies.sort_unstable();
    Ok(latencies)
}
