//! Keys, keyed credentials and replay assertions shared by the idempotency tests.

use crate::helpers::*;
use reqwest::Method;

pub const REPLAYED: &str = "idempotent-replayed";

pub fn new_key() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn keyed(auth: Auth, key: &str) -> Auth {
    auth.with("idempotency-key", key.to_owned())
}

pub async fn topups(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM ledger_entries WHERE kind = 'topup'")
        .await
}

/// A POST whose body is sent exactly as written (spacing and key order preserved).
pub async fn post_text(app: &TestApp, path: &str, auth: &Auth, body: &'static str) -> Reply {
    read(
        app.request(Method::POST, path, auth)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request"),
    )
    .await
}

pub fn assert_replay_of(first: &Reply, repeat: &Reply, why: &str) {
    assert_eq!(repeat.status, first.status, "{why}: the same status");
    assert_eq!(
        repeat.header("content-type"),
        first.header("content-type"),
        "{why}: the same content type"
    );
    assert_eq!(repeat.text, first.text, "{why}: a byte-identical body");
    assert_eq!(
        repeat.header(REPLAYED),
        Some("true"),
        "{why}: the repeat is marked as a replay"
    );
    assert_eq!(
        first.header(REPLAYED),
        None,
        "{why}: the first response is not a replay"
    );
}
