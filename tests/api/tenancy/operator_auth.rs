//! Operator authentication: missing, wrong or non-operator credentials, the platform API when no
//! operator token is configured, and the case of the bearer scheme.

use super::support::{
    TENANTS, admins_path, fresh_slug, read_tenant, tenant_count, tenant_path, users_with_email,
};
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn the_platform_api_without_authorization_is_401_unauthorized() {
    // Arrange
    let app = spawn_app().await;
    let before = tenant_count(&app).await;
    let create = json!({ "slug": fresh_slug("anon"), "name": "Anon" });
    let admin = json!({ "email": unique_email("anon"), "password": PASSWORD, "name": "Anon" });

    // Act
    let replies = [
        ("list", app.get(TENANTS, &Auth::none()).await),
        ("create", app.post(TENANTS, &Auth::none(), &create).await),
        ("get", app.get(&tenant_path("default"), &Auth::none()).await),
        (
            "patch",
            app.patch(
                &tenant_path("default"),
                &Auth::none(),
                &json!({ "name": "Hijacked" }),
            )
            .await,
        ),
        (
            "admins",
            app.post(&admins_path("default"), &Auth::none(), &admin)
                .await,
        ),
    ];

    // Assert
    for (endpoint, reply) in replies {
        assert_eq!(reply.status.as_u16(), 401, "{endpoint}: {}", reply.text);
        assert_eq!(
            reply.body["error"], "UNAUTHORIZED",
            "{endpoint}: {}",
            reply.text
        );
    }
    assert_eq!(tenant_count(&app).await, before, "no tenant was created");
    assert_eq!(
        read_tenant(&app, "default").await["name"],
        "Default marketplace",
        "the default tenant was not renamed"
    );
    assert_eq!(
        users_with_email(&app, admin["email"].as_str().expect("email")).await,
        0,
        "no admin was created"
    );
}

#[tokio::test]
async fn a_wrong_operator_token_is_401_invalid_token() {
    // Arrange
    let app = spawn_app().await;
    let before = tenant_count(&app).await;
    let cases: Vec<(&str, String)> = vec![
        (
            "another token",
            "Bearer not-the-operator-token-0123456789".to_owned(),
        ),
        (
            "the token with a suffix",
            format!("Bearer {OPERATOR_TOKEN}x"),
        ),
        (
            "a prefix of the token",
            format!("Bearer {}", &OPERATOR_TOKEN[..OPERATOR_TOKEN.len() - 1]),
        ),
        ("an empty bearer", "Bearer ".to_owned()),
        (
            "the token under another scheme",
            format!("Basic {OPERATOR_TOKEN}"),
        ),
        ("the bare token without a scheme", OPERATOR_TOKEN.to_owned()),
    ];

    for (why, header) in cases {
        // Act
        let auth = Auth::none().with("authorization", header);
        let listed = app.get(TENANTS, &auth).await;
        let created = app
            .post(
                TENANTS,
                &auth,
                &json!({ "slug": fresh_slug("bad"), "name": "Bad" }),
            )
            .await;

        // Assert
        listed.expect_error(401, "INVALID_TOKEN");
        let created = created.expect_error(401, "INVALID_TOKEN");
        assert!(
            !created.text.contains(OPERATOR_TOKEN),
            "{why}: the error must not echo the token"
        );
    }
    assert_eq!(tenant_count(&app).await, before, "no tenant was created");
}

#[tokio::test]
async fn a_users_jwt_or_api_key_is_not_an_operator_credential() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let admin = app.admin_in("default").await;
    let before = tenant_count(&app).await;
    let cases = [
        ("a consumer's JWT", Auth::bearer(&user.token)),
        ("a tenant admin's JWT", Auth::bearer(&admin.token)),
        ("an API key as bearer", Auth::bearer(&user.api_key)),
    ];

    for (why, auth) in cases {
        // Act
        let reply = app
            .post(
                TENANTS,
                &auth,
                &json!({ "slug": fresh_slug("user"), "name": "By a user" }),
            )
            .await;

        // Assert
        assert_eq!(reply.status.as_u16(), 401, "{why}: {}", reply.text);
        assert_eq!(
            reply.body["error"], "INVALID_TOKEN",
            "{why}: {}",
            reply.text
        );
    }
    assert_eq!(tenant_count(&app).await, before, "no tenant was created");
}

#[tokio::test]
async fn the_platform_api_is_403_disabled_when_no_operator_token_is_configured() {
    // Arrange
    let app = spawn_app_with(&[("PLATFORM_OPERATOR_TOKEN", "")]).await;
    let before = tenant_count(&app).await;

    // Act
    let with_token = app
        .post(
            TENANTS,
            &Auth::operator(),
            &json!({ "slug": fresh_slug("off"), "name": "Off" }),
        )
        .await;
    let without_token = app.get(TENANTS, &Auth::none()).await;
    let empty_bearer = app
        .get(
            TENANTS,
            &Auth::none().with("authorization", "Bearer ".to_owned()),
        )
        .await;

    // Assert
    with_token.expect_error(403, "PLATFORM_API_DISABLED");
    without_token.expect_error(403, "PLATFORM_API_DISABLED");
    empty_bearer.expect_error(403, "PLATFORM_API_DISABLED");
    assert_eq!(tenant_count(&app).await, before, "no tenant was created");
}

#[tokio::test]
async fn the_operator_bearer_scheme_is_case_insensitive() {
    // RFC 9110 §11.1: the auth scheme is a case-insensitive token; user credentials already accept
    // `bearer`, so the operator token must too.
    let app = spawn_app().await;
    for scheme in ["bearer", "BEARER"] {
        let auth = Auth::none().with("authorization", format!("{scheme} {OPERATOR_TOKEN}"));
        let reply = app.get(TENANTS, &auth).await;
        assert_eq!(
            reply.status.as_u16(),
            200,
            "scheme {scheme:?}: {}",
            reply.text
        );
    }
}
