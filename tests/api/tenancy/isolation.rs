//! Isolation between tenants: tokens, API keys, registrations, logins and verification mails
//! of one tenant mean nothing in another.

use super::support::{OTHER_PASSWORD, register_in, users_with_email};
use crate::helpers::*;

#[tokio::test]
async fn a_token_from_one_tenant_is_401_in_another() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let user = app.signup_in(Some(&a)).await;

    // Act
    let in_b = app.me(&Auth::bearer(&user.token).tenant(&b)).await;
    let in_default = app.me(&Auth::bearer(&user.token)).await;
    let in_a = app.me(&Auth::bearer(&user.token).tenant(&a)).await;

    // Assert
    in_b.expect_error(401, "INVALID_TOKEN");
    in_default.expect_error(401, "INVALID_TOKEN");
    assert_eq!(
        in_a.expect(200).body["id"],
        user.id.as_str(),
        "the token still works at home"
    );
}

#[tokio::test]
async fn an_api_key_from_one_tenant_is_401_in_another() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let user = app.signup_in(Some(&a)).await;

    // Act
    let header_in_b = app.me(&Auth::api_key(&user.api_key).tenant(&b)).await;
    let bearer_in_b = app.me(&Auth::bearer(&user.api_key).tenant(&b)).await;
    let in_default = app.me(&Auth::api_key(&user.api_key)).await;
    let at_home = app.me(&Auth::api_key(&user.api_key).tenant(&a)).await;

    // Assert
    header_in_b.expect_error(401, "INVALID_TOKEN");
    bearer_in_b.expect_error(401, "INVALID_TOKEN");
    in_default.expect_error(401, "INVALID_TOKEN");
    assert_eq!(at_home.expect(200).body["id"], user.id.as_str());
}

#[tokio::test]
async fn the_same_email_registers_separately_in_two_tenants() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let email = unique_email("shared");

    // Act
    let in_a = register_in(&app, &a, &email, PASSWORD)
        .await
        .expect(201)
        .body;
    let in_b = register_in(&app, &b, &email, OTHER_PASSWORD)
        .await
        .expect(201)
        .body;

    // Assert
    let (id_a, id_b) = (
        in_a["user"]["id"].as_str().expect("id"),
        in_b["user"]["id"].as_str().expect("id"),
    );
    assert_ne!(id_a, id_b, "two different accounts");
    assert_eq!(users_with_email(&app, &email).await, 2);
    app.login(&email, PASSWORD, &Auth::none().tenant(&b))
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
    app.login(&email, OTHER_PASSWORD, &Auth::none().tenant(&a))
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
    let login_b = app
        .login(&email, OTHER_PASSWORD, &Auth::none().tenant(&b))
        .await
        .expect(200);
    assert_eq!(login_b.body["user"]["id"], id_b);
    let login_a = app
        .login(&email, PASSWORD, &Auth::none().tenant(&a))
        .await
        .expect(200);
    assert_eq!(login_a.body["user"]["id"], id_a);
    app.login(&email, PASSWORD, &Auth::none())
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn login_for_an_email_registered_only_in_another_tenant_is_401_invalid_credentials() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let user = app.signup_in(Some(&a)).await;

    // Act
    let in_b = app
        .login(&user.email, &user.password, &Auth::none().tenant(&b))
        .await;
    let in_default = app.login(&user.email, &user.password, &Auth::none()).await;

    // Assert
    in_b.expect_error(401, "INVALID_CREDENTIALS");
    in_default.expect_error(401, "INVALID_CREDENTIALS");
    app.login(&user.email, &user.password, &Auth::none().tenant(&a))
        .await
        .expect(200);
}

#[tokio::test]
async fn send_verification_is_200_for_an_email_registered_only_in_another_tenant() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let user = app.signup_in(Some(&b)).await;

    // Act
    let in_a = app
        .send_verification(&user.email, &Auth::none().tenant(&a))
        .await;
    let in_b = app
        .send_verification(&user.email, &Auth::none().tenant(&b))
        .await;

    // Assert
    assert_eq!(in_a.expect(200).body["success"], true);
    in_b.expect_error(409, "EMAIL_ALREADY_REGISTERED");
    let pending: Vec<String> = sqlx::query_scalar(
        "SELECT t.slug FROM email_verifications v JOIN tenants t ON t.id = v.tenant_id WHERE v.email = $1",
    )
    .bind(&user.email)
    .fetch_all(&app.db)
    .await
    .expect("verifications");
    assert_eq!(pending, vec![a], "only tenant A has a pending code");
}
