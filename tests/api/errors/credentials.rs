//! Credentials: malformed Authorization headers, expired or foreign JWTs, and the previous
//! secret during rotation.

use super::support::{ALG_NONE_HEADER, HARNESS_SECRET, OTHER_SECRET, assert_envelope, tamper};
use crate::helpers::*;

#[tokio::test]
async fn malformed_authorization_headers_are_401_invalid_token() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let payload = user.token.split('.').nth(1).expect("payload");
    let cases: Vec<(&str, String)> = vec![
        ("Basic scheme", "Basic xxx".to_owned()),
        (
            "Basic scheme with a real token",
            format!("Basic {}", user.token),
        ),
        ("unknown scheme", format!("Token {}", user.token)),
        ("scheme only", "Bearer".to_owned()),
        ("empty token", "Bearer    ".to_owned()),
        ("garbage token", "Bearer garbage".to_owned()),
        ("three garbage parts", "Bearer a.b.c".to_owned()),
        ("token without a scheme", user.token.clone()),
        ("alg none", format!("Bearer {ALG_NONE_HEADER}.{payload}.")),
        (
            "tampered signature",
            format!("Bearer {}", tamper(&user.token, 2)),
        ),
        (
            "tampered payload",
            format!("Bearer {}", tamper(&user.token, 1)),
        ),
        (
            "tampered header",
            format!("Bearer {}", tamper(&user.token, 0)),
        ),
        (
            "signature dropped",
            format!("Bearer {}", user.token.rsplit_once('.').expect("parts").0),
        ),
        (
            "agent token",
            "Bearer agt_clawrent_0123456789abcdef".to_owned(),
        ),
    ];

    for (why, header) in cases {
        // Act
        let reply = app.me(&Auth::none().with("authorization", header)).await;

        // Assert
        assert_envelope(&reply, 401, "INVALID_TOKEN", why);
    }
    let none = app.me(&Auth::none()).await;
    assert_envelope(&none, 401, "UNAUTHORIZED", "no credentials at all");
    app.me(&user.auth()).await.expect(200);
}

#[tokio::test]
async fn a_bad_authorization_header_is_not_rescued_by_a_good_api_key() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let auth = Auth::api_key(&user.api_key).with("authorization", "Bearer garbage".to_owned());
    let reply = app.me(&auth).await;
    assert_envelope(
        &reply,
        401,
        "INVALID_TOKEN",
        "garbage bearer with a valid key",
    );
}

#[tokio::test]
async fn an_expired_jwt_is_401_invalid_token() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    app.clock.advance(chrono::Duration::days(29));
    app.me(&user.auth()).await.expect(200);

    // Act
    app.clock.advance(chrono::Duration::days(2));
    let reply = app.me(&user.auth()).await;

    // Assert
    assert_envelope(&reply, 401, "INVALID_TOKEN", "31 days old");
    let fresh = app
        .login(&user.email, &user.password, &Auth::none())
        .await
        .expect(200);
    let token = fresh.body["token"].as_str().expect("token");
    app.me(&Auth::bearer(token)).await.expect(200);
}

#[tokio::test]
async fn a_jwt_signed_with_another_secret_is_401() {
    // Arrange: a replica on the same database and Redis, but with another signing secret
    let app = spawn_app().await;
    let replica = spawn_replica(&app, &[("JWT_SECRET", OTHER_SECRET)]).await;
    let foreign = replica.signup().await;
    let local = app.signup().await;
    replica.me(&foreign.auth()).await.expect(200); // valid where it was issued

    // Act
    let foreign_on_app = app.me(&foreign.auth()).await;
    let local_on_replica = replica.me(&local.auth()).await;

    // Assert
    assert_envelope(
        &foreign_on_app,
        401,
        "INVALID_TOKEN",
        "replica token on app",
    );
    assert_envelope(
        &local_on_replica,
        401,
        "INVALID_TOKEN",
        "app token on replica",
    );
    app.me(&Auth::api_key(&foreign.api_key)).await.expect(200); // the user does exist on app
}

#[tokio::test]
async fn jwt_previous_secret_keeps_tokens_of_the_old_secret_valid() {
    // Arrange
    let app = spawn_app().await;
    let rotated = spawn_replica(
        &app,
        &[
            ("JWT_SECRET", OTHER_SECRET),
            ("JWT_PREVIOUS_SECRET", HARNESS_SECRET),
        ],
    )
    .await;
    let user = app.signup().await;

    // Act
    let old_token_on_rotated = rotated.me(&user.auth()).await;
    let login = rotated
        .login(&user.email, &user.password, &Auth::none())
        .await
        .expect(200);
    let new_token = login.body["token"].as_str().expect("token");

    // Assert
    assert_eq!(
        old_token_on_rotated.expect(200).body["id"],
        user.id.as_str()
    );
    assert_eq!(
        rotated.me(&Auth::bearer(new_token)).await.expect(200).body["id"],
        user.id.as_str()
    );
    let new_on_old = app.me(&Auth::bearer(new_token)).await;
    assert_envelope(
        &new_on_old,
        401,
        "INVALID_TOKEN",
        "a new-secret token on a replica that only knows the old one",
    );
}
