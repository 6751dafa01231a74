use crate::helpers::*;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};

const KEYS: &str = "/api/auth/api-keys";

fn key_path(id: &str) -> String {
    format!("{KEYS}/{id}")
}

/// The key list of `auth`'s user (first page of 100).
async fn list(app: &TestApp, auth: &Auth) -> Value {
    app.get(&format!("{KEYS}?limit=100"), auth)
        .await
        .expect(200)
        .body
}

async fn key_count(app: &TestApp, user: &TestUser) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE user_id = $1::uuid")
        .bind(&user.id)
        .fetch_one(&app.db)
        .await
        .expect("count keys")
}

async fn last_used_at(app: &TestApp, key_id: &str) -> Option<DateTime<Utc>> {
    sqlx::query_scalar("SELECT last_used_at FROM api_keys WHERE id = $1::uuid")
        .bind(key_id)
        .fetch_one(&app.db)
        .await
        .expect("key row")
}

async fn revoked_at(app: &TestApp, key_id: &str) -> Option<DateTime<Utc>> {
    sqlx::query_scalar("SELECT revoked_at FROM api_keys WHERE id = $1::uuid")
        .bind(key_id)
        .fetch_one(&app.db)
        .await
        .expect("key row")
}

/// The id of the key registration created (the user's only key right after signup).
async fn registration_key_id(app: &TestApp, user: &TestUser) -> String {
    let page = list(app, &user.auth()).await;
    assert_eq!(
        page["total"], 1,
        "a new user has exactly the registration key: {page}"
    );
    page["data"][0]["id"].as_str().expect("id").to_owned()
}

/// Creates a key named `name` and returns (id, secret).
async fn create_key(app: &TestApp, user: &TestUser, name: &str) -> (String, String) {
    let reply = app
        .post(KEYS, &user.auth(), &json!({ "name": name }))
        .await
        .expect(201);
    (
        reply.body["id"].as_str().expect("id").to_owned(),
        reply.body["key"].as_str().expect("key").to_owned(),
    )
}

// ---------------------------------------------------------------------------------------------
// Creating keys
// ---------------------------------------------------------------------------------------------

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

#[tokio::test]
async fn a_new_key_authenticates_by_header_and_as_bearer() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let (_, key) = create_key(&app, &user, "ci").await;

    // Act
    let by_header = app.me(&Auth::api_key(&key)).await;
    let by_bearer = app.me(&Auth::bearer(&key)).await;
    let padded = app
        .me(&Auth::none().with("x-api-key", format!(" {key} ")))
        .await;

    // Assert
    for (why, reply) in [
        ("x-api-key", by_header),
        ("Bearer", by_bearer),
        ("padded x-api-key", padded),
    ] {
        assert_eq!(reply.status.as_u16(), 200, "{why}: {}", reply.text);
        assert_eq!(reply.body["id"], user.id.as_str(), "{why}");
        assert_eq!(reply.body["email"], user.email.as_str(), "{why}");
    }
}

#[tokio::test]
async fn wrong_or_malformed_keys_are_401_invalid_token() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let mut altered = user.api_key.clone();
    let last = altered.pop().expect("char");
    altered.push(if last == 'a' { 'b' } else { 'a' });
    let cases: Vec<(&str, String)> = vec![
        ("one character changed", altered),
        ("a truncated key", user.api_key[..20].to_owned()),
        ("the display prefix only", user.api_key[..12].to_owned()),
        ("the key without clr_", user.api_key[4..].to_owned()),
        ("just the prefix", "clr_".to_owned()),
        ("not a key", "not-a-key".to_owned()),
        ("a 200-character key", format!("clr_{}", "a".repeat(196))),
    ];

    for (why, key) in cases {
        // Act
        let header = app.me(&Auth::api_key(&key)).await;
        let bearer = app.me(&Auth::bearer(&key)).await;

        // Assert
        assert_eq!(
            (header.status.as_u16(), header.body["error"].as_str()),
            (401, Some("INVALID_TOKEN")),
            "{why}: {}",
            header.text
        );
        assert_eq!(
            (bearer.status.as_u16(), bearer.body["error"].as_str()),
            (401, Some("INVALID_TOKEN")),
            "{why}: {}",
            bearer.text
        );
    }
}

