//! Registration with a mailed code (read from a real SMTP server), login, `me`, and each documented error.
//! `resend`: asking for a code again, within and past the resend cooldown; `existing_email`: an
//! email that already has an account.

mod existing_email;
mod resend;

use crate::helpers::*;
use chrono::Duration;
use serde_json::json;

async fn user_rows(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn the_full_register_flow_works_with_a_code_from_a_real_smtp_server() {
    let app = spawn_app().await;
    let email = unique_email("ada");

    let sent = app
        .send_verification(&email, &Auth::none())
        .await
        .expect(200);
    assert_eq!(sent.body["success"], true);
    assert_eq!(sent.body["expiresIn"], 600);
    let mail = smtp().messages_to(&email);
    assert_eq!(mail.len(), 1, "exactly one mail");
    let code = smtp().latest_code(&email);
    assert!(
        code.chars().all(|c| c.is_ascii_digit()) && code.len() == 6,
        "{code}"
    );

    let reply = app
        .register(&email, PASSWORD, &code, &Auth::none())
        .await
        .expect(201);
    let token = reply.body["token"].as_str().expect("token").to_owned();
    let api_key = reply.body["apiKey"].as_str().expect("apiKey").to_owned();
    assert!(api_key.starts_with("clr_"));
    assert_eq!(reply.body["user"]["email"], email.as_str());
    assert_eq!(reply.body["user"]["name"], "Test User");
    let id = reply.body["user"]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        uuid::Uuid::parse_str(&id).expect("uuid").get_version_num(),
        7
    );

    for auth in [
        Auth::bearer(&token),
        Auth::api_key(&api_key),
        Auth::bearer(&api_key),
    ] {
        let me = app.me(&auth).await.expect(200);
        assert_eq!(me.body["id"], id.as_str());
        assert_eq!(me.body["email"], email.as_str());
        assert_eq!(me.body["role"], "consumer");
        assert_eq!(me.body["emailVerified"], true);
        assert_eq!(me.body["tenant"]["slug"], "default");
    }

    let login = app
        .login(&email.to_uppercase(), PASSWORD, &Auth::none())
        .await
        .expect(200);
    assert_eq!(login.body["user"]["id"], id.as_str());
    app.me(&Auth::bearer(login.body["token"].as_str().expect("token")))
        .await
        .expect(200);

    let (hash, verifications): (String, i64) = sqlx::query_as(
        "SELECT password_hash, (SELECT count(*) FROM email_verifications) FROM users WHERE id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.db)
    .await
    .expect("row");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert_eq!(verifications, 0, "the code is consumed");
}

#[tokio::test]
async fn verification_codes_are_stored_hashed_and_expire_after_ten_minutes() {
    let app = spawn_app().await;
    let email = unique_email("hashed");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let code = smtp().latest_code(&email);
    let (stored, ttl_seconds): (Vec<u8>, f64) = sqlx::query_as(
        "SELECT code_hash, extract(epoch FROM expires_at - sent_at)::float8 FROM email_verifications WHERE email = $1",
    )
    .bind(&email)
    .fetch_one(&app.db)
    .await
    .expect("row");
    assert_eq!(stored.len(), 32, "an HMAC-SHA256, not the code");
    assert!(!stored.windows(6).any(|w| w == code.as_bytes()));
    assert_eq!(ttl_seconds, 600.0);
}

#[tokio::test]
async fn login_with_a_wrong_password_or_an_unknown_email_is_401_with_the_same_answer() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let wrong = app
        .login(&user.email, "not the password at all", &Auth::none())
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
    let unknown = app
        .login(&unique_email("ghost"), PASSWORD, &Auth::none())
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
    assert_eq!(
        wrong.text, unknown.text,
        "unknown emails must be indistinguishable from wrong passwords"
    );
}

