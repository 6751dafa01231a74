//! Creating keys: the default name with or without a body, given names, and the names refused.

use super::support::{KEYS, key_count};
use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn creating_a_key_without_a_body_returns_201_with_the_default_name() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;

    // Act
    let reply = app.post_empty(KEYS, &user.auth()).await;

    // Assert
    let body = reply.expect(201).body;
    let key = body["key"].as_str().expect("key");
    assert!(key.starts_with("clr_"), "{key}");
    assert_eq!(key.len(), 44, "clr_ and 40 random characters: {key}");
    assert!(key[4..].chars().all(|c| c.is_ascii_alphanumeric()), "{key}");
    assert_eq!(body["prefix"], &key[..12]);
    assert_eq!(body["name"], "default");
    let id = body["id"].as_str().expect("id");
    uuid::Uuid::parse_str(id).expect("id is a UUID");
    let created_at = body["createdAt"].as_str().expect("createdAt");
    assert!(
        created_at.len() == 24 && created_at.ends_with('Z'),
        "{created_at}"
    );
    assert!(
        body.get("lastUsedAt").is_none(),
        "an unused key has no lastUsedAt: {body}"
    );
    assert_ne!(key, user.api_key, "every key is new");
    let stored: (String, String) = sqlx::query_as(
        "SELECT name, prefix FROM api_keys WHERE id = $1::uuid AND user_id = $2::uuid",
    )
    .bind(id)
    .bind(&user.id)
    .fetch_one(&app.db)
    .await
    .expect("the key row belongs to the caller");
    assert_eq!(stored, ("default".to_owned(), key[..12].to_owned()));
    let in_clear: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE name = $1 OR prefix = $1 OR encode(key_hash, 'escape') = $1")
        .bind(key)
        .fetch_one(&app.db)
        .await
        .expect("query");
    assert_eq!(in_clear, 0, "the key is not stored in clear");
}

#[tokio::test]
async fn an_empty_json_body_or_null_name_also_gives_the_default_name() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let cases = [
        ("empty object", json!({})),
        ("null name", json!({ "name": null })),
    ];
    for (why, body) in cases {
        let reply = app.post(KEYS, &user.auth(), &body).await;
        assert_eq!(reply.status.as_u16(), 201, "{why}: {}", reply.text);
        assert_eq!(reply.body["name"], "default", "{why}");
    }
    let reply = read(
        app.request(Method::POST, KEYS, &user.auth())
            .header("content-type", "application/json")
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(
        reply.expect(201).body["name"],
        "default",
        "Content-Type without a body"
    );
    assert_eq!(key_count(&app, &user).await, 4);
}

#[tokio::test]
async fn a_key_can_be_named() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let longest = "n".repeat(100);
    let cases = [
        ("plain", "ci", "ci"),
        ("padded", "  laptop  ", "laptop"),
        ("non-ASCII", "clé 🔑", "clé 🔑"),
        ("100 characters", longest.as_str(), longest.as_str()),
    ];

    for (why, name, expected) in cases {
        // Act
        let reply = app.post(KEYS, &user.auth(), &json!({ "name": name })).await;

        // Assert
        assert_eq!(reply.status.as_u16(), 201, "{why}: {}", reply.text);
        assert_eq!(reply.body["name"], expected, "{why}");
        let id = reply.body["id"].as_str().expect("id");
        let stored: String = sqlx::query_scalar("SELECT name FROM api_keys WHERE id = $1::uuid")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .expect("row");
        assert_eq!(stored, expected, "{why}");
    }
}

#[tokio::test]
async fn invalid_key_names_are_400_and_create_nothing() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let before = key_count(&app, &user).await;
    let cases: Vec<(&str, Value)> = vec![
        ("empty name", json!({ "name": "" })),
        ("blank name", json!({ "name": "   " })),
        ("101 characters", json!({ "name": "n".repeat(101) })),
        ("control character", json!({ "name": "ci\u{0007}" })),
        ("NUL", json!({ "name": "ci\u{0000}x" })),
        ("escape sequence", json!({ "name": "\u{001b}[31mred" })),
        ("10 000 characters", json!({ "name": "x".repeat(10_000) })),
        ("a number", json!({ "name": 5 })),
        ("an array", json!({ "name": ["ci"] })),
    ];

    for (why, body) in cases {
        // Act
        let reply = app.post(KEYS, &user.auth(), &body).await;

        // Assert
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(
            reply.body["error"], "VALIDATION_ERROR",
            "{why}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["details"]["field"], "name",
            "{why}: {}",
            reply.text
        );
    }
    assert_eq!(key_count(&app, &user).await, before, "no key was created");
}