#[tokio::test]
async fn the_key_endpoints_require_credentials() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let id = registration_key_id(&app, &user).await;
    let replies = [
        ("create", app.post_empty(KEYS, &Auth::none()).await),
        ("list", app.get(KEYS, &Auth::none()).await),
        ("revoke", app.delete(&key_path(&id), &Auth::none()).await),
    ];
    for (what, reply) in replies {
        assert_eq!(reply.status.as_u16(), 401, "{what}: {}", reply.text);
        assert_eq!(
            reply.body["error"], "UNAUTHORIZED",
            "{what}: {}",
            reply.text
        );
    }
    assert_eq!(key_count(&app, &user).await, 1, "nothing was created");
    assert_eq!(revoked_at(&app, &id).await, None, "nothing was revoked");
}

// ---------------------------------------------------------------------------------------------
// Listing keys
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn listing_keys_shows_only_the_callers_live_keys_without_secrets() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let other = app.signup().await;
    let registration = registration_key_id(&app, &user).await;
    let (ci, ci_key) = create_key(&app, &user, "ci").await;

    // Act
    let mine = app.get(KEYS, &user.auth()).await.expect(200);
    let theirs = app.get(KEYS, &other.auth()).await.expect(200);

    // Assert
    assert_eq!(
        ids(&mine.body),
        vec![ci.clone(), registration.clone()],
        "newest first"
    );
    assert_eq!(mine.body["total"], 2);
    assert_eq!(
        (mine.body["page"].as_u64(), mine.body["limit"].as_u64()),
        (Some(1), Some(20))
    );
    let entries = mine.body["data"].as_array().expect("data");
    assert_eq!(entries[0]["name"], "ci");
    assert_eq!(entries[0]["prefix"], &ci_key[..12]);
    assert_eq!(entries[1]["name"], "default");
    assert_eq!(entries[1]["prefix"], &user.api_key[..12]);
    for entry in entries {
        assert!(
            entry.get("key").is_none(),
            "no full key in the list: {entry}"
        );
        for value in entry.as_object().expect("object").values() {
            assert_ne!(value.as_str(), Some(ci_key.as_str()));
            assert_ne!(value.as_str(), Some(user.api_key.as_str()));
        }
    }
    assert!(
        !mine.text.contains(&ci_key) && !mine.text.contains(&user.api_key),
        "no secret anywhere in the list"
    );
    assert_eq!(theirs.body["total"], 1, "{}", theirs.text);
    let their_ids = ids(&theirs.body);
    assert!(
        !their_ids.contains(&ci) && !their_ids.contains(&registration),
        "another user's list has none of mine"
    );
}

#[tokio::test]
async fn listing_keys_pages_through_them() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let registration = registration_key_id(&app, &user).await;
    let (second, _) = create_key(&app, &user, "second").await;
    let (third, _) = create_key(&app, &user, "third").await;

    // Act
    let page1 = app
        .get(&format!("{KEYS}?limit=2"), &user.auth())
        .await
        .expect(200)
        .body;
    let page2 = app
        .get(&format!("{KEYS}?limit=2&page=2"), &user.auth())
        .await
        .expect(200)
        .body;
    let page3 = app
        .get(&format!("{KEYS}?limit=2&page=3"), &user.auth())
        .await
        .expect(200)
        .body;

    // Assert
    assert_eq!(ids(&page1), vec![third, second]);
    assert_eq!(ids(&page2), vec![registration]);
    assert_eq!(ids(&page3), Vec::<String>::new());
    for page in [&page1, &page2, &page3] {
        assert_eq!(page["total"], 3);
        assert_eq!(page["limit"], 2);
    }
    assert_eq!(
        (
            page1["page"].as_u64(),
            page2["page"].as_u64(),
            page3["page"].as_u64()
        ),
        (Some(1), Some(2), Some(3))
    );
}

