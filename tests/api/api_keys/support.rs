//! Paths, the key list and the `api_keys` rows the API key tests share.

use crate::helpers::*;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub const KEYS: &str = "/api/auth/api-keys";

pub fn key_path(id: &str) -> String {
    format!("{KEYS}/{id}")
}

/// The key list of `auth`'s user (first page of 100).
pub async fn list(app: &TestApp, auth: &Auth) -> Value {
    app.get(&format!("{KEYS}?limit=100"), auth)
        .await
        .expect(200)
        .body
}

pub async fn key_count(app: &TestApp, user: &TestUser) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE user_id = $1::uuid")
        .bind(&user.id)
        .fetch_one(&app.db)
        .await
        .expect("count keys")
}

pub async fn last_used_at(app: &TestApp, key_id: &str) -> Option<DateTime<Utc>> {
    sqlx::query_scalar("SELECT last_used_at FROM api_keys WHERE id = $1::uuid")
        .bind(key_id)
        .fetch_one(&app.db)
        .await
        .expect("key row")
}

pub async fn revoked_at(app: &TestApp, key_id: &str) -> Option<DateTime<Utc>> {
    sqlx::query_scalar("SELECT revoked_at FROM api_keys WHERE id = $1::uuid")
        .bind(key_id)
        .fetch_one(&app.db)
        .await
        .expect("key row")
}

/// The id of the key registration created (the user's only key right after signup).
pub async fn registration_key_id(app: &TestApp, user: &TestUser) -> String {
    let page = list(app, &user.auth()).await;
    assert_eq!(
        page["total"], 1,
        "a new user has exactly the registration key: {page}"
    );
    page["data"][0]["id"].as_str().expect("id").to_owned()
}

/// Creates a key named `name` and returns (id, secret).
pub async fn create_key(app: &TestApp, user: &TestUser, name: &str) -> (String, String) {
    let reply = app
        .post(KEYS, &user.auth(), &json!({ "name": name }))
        .await
        .expect(201);
    (
        reply.body["id"].as_str().expect("id").to_owned(),
        reply.body["key"].as_str().expect("key").to_owned(),
    )
}