#[tokio::test]
async fn a_wrong_code_is_rejected_and_counts_an_attempt() {
    let app = spawn_app().await;
    let email = unique_email("wrong");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let code = smtp().latest_code(&email);
    let wrong = wrong_code(&code);

    let reply = app
        .register(&email, PASSWORD, wrong, &Auth::none())
        .await
        .expect_error(400, "INVALID_VERIFICATION_CODE");
    assert!(
        reply.body["message"]
            .as_str()
            .expect("message")
            .contains("4 attempts left"),
        "{}",
        reply.text
    );
    assert_eq!(user_rows(&app, &email).await, 0);

    app.register(&email, PASSWORD, &code, &Auth::none())
        .await
        .expect(201);
}

#[tokio::test]
async fn five_wrong_codes_lock_the_code_until_a_new_one_is_requested() {
    let app = spawn_app().await;
    let email = unique_email("locked");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let code = smtp().latest_code(&email);
    let wrong = wrong_code(&code);
    for _ in 0..5 {
        app.register(&email, PASSWORD, wrong, &Auth::none())
            .await
            .expect_error(400, "INVALID_VERIFICATION_CODE");
    }
    app.register(&email, PASSWORD, &code, &Auth::none())
        .await
        .expect_error(400, "VERIFICATION_ATTEMPTS_EXCEEDED");
    assert_eq!(user_rows(&app, &email).await, 0);

    app.clock.advance(Duration::seconds(61));
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let fresh = smtp().latest_code(&email);
    app.register(&email, PASSWORD, &fresh, &Auth::none())
        .await
        .expect(201);
}

#[tokio::test]
async fn an_expired_code_is_rejected() {
    let app = spawn_app().await;
    let email = unique_email("late");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let code = smtp().latest_code(&email);
    app.clock
        .advance(Duration::minutes(10) + Duration::seconds(1));
    app.register(&email, PASSWORD, &code, &Auth::none())
        .await
        .expect_error(400, "VERIFICATION_CODE_EXPIRED");
    assert_eq!(user_rows(&app, &email).await, 0);
}

#[tokio::test]
async fn registering_without_requesting_a_code_is_rejected() {
    let app = spawn_app().await;
    let email = unique_email("nocode");
    app.register(&email, PASSWORD, "123456", &Auth::none())
        .await
        .expect_error(400, "INVALID_VERIFICATION_CODE");
    assert_eq!(user_rows(&app, &email).await, 0);
}

#[tokio::test]
async fn a_registered_email_cannot_get_a_code_or_register_again() {
    let app = spawn_app().await;
    let user = app.signup().await;
    app.send_verification(&user.email, &Auth::none())
        .await
        .expect_error(409, "EMAIL_ALREADY_REGISTERED");
    app.send_verification(&user.email.to_uppercase(), &Auth::none())
        .await
        .expect_error(409, "EMAIL_ALREADY_REGISTERED");

    // The account appears between sending the code and registering (here: an admin bootstrap).
    let email = unique_email("race");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let code = smtp().latest_code(&email);
    let admin = json!({ "email": email, "password": PASSWORD, "name": "Admin" });
    app.post(
        "/api/platform/tenants/default/admins",
        &Auth::operator(),
        &admin,
    )
    .await
    .expect(201);
    app.register(&email, PASSWORD, &code, &Auth::none())
        .await
        .expect_error(409, "EMAIL_ALREADY_REGISTERED");
    assert_eq!(user_rows(&app, &email).await, 1);
}

#[tokio::test]
async fn weak_passwords_are_rejected_without_using_up_the_code() {
    let app = spawn_app().await;
    let email = unique_email("weak");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let code = smtp().latest_code(&email);
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

#[tokio::test]
async fn me_requires_credentials() {
    let app = spawn_app().await;
    app.me(&Auth::none())
        .await
        .expect_error(401, "UNAUTHORIZED");
    app.me(&Auth::bearer("not-a-token"))
        .await
        .expect_error(401, "INVALID_TOKEN");
    app.me(&Auth::api_key("clr_doesnotexist"))
        .await
        .expect_error(401, "INVALID_TOKEN");
    app.me(&Auth::bearer(
        "agt_clawrent_0123456789abcdef0123456789abcdef",
    ))
    .await
    .expect_error(401, "INVALID_TOKEN");
}
