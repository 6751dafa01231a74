//! Rate limits: 429 with Retry-After at each threshold, per account and per IP, shared by replicas.

use crate::helpers::*;
use chrono::Duration;

fn retry_after(reply: &Reply) -> u64 {
    reply
        .header("retry-after")
        .expect("Retry-After header")
        .parse()
        .expect("whole seconds")
}

#[tokio::test]
async fn login_is_limited_per_account_with_retry_after() {
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_ACCOUNT", "3/1m")]).await;
    let user = app.signup().await;
    for _ in 0..3 {
        app.login(&user.email, "wrong password here", &Auth::none())
            .await
            .expect_error(401, "INVALID_CREDENTIALS");
    }
    let limited = app
        .login(&user.email, &user.password, &Auth::none())
        .await
        .expect_error(429, "RATE_LIMITED");
    assert!((1..=60).contains(&retry_after(&limited)));
    // The limit is per account: another account from the same address still logs in.
    let other = app.signup().await;
    app.login(&other.email, &other.password, &Auth::none())
        .await
        .expect(200);
}

#[tokio::test]
async fn login_is_limited_per_ip_across_accounts() {
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_IP", "2/1h")]).await;
    for _ in 0..2 {
        app.login(&unique_email("a"), PASSWORD, &Auth::none())
            .await
            .expect_error(401, "INVALID_CREDENTIALS");
    }
    let limited = app
        .login(&unique_email("b"), PASSWORD, &Auth::none())
        .await
        .expect_error(429, "RATE_LIMITED");
    assert!(
        (3000..=3600).contains(&retry_after(&limited)),
        "{}",
        retry_after(&limited)
    );
}

#[tokio::test]
async fn send_verification_is_limited_per_email_and_per_ip() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_SEND_VERIFICATION_EMAIL", "2/1h"),
        ("RATE_LIMIT_SEND_VERIFICATION_IP", "4/1h"),
        ("VERIFICATION_RESEND_COOLDOWN", "1s"),
    ])
    .await;
    let email = unique_email("limited");
    for _ in 0..2 {
        app.send_verification(&email, &Auth::none())
            .await
            .expect(200);
        app.clock.advance(Duration::seconds(2)); // past the resend cooldown
    }
    app.send_verification(&email, &Auth::none())
        .await
        .expect_error(429, "RATE_LIMITED");
    assert_eq!(
        smtp().messages_to(&email).len(),
        2,
        "the limited request sent nothing"
    );

    // 3 requests so far from this IP (the limited one counts); one more is allowed, then 429.
    app.send_verification(&unique_email("x"), &Auth::none())
        .await
        .expect(200);
    let limited = app
        .send_verification(&unique_email("y"), &Auth::none())
        .await
        .expect_error(429, "RATE_LIMITED");
    assert!(retry_after(&limited) > 60);
}

#[tokio::test]
async fn register_is_limited_per_ip() {
    let app = spawn_app_with(&[("RATE_LIMIT_REGISTER_IP", "2/1h")]).await;
    for _ in 0..2 {
        app.register(&unique_email("r"), PASSWORD, "123456", &Auth::none())
            .await
            .expect_error(400, "INVALID_VERIFICATION_CODE");
    }
    app.register(&unique_email("r"), PASSWORD, "123456", &Auth::none())
        .await
        .expect_error(429, "RATE_LIMITED");
}

#[tokio::test]
async fn register_is_limited_per_email() {
    let app = spawn_app_with(&[("RATE_LIMIT_REGISTER_EMAIL", "2/1h")]).await;
    let email = unique_email("guess");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let code = smtp().latest_code(&email);
    let wrong = wrong_code(&code);
    for _ in 0..2 {
        app.register(&email, PASSWORD, wrong, &Auth::none())
            .await
            .expect_error(400, "INVALID_VERIFICATION_CODE");
    }
    // Even the right code waits: guessing is throttled before the code is checked.
    app.register(&email, PASSWORD, &code, &Auth::none())
        .await
        .expect_error(429, "RATE_LIMITED");
}

#[tokio::test]
async fn limits_are_shared_by_all_replicas_through_redis() {
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_ACCOUNT", "2/1m")]).await;
    let replica = spawn_replica(&app, &[("RATE_LIMIT_LOGIN_ACCOUNT", "2/1m")]).await;
    let email = unique_email("shared");
    app.login(&email, PASSWORD, &Auth::none())
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
    replica
        .login(&email, PASSWORD, &Auth::none())
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
    app.login(&email, PASSWORD, &Auth::none())
        .await
        .expect_error(429, "RATE_LIMITED");
    replica
        .login(&email, PASSWORD, &Auth::none())
        .await
        .expect_error(429, "RATE_LIMITED");
}

#[tokio::test]
async fn limits_are_counted_per_tenant() {
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_ACCOUNT", "1/1m")]).await;
    let tenant = app.create_tenant("rl").await;
    let email = unique_email("both");
    app.login(&email, PASSWORD, &Auth::none())
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
    app.login(&email, PASSWORD, &Auth::none())
        .await
        .expect_error(429, "RATE_LIMITED");
    app.login(&email, PASSWORD, &Auth::none().tenant(&tenant))
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
}
