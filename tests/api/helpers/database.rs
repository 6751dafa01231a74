//! The migrated template database every test database is cloned from, and test settings.

use super::server_url;
use clawrent_api::config::Settings;
use sqlx::{Connection, PgConnection};
use std::collections::HashMap;

mod checksum {
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
pub(super) async fn template_database() -> String {
    let checksums: Vec<&[u8]> = clawrent_api::db::MIGRATOR
        .iter()
        .map(|m| m.checksum.as_ref())
        .collect();
    let name = format!("clawrent_tpl_{}", checksum::checksum_hex(&checksums));
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

pub(super) fn settings_with(pairs: &[(&str, &str)]) -> Settings {
    let vars: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Settings::from_vars(&vars).expect("test settings are valid")
}
