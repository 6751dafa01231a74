//! The test harness: a real app per test on port 0, its own database cloned from a migrated
//! template, its own Redis prefix, and a real SMTP server (aiosmtpd) to read mail from.

use clawrent_api::clock::Clock;
use clawrent_api::config::Settings;
use clawrent_api::startup::Application;
use clawrent_api::state::AppState;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use sha2_free::checksum_hex;
use sqlx::{Connection, PgConnection, PgPool};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

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

mod sha2_free {
    /// FNV-1a over the migrations' checksums: enough to name a template per schema version.
    pub fn checksum_hex(parts: &[&[u8]]) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for part in parts {
            for byte in part.iter() {
                hash ^= u64::from(*byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{hash:016x}")
    }
}

/// A migrated template database, built once per schema version (any process may build it;
/// an advisory lock serialises them).
async fn template_database() -> String {
    let checksums: Vec<&[u8]> = clawrent_api::db::MIGRATOR
        .iter()
        .map(|m| m.checksum.as_ref())
        .collect();
    let name = format!("clawrent_tpl_{}", checksum_hex(&checksums));
    let mut admin = PgConnection::connect(&format!("{}/postgres", server_url()))
        .await
        .expect("connect to Postgres (is it running?)");
    sqlx::query("SELECT pg_advisory_lock(727274)")
        .execute(&mut admin)
        .await
        .expect("lock");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .expect("query");
    if !exists {
        let building = format!("{name}_building");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {building} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .expect("drop");
        let settings = settings_with(&[("DATABASE_URL", &format!("{}/{building}", server_url()))]);
        clawrent_api::db::migrate(&settings)
            .await
            .expect("migrate template");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {building} RENAME TO {name}"
        )))
        .execute(&mut admin)
        .await
        .expect("rename");
    }
    sqlx::query("SELECT pg_advisory_unlock(727274)")
        .execute(&mut admin)
        .await
        .expect("unlock");
    name
}

fn settings_with(pairs: &[(&str, &str)]) -> Settings {
    let vars: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Settings::from_vars(&vars).expect("test settings are valid")
}

/// One real SMTP server per test process. It stops when the process ends (it exits on stdin EOF)
/// and removes its maildir.
pub struct SmtpServer {
    pub port: u16,
    pub maildir: PathBuf,
    _child: std::sync::Mutex<Child>,
}

const SMTP_SCRIPT: &str = r#"
import shutil, sys
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
port, maildir = int(sys.argv[1]), sys.argv[2]
controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port)
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

pub fn smtp() -> &'static SmtpServer {
    static SERVER: OnceLock<SmtpServer> = OnceLock::new();
    SERVER.get_or_init(|| {
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
    })
}

impl SmtpServer {
    /// Every message delivered to `to`, oldest first.
    pub fn messages_to(&self, to: &str) -> Vec<String> {
        let mut found: Vec<(std::time::SystemTime, String)> = Vec::new();
        for dir in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let addressed = text.lines().any(|l| {
                    l.to_ascii_lowercase().starts_with("to:")
                        && l.to_ascii_lowercase().contains(&to.to_ascii_lowercase())
                });
                if addressed {
                    let modified = entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH);
                    found.push((modified, text));
                }
            }
        }
        found.sort_by_key(|(t, _)| *t);
        found.into_iter().map(|(_, text)| text).collect()
    }

    /// The newest 6-digit code mailed to `to`.
    pub fn latest_code(&self, to: &str) -> String {
        let messages = self.messages_to(to);
        let last = messages
            .last()
            .unwrap_or_else(|| panic!("no mail was delivered to {to}"));
        let at = last.find("code is ").expect("the mail states the code") + "code is ".len();
        last[at..at + 6].to_owned()
    }
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub db: PgPool,
    pub db_name: String,
    pub redis_prefix: String,
    pub clock: Clock,
    pub state: AppState,
    handle: actix_web::dev::ServerHandle,
    owns_database: bool,
}

