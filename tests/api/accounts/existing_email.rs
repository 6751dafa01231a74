//! An email that already has an account: register answers 409 `EMAIL_ALREADY_REGISTERED` before
//! it looks at the code; send-verification answers 409 as it always has and mails nothing.

use super::user_rows;
use crate::helpers::*;
use serde_json::json;

/// Creates an admin with `email` in the default tenant, as an operator's bootstrap does.
async fn bootstrap_admin(app: &TestApp, email: &str) {
    let admin = json!({ "email": email, "password": PASSWORD, "name": "Admin" });
    app.post(
        "/api/platform/tenants/default/admins",
        &Auth::operator(),
        &admin,
    )
    .await
    .expect(201);
}

async fn attempts(app: &TestApp, email: &str) -> i32 {
    sqlx::query_scalar("SELECT attempts FROM email_verifications WHERE email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .expect("a pending code")
}

#[tokio::test]
async fn registering_an_email_that_has_an_account_is_409_without_a_code_for_it() {
    // Arrange: the account exists; no code is pending for its email
    let app = spawn_app().await;
    let user = app.signup().await;

    // Act
    let replies = [
        app.register(&user.email, PASSWORD, "123456", &Auth::none())
            .await,
        app.register(
            &user.email.to_uppercase(),
            PASSWORD,
            "654321",
            &Auth::none(),
        )
        .await,
    ];

    // Assert
    for reply in replies {
        let reply = reply.expect_error(409, "EMAIL_ALREADY_REGISTERED");
        assert!(
            reply.body["message"]
                .as_str()
                .expect("message")
                .contains("already exists"),
            "{}",
            reply.text
        );
    }
    assert_eq!(user_rows(&app, &user.email).await, 1);
    app.login(&user.email, &user.password, &Auth::none())
        .await
        .expect(200);
}

#[tokio::test]
async fn registering_after_the_account_appeared_is_409_with_a_wrong_or_a_valid_code() {
    // Arrange: a code is mailed, then the account appears (an admin bootstrap)
    let app = spawn_app().await;
    let email = unique_email("appeared");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let code = smtp().latest_code(&email).await;
    bootstrap_admin(&app, &email).await;

    // Act
    let wrong = app
        .register(&email, PASSWORD, wrong_code(&code), &Auth::none())
        .await;
    let valid = app.register(&email, PASSWORD, &code, &Auth::none()).await;

    // Assert: the code was not looked at (no attempt counted)
    wrong.expect_error(409, "EMAIL_ALREADY_REGISTERED");
    valid.expect_error(409, "EMAIL_ALREADY_REGISTERED");
    assert_eq!(attempts(&app, &email).await, 0);
    assert_eq!(user_rows(&app, &email).await, 1);
}

#[tokio::test]
async fn send_verification_for_a_registered_email_stays_409_and_mails_nothing_even_within_the_cooldown()
 {
    // Arrange: a code is mailed, then the account appears within the resend cooldown
    let app = spawn_app().await;
    let email = unique_email("taken");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    bootstrap_admin(&app, &email).await;

    // Act
    let again = app.send_verification(&email, &Auth::none()).await;

    // Assert: the same 409 as for any registered email, not the cooldown's 200
    again.expect_error(409, "EMAIL_ALREADY_REGISTERED");
    assert_eq!(smtp().messages_to(&email).await.len(), 1);
}

#[tokio::test]
async fn conflicting_registrations_count_toward_the_per_email_limit() {
    // Arrange: the signup itself is the first registration attempt for the email
    let app = spawn_app_with(&[("RATE_LIMIT_REGISTER_EMAIL", "3/1h")]).await;
    let user = app.signup().await;

    // Act
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let reply = app
            .register(&user.email, PASSWORD, "123456", &Auth::none())
            .await;
        statuses.push(reply.status.as_u16());
    }

    // Assert: probing registered emails through register is throttled like guessing codes
    assert_eq!(statuses, [409, 409, 429]);
}
