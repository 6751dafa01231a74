//! Admin bootstrap: creating or promoting a tenant's admin, refused input, unknown tenants, and
//! admins that stay in their tenant.

use super::support::{OTHER_PASSWORD, admins_path, users_with_email};
use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn bootstrapping_an_admin_creates_a_user_who_logs_in_as_admin() {
    // Arrange
    let app = spawn_app().await;
    let slug = app.create_tenant("boot").await;
    let email = unique_email("boss");

    // Act
    let body = json!({ "email": email, "password": PASSWORD, "name": "The Boss" });
    let reply = app
        .post(&admins_path(&slug), &Auth::operator(), &body)
        .await;

    // Assert
    let reply = reply.expect(201);
    assert_eq!(reply.body["created"], true);
    assert_eq!(reply.body["user"]["email"], email.as_str());
    assert_eq!(reply.body["user"]["name"], "The Boss");
    assert_eq!(reply.body["user"]["role"], "admin");
    let login = app
        .login(&email, PASSWORD, &Auth::none().tenant(&slug))
        .await
        .expect(200);
    assert_eq!(login.body["user"]["id"], reply.body["user"]["id"]);
    let token = login.body["token"].as_str().expect("token");
    let me = app
        .me(&Auth::bearer(token).tenant(&slug))
        .await
        .expect(200)
        .body;
    assert_eq!(me["role"], "admin");
    assert_eq!(me["emailVerified"], true);
    assert_eq!(me["tenant"]["slug"], slug.as_str());
    app.login(&email, PASSWORD, &Auth::none())
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn bootstrapping_an_existing_user_promotes_them_and_keeps_their_password() {
    // Arrange
    let app = spawn_app().await;
    let slug = app.create_tenant("promo").await;
    let user = app.signup_in(Some(&slug)).await;
    assert_eq!(
        app.me(&user.auth()).await.expect(200).body["role"],
        "consumer"
    );

    // Act: a different password and an upper-cased email
    let body = json!({ "email": user.email.to_uppercase(), "password": OTHER_PASSWORD, "name": "Promoted" });
    let reply = app
        .post(&admins_path(&slug), &Auth::operator(), &body)
        .await;

    // Assert
    let reply = reply.expect(200);
    assert_eq!(reply.body["created"], false);
    assert_eq!(reply.body["user"]["id"], user.id.as_str());
    assert_eq!(reply.body["user"]["role"], "admin");
    assert_eq!(
        users_with_email(&app, &user.email).await,
        1,
        "no second account"
    );
    assert_eq!(
        app.me(&user.auth()).await.expect(200).body["role"],
        "admin",
        "the existing token sees the new role"
    );
    let login = app
        .login(&user.email, &user.password, &Auth::none().tenant(&slug))
        .await
        .expect(200);
    assert_eq!(login.body["user"]["role"], "admin");
    app.login(&user.email, OTHER_PASSWORD, &Auth::none().tenant(&slug))
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn invalid_admin_bootstrap_input_is_400_and_creates_nothing() {
    // Arrange
    let app = spawn_app().await;
    let slug = app.create_tenant("weak").await;
    let email = unique_email("weakadmin");
    let users_before = app.count("SELECT count(*) FROM users").await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "7-character password",
            json!({ "email": email, "password": "short12", "name": "A" }),
            "WEAK_PASSWORD",
        ),
        (
            "common password",
            json!({ "email": email, "password": "password123", "name": "A" }),
            "WEAK_PASSWORD",
        ),
        (
            "one repeated character",
            json!({ "email": email, "password": "aaaaaaaaaa", "name": "A" }),
            "WEAK_PASSWORD",
        ),
        (
            "130-character password",
            json!({ "email": email, "password": "x1".repeat(65), "name": "A" }),
            "WEAK_PASSWORD",
        ),
        (
            "password equal to the email",
            json!({ "email": email, "password": email, "name": "A" }),
            "WEAK_PASSWORD",
        ),
        (
            "invalid email",
            json!({ "email": "not-an-email", "password": PASSWORD, "name": "A" }),
            "VALIDATION_ERROR",
        ),
        (
            "blank name",
            json!({ "email": email, "password": PASSWORD, "name": "  " }),
            "VALIDATION_ERROR",
        ),
        (
            "name with a control character",
            json!({ "email": email, "password": PASSWORD, "name": "a\u{0007}" }),
            "VALIDATION_ERROR",
        ),
        (
            "missing password",
            json!({ "email": email, "name": "A" }),
            "VALIDATION_ERROR",
        ),
    ];

    for (why, body, code) in cases {
        // Act
        let reply = app
            .post(&admins_path(&slug), &Auth::operator(), &body)
            .await;

        // Assert
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], code, "{why}: {}", reply.text);
    }
    assert_eq!(
        app.count("SELECT count(*) FROM users").await,
        users_before,
        "no user was created"
    );
    assert_eq!(users_with_email(&app, &email).await, 0);
}

#[tokio::test]
async fn bootstrapping_an_admin_in_an_unknown_tenant_is_404() {
    let app = spawn_app().await;
    let email = unique_email("ghostadmin");
    let body = json!({ "email": email, "password": PASSWORD, "name": "Ghost" });
    for slug in ["no-such-tenant", "NOT-A-SLUG"] {
        let reply = app.post(&admins_path(slug), &Auth::operator(), &body).await;
        assert_eq!(reply.status.as_u16(), 404, "{slug}: {}", reply.text);
        assert_eq!(reply.body["error"], "NOT_FOUND", "{slug}: {}", reply.text);
    }
    assert_eq!(users_with_email(&app, &email).await, 0);
}

#[tokio::test]
async fn bootstrapping_an_admin_does_not_promote_the_same_email_in_another_tenant() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let consumer = app.signup_in(Some(&a)).await;

    // Act
    let body = json!({ "email": consumer.email, "password": OTHER_PASSWORD, "name": "Admin of B" });
    let reply = app.post(&admins_path(&b), &Auth::operator(), &body).await;

    // Assert
    let reply = reply.expect(201);
    assert_eq!(reply.body["created"], true, "a new account in B");
    assert_ne!(reply.body["user"]["id"], consumer.id.as_str());
    assert_eq!(
        app.me(&consumer.auth()).await.expect(200).body["role"],
        "consumer",
        "the account in A is untouched"
    );
    app.login(&consumer.email, OTHER_PASSWORD, &Auth::none().tenant(&b))
        .await
        .expect(200);
    app.login(&consumer.email, OTHER_PASSWORD, &Auth::none().tenant(&a))
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn an_admin_of_one_tenant_is_not_an_account_in_another() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let admin = app.admin_in(&a).await;

    // Act
    let login_b = app
        .login(&admin.email, PASSWORD, &Auth::none().tenant(&b))
        .await;
    let token_in_b = app.me(&Auth::bearer(&admin.token).tenant(&b)).await;

    // Assert
    login_b.expect_error(401, "INVALID_CREDENTIALS");
    token_in_b.expect_error(401, "INVALID_TOKEN");
    assert_eq!(
        app.me(&admin.auth()).await.expect(200).body["role"],
        "admin"
    );
}
