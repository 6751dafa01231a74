//! `TestApp`: the real application on port 0, on its own thread and actix system, with its own
//! database (cloned from the template) and Redis prefix.

use super::database::{settings_with, template_database};
use super::{OPERATOR_TOKEN, http_client, redis_url, server_url, smtp_started};
use clawrent_api::clock::Clock;
use clawrent_api::startup::Application;
use clawrent_api::state::AppState;
use sqlx::{Connection, PgConnection, PgPool};

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
    let smtp_url = format!("smtp://127.0.0.1:{}", smtp_started().await.port);
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
    let (tx, rx) = tokio::sync::oneshot::channel();
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
    let (port, state, handle) = rx
        .await
        .expect("the app thread answers")
        .expect("the app starts");
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(3)
        .connect(&database_url)
        .await
        .expect("test pool");
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: http_client(),
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
        // owned by that runtime (like the test pool's connections) may be awaited here. Drop cannot
        // await, so the join blocks the test's runtime while the server stops and the database is
        // dropped; this app is finished with by then, and a connection to another app the test
        // still uses (a replica) is not reused after a long wait: `http_client` expires idle
        // connections before the server's keep-alive does.
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
