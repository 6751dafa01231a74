//! Postgres: pool, database creation and migrations.

use crate::config::Settings;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use std::str::FromStr;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

fn connect_options(settings: &Settings) -> anyhow::Result<PgConnectOptions> {
    let statement_timeout = format!("{}ms", settings.database_statement_timeout.as_millis());
    Ok(PgConnectOptions::from_str(settings.database_url.expose())?
        .options([
            ("statement_timeout", statement_timeout.as_str()),
            ("idle_in_transaction_session_timeout", "60s"),
            // Marketplace search: `<%` matches a word of the name at 45 % trigram similarity
            // (pg_trgm's default 60 % misses common transpositions such as "transaltor").
            ("pg_trgm.word_similarity_threshold", "0.45"),
        ])
        .application_name("clawrent"))
}

/// A lazy pool: the process starts even when Postgres is down, and recovers when it comes back.
pub fn pool(settings: &Settings) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(settings.database_max_connections)
        .acquire_timeout(settings.database_acquire_timeout)
        .connect_lazy_with(connect_options(settings)?))
}

/// Creates the database named in `DATABASE_URL` when it does not exist.
pub async fn ensure_database(settings: &Settings) -> anyhow::Result<()> {
    let options = connect_options(settings)?;
    let name = options.get_database().unwrap_or("postgres").to_owned();
    let mut admin = options.clone().database("postgres").connect().await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        let created = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {quoted}")))
            .execute(&mut admin)
            .await;
        match created {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // Another replica created it at the same moment.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e.into()),
        }
    }
    admin.close().await?;
    Ok(())
}

/// Creates the database if needed, then applies pending migrations (serialised by sqlx's advisory lock).
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    ensure_database(settings).await?;
    let mut conn = connect_options(settings)?.connect().await?;
    MIGRATOR.run(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// How many times a transaction that lost a deadlock or a serialization conflict is run again.
pub const TRANSACTION_ATTEMPTS: u32 = 3;

/// Runs an expression in one transaction and commits it; a transaction that Postgres aborted
/// to break a deadlock or a serialization conflict is run again (up to [`TRANSACTION_ATTEMPTS`]
/// times). `in_transaction!(pool, |conn| repo_or_service_call(conn, ...))` evaluates to
/// `ApiResult<T>`. A macro rather than a function taking an async closure: the future it makes
/// stays `Send`, so it can run in `tokio::spawn`.
#[macro_export]
macro_rules! in_transaction {
    ($pool:expr, |$conn:ident| $call:expr) => {{
        let mut attempt = 1;
        loop {
            let result: $crate::error::ApiResult<_> = async {
                let mut tx = $pool.begin().await?;
                let value = {
                    let $conn = &mut *tx;
                    $call.await?
                };
                tx.commit().await?;
                Ok(value)
            }
            .await;
            match result {
                Err(err)
                    if err.is_transient_conflict()
                        && attempt < $crate::db::TRANSACTION_ATTEMPTS =>
                {
                    attempt += 1;
                }
                other => break other,
            }
        }
    }};
}
