//! Input refused with 400 and nothing stored: weak passwords (the code stays usable), malformed
//! emails on every auth endpoint, and invalid or missing register fields.

use super::user_rows;
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn weak_passwords_are_rejected_without_using_up_the_code() {
    let app = spawn_app().await;
    let email = unique_email("weak");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let code = smtp().latest_code(&email).await;
    let long = "x".repeat(129);
    let cases = [
        ("short", "seven c"),
        ("common", "password123"),
        ("one repeated character", "aaaaaaaaaaaa"),
        ("the email itself", email.as_str()),
        ("over 128 characters", long.as_str()),
    ];
    for (why, password) in cases {
        let reply = app.register(&email, password, &code, &Auth::none()).await;
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(
            reply.body["error"], "WEAK_PASSWORD",
            "{why}: {}",
            reply.text
        );
    }
    assert_eq!(user_rows(&app, &email).await, 0);
    app.register(&email, PASSWORD, &code, &Auth::none())
        .await
        .expect(201);
}

#[tokio::test]
async fn malformed_emails_are_400_on_every_auth_endpoint() {
    let app = spawn_app().await;
    for email in [
        "",
        "plain",
        "@example.com",
        "a@",
        "a b@example.com",
        "a@b",
        "a@@example.com",
        &format!("{}@x.com", "a".repeat(300)),
    ] {
        app.send_verification(email, &Auth::none())
            .await
            .expect_error(400, "VALIDATION_ERROR");
        app.register(email, PASSWORD, "123456", &Auth::none())
            .await
            .expect_error(400, "VALIDATION_ERROR");
        let login = app
            .login(email, PASSWORD, &Auth::none())
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert_eq!(
            login.body["details"]["field"], "email",
            "{email:?}: {}",
            login.text
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM email_verifications").await,
        0
    );
}

#[tokio::test]
async fn invalid_names_codes_and_missing_fields_are_400_naming_the_field() {
    let app = spawn_app().await;
    let email = unique_email("fields");
    let cases = [
        (
            json!({ "email": email, "password": PASSWORD, "name": "  ", "verificationCode": "123456" }),
            "name",
        ),
        (
            json!({ "email": email, "password": PASSWORD, "name": "a".repeat(101), "verificationCode": "123456" }),
            "name",
        ),
        (
            json!({ "email": email, "password": PASSWORD, "name": "Ada", "verificationCode": "12345" }),
            "verificationCode",
        ),
        (
            json!({ "email": email, "password": PASSWORD, "name": "Ada", "verificationCode": "abcdef" }),
            "verificationCode",
        ),
        (
            json!({ "email": email, "password": PASSWORD, "name": "Ada" }),
            "verificationCode",
        ),
        (
            json!({ "email": email, "name": "Ada", "verificationCode": "123456" }),
            "password",
        ),
        (
            json!({ "email": email, "password": PASSWORD, "name": 7, "verificationCode": "123456" }),
            "name",
        ),
    ];
    for (body, field) in cases {
        let reply = app
            .post("/api/auth/register", &Auth::none(), &body)
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert!(
            reply.body["message"]
                .as_str()
                .expect("message")
                .contains(field),
            "{field}: {}",
            reply.text
        );
    }
    assert_eq!(user_rows(&app, &email).await, 0);
}