// ---------------------------------------------------------------------------------------------
// Revoking keys
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn revoking_a_key_makes_it_401_and_removes_it_from_the_list() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let registration = registration_key_id(&app, &user).await;
    let (ci, ci_key) = create_key(&app, &user, "ci").await;
    app.me(&Auth::api_key(&ci_key)).await.expect(200);

    // Act
    let reply = app.delete(&key_path(&ci), &user.auth()).await;

    // Assert
    assert_eq!(reply.expect(200).body, json!({ "success": true }));
    app.me(&Auth::api_key(&ci_key))
        .await
        .expect_error(401, "INVALID_TOKEN");
    app.me(&Auth::bearer(&ci_key))
        .await
        .expect_error(401, "INVALID_TOKEN");
    let page = list(&app, &user.auth()).await;
    assert_eq!(ids(&page), vec![registration.clone()]);
    assert_eq!(page["total"], 1);
    assert!(
        revoked_at(&app, &ci).await.is_some(),
        "the row is marked revoked"
    );
    assert_eq!(
        revoked_at(&app, &registration).await,
        None,
        "the other key is untouched"
    );
    app.me(&Auth::api_key(&user.api_key)).await.expect(200);
    app.me(&user.auth()).await.expect(200);
}

#[tokio::test]
async fn a_key_can_revoke_itself() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let (id, key) = create_key(&app, &user, "self").await;
    app.delete(&key_path(&id), &Auth::api_key(&key))
        .await
        .expect(200);
    app.get(KEYS, &Auth::api_key(&key))
        .await
        .expect_error(401, "INVALID_TOKEN");
    assert!(revoked_at(&app, &id).await.is_some());
}

#[tokio::test]
async fn revoking_another_users_key_is_404_and_leaves_it_working() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let intruder = app.signup().await;
    let (id, key) = create_key(&app, &owner, "mine").await;

    // Act
    let by_jwt = app.delete(&key_path(&id), &intruder.auth()).await;
    let by_key = app
        .delete(&key_path(&id), &Auth::api_key(&intruder.api_key))
        .await;

    // Assert
    by_jwt.expect_error(404, "NOT_FOUND");
    by_key.expect_error(404, "NOT_FOUND");
    assert_eq!(revoked_at(&app, &id).await, None);
    assert_eq!(
        app.me(&Auth::api_key(&key)).await.expect(200).body["id"],
        owner.id.as_str()
    );
    assert!(ids(&list(&app, &owner.auth()).await).contains(&id));
}

#[tokio::test]
async fn revoking_a_key_twice_is_404() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let (id, _) = create_key(&app, &user, "twice").await;
    app.delete(&key_path(&id), &user.auth()).await.expect(200);
    let first_revocation = revoked_at(&app, &id).await.expect("revoked");

    let again = app.delete(&key_path(&id), &user.auth()).await;

    again.expect_error(404, "NOT_FOUND");
    assert_eq!(
        revoked_at(&app, &id).await,
        Some(first_revocation),
        "the revocation time is not moved"
    );
}

#[tokio::test]
async fn revoking_an_unknown_or_malformed_id_is_404_or_400() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let long = "a".repeat(10_000);
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "unknown UUID",
            uuid::Uuid::now_v7().to_string(),
            404,
            "NOT_FOUND",
        ),
        ("nil UUID", uuid::Uuid::nil().to_string(), 404, "NOT_FOUND"),
        ("not a UUID", "abc".to_owned(), 400, "VALIDATION_ERROR"),
        ("a number", "123".to_owned(), 400, "VALIDATION_ERROR"),
        (
            "a UUID with a trailing character",
            format!("{}x", uuid::Uuid::now_v7()),
            400,
            "VALIDATION_ERROR",
        ),
        ("10 000 characters", long, 400, "VALIDATION_ERROR"),
    ];

    for (why, id, status, code) in cases {
        // Act
        let reply = app.delete(&key_path(&id), &user.auth()).await;

        // Assert
        assert_eq!(reply.status.as_u16(), status, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], code, "{why}: {}", reply.text);
    }
    assert_eq!(
        app.count("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL")
            .await,
        0
    );
}

