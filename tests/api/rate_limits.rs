//! Rate limits: 429 with Retry-After at each threshold, per account and per IP, shared by replicas.
//! Login failures are counted per (account, address) and against a higher per-account ceiling;
//! per-IP buckets are global across tenants. Tests that need several client addresses trust
//! loopback as the proxy and send X-Forwarded-For (see tests/api/overload.rs).

use crate::helpers::*;
use chrono::Duration;

fn retry_after(reply: &Reply) -> u64 {
    reply
        .header("retry-after")
        .expect("Retry-After header")
        .parse()
        .expect("whole seconds")
}

fn from(ip: &str) -> Auth {
    Auth::none().with("x-forwarded-for", ip.to_owned())
}

#[tokio::test]
async fn failed_logins_are_limited_per_account_and_address_with_retry_after() {
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_ACCOUNT_IP", "3/1m")]).await;
    let user = app.signup().await;
    for _ in 0..3 {
        app.login(&user.email, "wrong password here", &Auth::none())
            .await
            .expect_error(401, "INVALID_CREDENTIALS");
    }
    // The address that failed three times waits, even with the right password.
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
async fn a_user_who_knows_the_password_is_not_locked_out_by_failures_from_another_address() {
    let app = spawn_app_with(&[
        ("TRUST_PROXY_HEADERS", "true"),
        ("RATE_LIMIT_LOGIN_ACCOUNT_IP", "3/15m"),
    ])
    .await;
    let victim = app.signup().await;
    let attacker = from("203.0.113.66");
    for _ in 0..3 {
        app.login(&victim.email, "guessing-1234", &attacker)
            .await
            .expect_error(401, "INVALID_CREDENTIALS");
    }
    app.login(&victim.email, "guessing-1234", &attacker)
        .await
        .expect_error(429, "RATE_LIMITED");
    app.login(&victim.email, &victim.password, &from("198.51.100.7"))
        .await
        .expect(200);
}

#[tokio::test]
async fn the_account_ceiling_counts_failures_from_every_address() {
    let app = spawn_app_with(&[
        ("TRUST_PROXY_HEADERS", "true"),
        ("RATE_LIMIT_LOGIN_ACCOUNT", "4/15m"),
    ])
    .await;
    let user = app.signup().await;
    for n in 1..=4 {
        app.login(
            &user.email,
            "guessing-1234",
            &from(&format!("203.0.113.{n}")),
        )
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
    }
    let limited = app
        .login(&user.email, &user.password, &from("198.51.100.7"))
        .await
        .expect_error(429, "RATE_LIMITED");
    assert!((1..=900).contains(&retry_after(&limited)));
}

#[tokio::test]
async fn successful_logins_do_not_use_up_the_account_allowances() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_LOGIN_ACCOUNT_IP", "2/15m"),
        ("RATE_LIMIT_LOGIN_ACCOUNT", "2/15m"),
    ])
    .await;
    let user = app.signup().await;
    for _ in 0..4 {
        app.login(&user.email, &user.password, &Auth::none())
            .await
            .expect(200);
    }
    for _ in 0..2 {
        app.login(&user.email, "guessing-1234", &Auth::none())
            .await
            .expect_error(401, "INVALID_CREDENTIALS");
    }
    app.login(&user.email, &user.password, &Auth::none())
        .await
        .expect_error(429, "RATE_LIMITED");
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
        smtp().messages_to(&email).await.len(),
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
    let code = smtp().latest_code(&email).await;
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
async fn account_limits_are_counted_per_tenant() {
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

#[tokio::test]
async fn ip_limits_are_counted_across_tenants() {
    // (variable, request): exhaust the address's allowance in the default tenant, then the same
    // address is refused in another tenant.
    let cases: [(&str, &str); 3] = [
        ("RATE_LIMIT_LOGIN_IP", "login"),
        ("RATE_LIMIT_REGISTER_IP", "register"),
        ("RATE_LIMIT_SEND_VERIFICATION_IP", "send-verification"),
    ];
    for (variable, what) in cases {
        let app = spawn_app_with(&[(variable, "2/1h")]).await;
        let other = app.create_tenant("ip").await;
        let attempt = |tenant: Option<String>| {
            let app = &app;
            async move {
                let auth = match tenant {
                    Some(slug) => Auth::none().tenant(&slug),
                    None => Auth::none(),
                };
                let email = unique_email("ip");
                match what {
                    "login" => app.login(&email, PASSWORD, &auth).await,
                    "register" => app.register(&email, PASSWORD, "123456", &auth).await,
                    _ => app.send_verification(&email, &auth).await,
                }
            }
        };
        for _ in 0..2 {
            let reply = attempt(None).await;
            assert_ne!(reply.status.as_u16(), 429, "{what}: {}", reply.text);
        }
        let reply = attempt(Some(other)).await;
        assert_eq!(
            reply.status.as_u16(),
            429,
            "{what} in another tenant: {}",
            reply.text
        );
        reply.expect_error(429, "RATE_LIMITED");
    }
}

#[tokio::test]
async fn a_spoofed_leftmost_forwarded_for_does_not_escape_the_login_ip_limit() {
    // The test is the trusted proxy (loopback): it appends the real client address, 203.0.113.9,
    // to whatever the client sent; the client varies its own (leftmost) entries.
    let app = spawn_app_with(&[
        ("TRUST_PROXY_HEADERS", "true"),
        ("RATE_LIMIT_LOGIN_IP", "5/15m"),
    ])
    .await;
    let mut statuses = Vec::new();
    for n in 0..7 {
        let header = format!("6.6.6.{n}, 7.7.{n}.7, 203.0.113.9");
        let reply = app
            .login(&unique_email("spoof"), PASSWORD, &from(&header))
            .await;
        statuses.push(reply.status.as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
    // Another real client behind the same proxy still has its own allowance.
    app.login(&unique_email("other"), PASSWORD, &from("198.51.100.7"))
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    // Loopback is not a trusted proxy here, so the header is the client's word and is ignored:
    // every request counts against the socket peer.
    let app = spawn_app_with(&[
        ("TRUST_PROXY_HEADERS", "true"),
        ("TRUSTED_PROXIES", "10.0.0.0/8"),
        ("RATE_LIMIT_LOGIN_IP", "2/15m"),
    ])
    .await;
    let mut statuses = Vec::new();
    for n in 0..3 {
        let reply = app
            .login(
                &unique_email("peer"),
                PASSWORD,
                &from(&format!("203.0.113.{n}")),
            )
            .await;
        statuses.push(reply.status.as_u16());
    }
    assert_eq!(statuses, [401, 401, 429]);
}
