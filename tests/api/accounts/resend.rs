//! Asking for a code again: within the resend cooldown the answer is 200 with `sent: false` and
//! nothing is mailed (the code sent earlier stays as it is); past it a new code replaces the old;
//! the hourly limits count every request and stay 429.

use crate::helpers::*;
use chrono::Duration;

fn seconds(reply: &Reply, field: &str) -> u64 {
    reply.body[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is a whole number: {}", reply.text))
}

#[tokio::test]
async fn a_second_request_within_the_cooldown_is_200_mails_nothing_and_the_first_code_registers() {
    // Arrange
    let app = spawn_app().await;
    let email = unique_email("again");
    let first = app
        .send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let code = smtp().latest_code(&email).await;
    app.clock.advance(Duration::seconds(20));

    // Act
    let again = app
        .send_verification(&email, &Auth::none())
        .await
        .expect(200);

    // Assert
    assert_eq!(first.body["success"], true);
    assert_eq!(first.body["sent"], true, "{}", first.text);
    assert_eq!(seconds(&first, "resendAfter"), 60);
    assert_eq!(seconds(&first, "expiresIn"), 600);
    assert_eq!(first.body["message"], "Verification code sent");

    assert_eq!(again.body["success"], true);
    assert_eq!(again.body["sent"], false, "{}", again.text);
    // (the app's clock is the real one moved forward: a little real time passes between requests)
    let wait = seconds(&again, "resendAfter");
    assert!((35..=40).contains(&wait), "{wait}");
    let left = seconds(&again, "expiresIn");
    assert!(
        (575..=580).contains(&left),
        "the first code's expiry: {left}"
    );
    assert!(
        again.body["message"]
            .as_str()
            .expect("message")
            .contains("still valid"),
        "{}",
        again.text
    );
    assert_eq!(again.header("retry-after"), None);
    assert_eq!(smtp().messages_to(&email).await.len(), 1, "no second mail");

    app.register(&email, PASSWORD, &code, &Auth::none())
        .await
        .expect(201);
}

#[tokio::test]
async fn once_the_cooldown_has_passed_a_new_code_is_mailed_and_replaces_the_first() {
    // Arrange
    let app = spawn_app().await;
    let email = unique_email("resend");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let first = smtp().latest_code(&email).await;

    // Act: shortly before the end of the cooldown, then at its end
    app.clock.advance(Duration::seconds(55));
    let early = app
        .send_verification(&email, &Auth::none())
        .await
        .expect(200);
    app.clock.advance(Duration::seconds(5));
    let fresh = app
        .send_verification(&email, &Auth::none())
        .await
        .expect(200);

    // Assert
    assert_eq!(early.body["sent"], false, "{}", early.text);
    let wait = seconds(&early, "resendAfter");
    assert!((1..=5).contains(&wait), "{wait}");
    assert_eq!(fresh.body["sent"], true, "{}", fresh.text);
    assert_eq!(seconds(&fresh, "resendAfter"), 60);
    assert_eq!(seconds(&fresh, "expiresIn"), 600);
    assert_eq!(smtp().messages_to(&email).await.len(), 2, "one new mail");
    let second = smtp().latest_code(&email).await;
    if first != second {
        app.register(&email, PASSWORD, &first, &Auth::none())
            .await
            .expect_error(400, "INVALID_VERIFICATION_CODE");
    }
    app.register(&email, PASSWORD, &second, &Auth::none())
        .await
        .expect(201);
}

#[tokio::test]
async fn a_locked_code_stays_locked_within_the_cooldown_and_the_answer_says_so() {
    // Arrange: five wrong codes right after the mail
    let app = spawn_app().await;
    let email = unique_email("locked");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let code = smtp().latest_code(&email).await;
    for _ in 0..5 {
        app.register(&email, PASSWORD, wrong_code(&code), &Auth::none())
            .await
            .expect_error(400, "INVALID_VERIFICATION_CODE");
    }

    // Act
    let again = app
        .send_verification(&email, &Auth::none())
        .await
        .expect(200);

    // Assert: no new code, the attempts are not reset
    assert_eq!(again.body["sent"], false, "{}", again.text);
    assert!(seconds(&again, "resendAfter") > 0);
    assert!(
        again.body["message"]
            .as_str()
            .expect("message")
            .contains("locked"),
        "{}",
        again.text
    );
    assert_eq!(smtp().messages_to(&email).await.len(), 1);
    app.register(&email, PASSWORD, &code, &Auth::none())
        .await
        .expect_error(400, "VERIFICATION_ATTEMPTS_EXCEEDED");
}

#[tokio::test]
async fn requests_within_the_cooldown_count_toward_the_hourly_limit_which_stays_429() {
    // Arrange
    let app = spawn_app_with(&[("RATE_LIMIT_SEND_VERIFICATION_EMAIL", "3/1h")]).await;
    let email = unique_email("hourly");
    let sent = app
        .send_verification(&email, &Auth::none())
        .await
        .expect(200);
    assert_eq!(sent.body["sent"], true);
    for _ in 0..2 {
        let again = app
            .send_verification(&email, &Auth::none())
            .await
            .expect(200);
        assert_eq!(again.body["sent"], false, "{}", again.text);
    }

    // Act: a fourth request within the hour, then one past the cooldown
    let limited = app
        .send_verification(&email, &Auth::none())
        .await
        .expect_error(429, "RATE_LIMITED");
    app.clock.advance(Duration::seconds(61));
    let still_limited = app
        .send_verification(&email, &Auth::none())
        .await
        .expect_error(429, "RATE_LIMITED");

    // Assert
    for reply in [&limited, &still_limited] {
        let retry: u64 = reply
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("whole seconds");
        assert!(retry > 60, "the hourly window, not the cooldown: {retry}");
    }
    assert_eq!(
        smtp().messages_to(&email).await.len(),
        1,
        "only the first mail"
    );
}
