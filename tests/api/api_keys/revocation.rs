//! Revoking keys: one's own key (also with itself) stops working and leaves the list; another
//! user's key, a revoked one, and unknown or malformed ids are refused and revoke nothing.

use super::support::{KEYS, create_key, key_path, list, registration_key_id, revoked_at};
use crate::helpers::*;
use serde_json::json;

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
