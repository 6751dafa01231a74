//! Verification codes: stored hashed with a ten-minute life, wrong codes counted and locked,
//! expired or never requested codes refused, and the resend cooldown.

use super::user_rows;
use crate::helpers::*;
use chrono::Duration;

#[tokio::test]
async fn verification_codes_are_stored_hashed_and_expire_after_ten_minutes() {
    let app = spawn_app().await;
    let email = unique_email("hashed");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let code = smtp().latest_code(&email).await;
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
async fn a_wrong_code_is_rejected_and_counts_an_attempt() {
    let app = spawn_app().await;
    let email = unique_email("wrong");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let code = smtp().latest_code(&email).await;
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
    let code = smtp().latest_code(&email).await;
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
    let fresh = smtp().latest_code(&email).await;
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
    let code = smtp().latest_code(&email).await;
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