// ---------------------------------------------------------------------------------------------
// Tenants and usage
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_key_from_another_tenant_is_401_and_cannot_be_revoked_from_there() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let in_a = app.signup_in(Some(&a)).await;
    let in_b = app.signup_in(Some(&b)).await;
    let id = registration_key_id(&app, &in_a).await;

    // Act
    let used_in_b = app
        .get(KEYS, &Auth::api_key(&in_a.api_key).tenant(&b))
        .await;
    let created_in_b = app
        .post_empty(KEYS, &Auth::api_key(&in_a.api_key).tenant(&b))
        .await;
    let revoked_from_b = app.delete(&key_path(&id), &in_b.auth()).await;

    // Assert
    used_in_b.expect_error(401, "INVALID_TOKEN");
    created_in_b.expect_error(401, "INVALID_TOKEN");
    revoked_from_b.expect_error(404, "NOT_FOUND");
    assert_eq!(
        key_count(&app, &in_a).await,
        1,
        "no key was created for A's user"
    );
    assert_eq!(revoked_at(&app, &id).await, None);
    app.me(&Auth::api_key(&in_a.api_key).tenant(&a))
        .await
        .expect(200);
}

#[tokio::test]
async fn using_a_key_records_last_used_at() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let id = registration_key_id(&app, &user).await;
    assert_eq!(
        last_used_at(&app, &id).await,
        None,
        "registration does not count as use"
    );
    app.me(&user.auth()).await.expect(200);
    assert_eq!(
        last_used_at(&app, &id).await,
        None,
        "a JWT request does not touch the key"
    );

    // Act
    let before = Utc::now();
    app.me(&Auth::api_key(&user.api_key)).await.expect(200);

    // Assert
    let used = last_used_at(&app, &id).await.expect("last_used_at is set");
    let after = Utc::now();
    assert!(
        used >= before - chrono::Duration::seconds(1) && used <= after,
        "{used} not in [{before}, {after}]"
    );
    let page = list(&app, &user.auth()).await;
    let shown = page["data"][0]["lastUsedAt"]
        .as_str()
        .expect("the list shows lastUsedAt");
    assert_eq!(
        shown,
        used.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
}

#[tokio::test]
async fn last_used_at_is_refreshed_at_most_once_a_minute() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let id = registration_key_id(&app, &user).await;
    app.me(&Auth::api_key(&user.api_key)).await.expect(200);
    let first = last_used_at(&app, &id).await.expect("set");

    // Act / Assert: a second use within the minute keeps the first time
    app.clock.advance(chrono::Duration::seconds(30));
    app.me(&Auth::api_key(&user.api_key)).await.expect(200);
    assert_eq!(last_used_at(&app, &id).await, Some(first));

    // Act / Assert: after the minute the time moves
    app.clock.advance(chrono::Duration::seconds(60));
    app.me(&Auth::bearer(&user.api_key)).await.expect(200);
    let second = last_used_at(&app, &id).await.expect("set");
    assert!(
        second >= first + chrono::Duration::seconds(89),
        "{first} -> {second}"
    );
}

#[tokio::test]
async fn an_api_key_outlives_the_jwt_lifetime() {
    let app = spawn_app().await;
    let user = app.signup().await;
    app.clock.advance(chrono::Duration::days(31));
    app.me(&user.auth())
        .await
        .expect_error(401, "INVALID_TOKEN");
    assert_eq!(
        app.me(&Auth::api_key(&user.api_key)).await.expect(200).body["id"],
        user.id.as_str()
    );
}