pub struct Auth {
    headers: Vec<(&'static str, String)>,
}

impl Auth {
    pub fn none() -> Self {
        Self {
            headers: Vec::new(),
        }
    }
    pub fn bearer(token: &str) -> Self {
        Self::none().with("authorization", format!("Bearer {token}"))
    }
    pub fn api_key(key: &str) -> Self {
        Self::none().with("x-api-key", key.to_owned())
    }
    pub fn operator() -> Self {
        Self::bearer(OPERATOR_TOKEN)
    }
    pub fn tenant(self, slug: &str) -> Self {
        self.with("x-tenant", slug.to_owned())
    }
    pub fn with(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
    pub api_key: String,
    pub tenant: Option<String>,
}

impl TestUser {
    pub fn auth(&self) -> Auth {
        let auth = Auth::bearer(&self.token);
        match &self.tenant {
            Some(slug) => auth.tenant(slug),
            None => auth,
        }
    }
}

/// A 6-digit code that is certainly not `code`.
pub fn wrong_code(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", uuid::Uuid::now_v7().simple())
}

/// Spawns the app with test defaults plus `overrides`.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let template = template_database().await;
    let db_name = format!("clawrent_t_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(&format!("{}/postgres", server_url()))
        .await
        .expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {db_name} TEMPLATE {template}"
    )))
    .execute(&mut admin)
    .await
    .expect("clone template");
    let mut app = spawn_on(
        &db_name,
        &format!("t{}", uuid::Uuid::now_v7().simple()),
        overrides,
    )
    .await;
    app.owns_database = true;
    app
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// A second replica on the same database and Redis prefix as `other`.
pub async fn spawn_replica(other: &TestApp, overrides: &[(&str, &str)]) -> TestApp {
    spawn_on(&other.db_name, &other.redis_prefix, overrides).await
}

async fn spawn_on(db_name: &str, redis_prefix: &str, overrides: &[(&str, &str)]) -> TestApp {
    let database_url = format!("{}/{db_name}", server_url());
    let smtp_url = format!("smtp://127.0.0.1:{}", smtp().port);
    let redis = redis_url();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("PORT", "0"),
        ("WORKERS", "1"),
        ("DATABASE_URL", &database_url),
        ("DATABASE_MAX_CONNECTIONS", "5"),
        ("AUTO_MIGRATE", "false"),
        ("REDIS_URL", &redis),
        ("REDIS_PREFIX", redis_prefix),
        ("JWT_SECRET", "test-secret-that-is-long-enough-0123456789"),
        ("SMTP_URL", &smtp_url),
        ("PLATFORM_OPERATOR_TOKEN", OPERATOR_TOKEN),
        ("PASSWORD_HASH_CONCURRENCY", "2"),
        // Every test client shares one address (loopback) and the debug build's argon2 is slow:
        // the hash-queue bounds are lifted here; tests/api/overload.rs and the hasher's unit
        // tests set them to exercise them.
        ("PASSWORD_HASH_PER_CLIENT", "64"),
        ("PASSWORD_HASH_MAX_WAIT", "60s"),
    ];
    for (k, v) in overrides {
        pairs.retain(|(name, _)| name != k);
        pairs.push((k, v));
    }
    let settings = settings_with(&pairs);
    let clock = Clock::system();

    // The app runs on its own thread and actix system, like a separate process would.
    let (tx, rx) = std::sync::mpsc::channel();
    let app_clock = clock.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match Application::build(settings, app_clock).await {
                Ok(app) => {
                    let _ = tx.send(Ok((app.port(), app.state().clone(), app.server_handle())));
                    let _ = app.run_until_stopped().await;
                }
                Err(error) => {
                    let _ = tx.send(Err(format!("{error:#}")));
                }
            }
        });
    });
    let (port, state, handle) = tokio::task::spawn_blocking(move || rx.recv().expect("app thread"))
        .await
        .expect("join")
        .expect("the app starts");
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(3)
        .connect(&database_url)
        .await
        .expect("test pool");
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        db,
        db_name: db_name.to_owned(),
        redis_prefix: redis_prefix.to_owned(),
        clock,
        state,
        handle,
        owns_database: false,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let db_name = self.owns_database.then(|| self.db_name.clone());
        // A fresh thread and runtime: Drop runs inside the test's (now blocked) runtime, so nothing
        // owned by that runtime (like the test pool's connections) may be awaited here.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                handle.stop(false).await;
                if let Some(name) = db_name
                    && let Ok(mut admin) =
                        PgConnection::connect(&format!("{}/postgres", server_url())).await
                {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            });
        })
        .join();
    }
}

