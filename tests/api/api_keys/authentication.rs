//! A key as a credential: by `x-api-key` or as a Bearer token, wrong or malformed keys, the key
//! endpoints without a credential, a key in another tenant, when a key was last used, and a key
//! outliving the JWT.

use super::support::{
    KEYS, create_key, key_count, key_path, last_used_at, list, registration_key_id, revoked_at,
};
use crate::helpers::*;
use chrono::Utc;

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