/// A response with its body read, for assertions.
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
    /// Asserts the error envelope and its code.
    pub fn expect_error(self, status: u16, code: &str) -> Self {
        let reply = self.expect(status);
        assert_eq!(reply.body["error"], code, "body: {}", reply.text);
        assert!(
            reply.body["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "no message: {}",
            reply.text
        );
        reply
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn read(response: Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

impl TestApp {
    pub fn request(&self, method: Method, path: &str, auth: &Auth) -> RequestBuilder {
        let mut builder = self
            .client
            .request(method, format!("{}{path}", self.address));
        for (name, value) in &auth.headers {
            builder = builder.header(*name, value);
        }
        builder
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> Reply {
        read(
            self.request(Method::GET, path, auth)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn post(&self, path: &str, auth: &Auth, body: &Value) -> Reply {
        read(
            self.request(Method::POST, path, auth)
                .json(body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    /// A POST exactly as the ClawRent clients send bodyless requests: no body, no Content-Type.
    pub async fn post_empty(&self, path: &str, auth: &Auth) -> Reply {
        read(
            self.request(Method::POST, path, auth)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn patch(&self, path: &str, auth: &Auth, body: &Value) -> Reply {
        read(
            self.request(Method::PATCH, path, auth)
                .json(body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn delete(&self, path: &str, auth: &Auth) -> Reply {
        read(
            self.request(Method::DELETE, path, auth)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn send_verification(&self, email: &str, auth: &Auth) -> Reply {
        self.post(
            "/api/auth/send-verification",
            auth,
            &json!({ "email": email }),
        )
        .await
    }

    pub async fn register(&self, email: &str, password: &str, code: &str, auth: &Auth) -> Reply {
        let body = json!({ "email": email, "password": password, "name": "Test User", "verificationCode": code });
        self.post("/api/auth/register", auth, &body).await
    }

    pub async fn login(&self, email: &str, password: &str, auth: &Auth) -> Reply {
        self.post(
            "/api/auth/login",
            auth,
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn me(&self, auth: &Auth) -> Reply {
        self.get("/api/auth/me", auth).await
    }

    /// Registers a new user in `tenant` (None = default) through the real mail flow.
    pub async fn signup_in(&self, tenant: Option<&str>) -> TestUser {
        let email = unique_email("user");
        let scope = |auth: Auth| match tenant {
            Some(slug) => auth.tenant(slug),
            None => auth,
        };
        self.send_verification(&email, &scope(Auth::none()))
            .await
            .expect(200);
        let code = smtp().latest_code(&email);
        let reply = self
            .register(&email, PASSWORD, &code, &scope(Auth::none()))
            .await
            .expect(201);
        TestUser {
            id: reply.body["user"]["id"].as_str().expect("id").to_owned(),
            email,
            password: PASSWORD.to_owned(),
            token: reply.body["token"].as_str().expect("token").to_owned(),
            api_key: reply.body["apiKey"].as_str().expect("apiKey").to_owned(),
            tenant: tenant.map(str::to_owned),
        }
    }

    pub async fn signup(&self) -> TestUser {
        self.signup_in(None).await
    }

    /// Creates a tenant through the platform API and returns its slug.
    pub async fn create_tenant(&self, tag: &str) -> String {
        let slug = format!("{tag}-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
        self.post(
            "/api/platform/tenants",
            &Auth::operator(),
            &json!({ "slug": slug, "name": format!("Tenant {tag}") }),
        )
        .await
        .expect(201);
        slug
    }

    /// Creates an admin in `tenant` through the platform API and logs in.
    pub async fn admin_in(&self, tenant: &str) -> TestUser {
        let email = unique_email("admin");
        let body = json!({ "email": email, "password": PASSWORD, "name": "Admin" });
        let reply = self
            .post(
                &format!("/api/platform/tenants/{tenant}/admins"),
                &Auth::operator(),
                &body,
            )
            .await
            .expect(201);
        let login = self
            .login(&email, PASSWORD, &Auth::none().tenant(tenant))
            .await
            .expect(200);
        TestUser {
            id: reply.body["user"]["id"].as_str().expect("id").to_owned(),
            email,
            password: PASSWORD.to_owned(),
            token: login.body["token"].as_str().expect("token").to_owned(),
            api_key: String::new(),
            tenant: Some(tenant.to_owned()),
        }
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.db)
            .await
            .expect("count query")
    }
}

/// A listed agent and the people around it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: String,
    pub slug: String,
    pub provider: TestUser,
    pub admin: TestUser,
}

pub fn unique_slug(tag: &str) -> String {
    format!("{tag}-{}", &uuid::Uuid::now_v7().simple().to_string()[18..])
}

impl TestApp {
    /// Registers a draft agent for `owner` and returns its id.
    pub async fn create_agent(&self, owner: &TestUser, slug: &str, extra: Value) -> String {
        let mut body = json!({
            "name": format!("Agent {slug}"),
            "slug": slug,
            "description": "An agent that helps with tests and more",
            "capabilities": [{ "category": "testing", "name": "Test writing", "description": "writes tests", "tags": ["rust"] }],
        });
        if let (Some(target), Some(more)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in more {
                target.insert(k.clone(), v.clone());
            }
        }
        let reply = self
            .post("/api/agents", &owner.auth(), &body)
            .await
            .expect(201);
        reply.body["id"].as_str().expect("id").to_owned()
    }

    /// Publishes the agent with `terms` (`json!({})` for the defaults).
    pub async fn publish(&self, owner: &TestUser, agent: &str, terms: Value) -> Reply {
        self.post(
            &format!("/api/agents/{agent}/publish"),
            &owner.auth(),
            &terms,
        )
        .await
    }

    pub async fn review(
        &self,
        admin: &TestUser,
        agent: &str,
        action: &str,
        reason: Option<&str>,
    ) -> Reply {
        let path = format!("/api/admin/providers/{agent}/{action}");
        match reason {
            Some(reason) => {
                self.post(&path, &admin.auth(), &json!({ "reason": reason }))
                    .await
            }
            None => self.post_empty(&path, &admin.auth()).await,
        }
    }

    /// The default tenant's admin for this app (created on first use through the platform API).
    pub async fn default_admin(&self) -> TestUser {
        let mut admin = self.admin_in("default").await;
        admin.tenant = None;
        admin
    }

    /// A provider's agent, published with `terms` and approved by `admin`: it is in the marketplace.
    pub async fn listed_agent_with(
        &self,
        provider: &TestUser,
        admin: &TestUser,
        slug: &str,
        terms: Value,
    ) -> String {
        let id = self.create_agent(provider, slug, json!({})).await;
        self.publish(provider, &id, terms).await.expect(200);
        self.review(admin, &id, "approve", None).await.expect(200);
        id
    }

    /// A fresh provider, admin and listed agent in the default tenant.
    pub async fn listed_agent(&self) -> Listed {
        let provider = self.signup().await;
        let admin = self.default_admin().await;
        let slug = unique_slug("listed");
        let id = self
            .listed_agent_with(&provider, &admin, &slug, json!({ "priceAmount": "5.00" }))
            .await;
        Listed {
            id,
            slug,
            provider,
            admin,
        }
    }

    /// Issues an agent token for `agent` (owned by `owner`).
    pub async fn agent_token(&self, owner: &TestUser, agent: &str) -> String {
        let reply = self
            .post_empty(&format!("/api/agents/{agent}/token"), &owner.auth())
            .await
            .expect(201);
        reply.body["token"].as_str().expect("token").to_owned()
    }

    /// Marks the agent connected in Redis exactly as a live `/ws/agent` socket does (the
    /// WebSocket endpoint comes with the sessions issue; presence is its Redis key).
    pub async fn set_connected(&self, tenant: uuid::Uuid, agent: &str, connected: bool) {
        let agent: uuid::Uuid = agent.parse().expect("agent id");
        let key = clawrent_api::realtime::presence::agent_key(&self.state.redis, tenant, agent);
        let client = redis::Client::open(redis_url()).expect("redis url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis");
        let _: () = if connected {
            redis::cmd("SET")
                .arg(&key)
                .arg("1")
                .arg("EX")
                .arg(60)
                .query_async(&mut conn)
                .await
                .expect("set")
        } else {
            redis::cmd("DEL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .expect("del")
        };
    }

    pub async fn tenant_id(&self, slug: &str) -> uuid::Uuid {
        sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1")
            .bind(slug)
            .fetch_one(&self.db)
            .await
            .expect("tenant")
    }
}
