//! Routing a request to its tenant: the `X-Tenant` header, the `Host` header, their precedence,
//! `ALLOW_TENANT_HEADER=false`, and lookups that change at once.

use super::support::{TENANTS, create_tenant_with_hosts, fresh_host, fresh_slug, tenant_path};
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn the_x_tenant_header_selects_the_tenant() {
    // Arrange
    let app = spawn_app().await;
    let slug = app.create_tenant("acme").await;
    let user = app.signup_in(Some(&slug)).await;
    let tenant_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1")
        .bind(&slug)
        .fetch_one(&app.db)
        .await
        .expect("tenant id");

    // Act
    let me = app
        .me(&Auth::bearer(&user.token).tenant(&slug))
        .await
        .expect(200)
        .body;
    let padded = app
        .me(&Auth::bearer(&user.token).with("x-tenant", format!("  {slug} ")))
        .await;

    // Assert
    assert_eq!(me["tenant"]["slug"], slug.as_str());
    assert_eq!(me["tenant"]["id"], tenant_id.to_string());
    assert_eq!(me["tenant"]["name"], "Tenant acme");
    assert_eq!(
        padded.expect(200).body["tenant"]["slug"],
        slug.as_str(),
        "the header value is trimmed"
    );
    let stored: uuid::Uuid = sqlx::query_scalar("SELECT tenant_id FROM users WHERE id = $1::uuid")
        .bind(&user.id)
        .fetch_one(&app.db)
        .await
        .expect("user row");
    assert_eq!(
        stored, tenant_id,
        "the user was registered in the X-Tenant tenant"
    );
}

#[tokio::test]
async fn an_unknown_x_tenant_is_404_tenant_not_found() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let email = unique_email("nowhere");
    let cases: Vec<(&str, String)> = vec![
        ("unknown slug", "no-such-tenant".to_owned()),
        ("uppercase slug", "DEFAULT".to_owned()),
        ("slug with a space", "de fault".to_owned()),
        ("empty value", String::new()),
        ("very long value", "a".repeat(5_000)),
    ];

    for (why, value) in cases {
        // Act
        let me = app
            .me(&Auth::bearer(&user.token).with("x-tenant", value.clone()))
            .await;
        let sent = app
            .send_verification(&email, &Auth::none().with("x-tenant", value))
            .await;

        // Assert
        assert_eq!(me.status.as_u16(), 404, "{why}: {}", me.text);
        assert_eq!(me.body["error"], "TENANT_NOT_FOUND", "{why}: {}", me.text);
        assert_eq!(sent.status.as_u16(), 404, "{why}: {}", sent.text);
        assert_eq!(
            sent.body["error"], "TENANT_NOT_FOUND",
            "{why}: {}",
            sent.text
        );
    }
    assert!(
        smtp().messages_to(&email).await.is_empty(),
        "no mail was sent"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM email_verifications").await,
        0,
        "no code was stored"
    );
}

#[tokio::test]
async fn a_tenant_hostname_in_the_host_header_selects_the_tenant() {
    // Arrange
    let app = spawn_app().await;
    let host = fresh_host("acme");
    let slug = create_tenant_with_hosts(&app, "acme", &[host.as_str()]).await;
    let email = unique_email("byhost");
    let by_host = |value: String| Auth::none().with("host", value);

    // Act: register entirely through the Host header
    app.send_verification(&email, &by_host(host.clone()))
        .await
        .expect(200);
    let code = smtp().latest_code(&email).await;
    let registered = app
        .register(&email, PASSWORD, &code, &by_host(host.clone()))
        .await
        .expect(201);
    let token = registered.body["token"].as_str().expect("token").to_owned();

    // Assert
    let tenant_of_user: String = sqlx::query_scalar(
        "SELECT t.slug FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.email = $1",
    )
    .bind(&email)
    .fetch_one(&app.db)
    .await
    .expect("user row");
    assert_eq!(
        tenant_of_user, slug,
        "the user belongs to the Host's tenant"
    );
    for (why, value) in [
        ("plain", host.clone()),
        ("with a port", format!("{host}:8080")),
        ("in capitals", host.to_uppercase()),
    ] {
        let me = app
            .me(&by_host(value).with("authorization", format!("Bearer {token}")))
            .await;
        assert_eq!(me.status.as_u16(), 200, "{why}: {}", me.text);
        assert_eq!(me.body["tenant"]["slug"], slug.as_str(), "{why}");
    }
    app.me(&Auth::bearer(&token))
        .await
        .expect_error(401, "INVALID_TOKEN");
}

#[tokio::test]
async fn an_unknown_host_falls_back_to_the_default_tenant() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let cases = [
        ("unknown hostname", "nobody.example.test".to_owned()),
        (
            "unknown hostname with a port",
            "nobody.example.test:1234".to_owned(),
        ),
        ("invalid host", "bad_host!".to_owned()),
        ("loopback", "127.0.0.1".to_owned()),
    ];

    for (why, host) in cases {
        // Act
        let me = app.me(&Auth::bearer(&user.token).with("host", host)).await;

        // Assert
        assert_eq!(me.status.as_u16(), 200, "{why}: {}", me.text);
        assert_eq!(me.body["tenant"]["slug"], "default", "{why}");
        assert_eq!(me.body["id"], user.id.as_str(), "{why}");
    }
}

#[tokio::test]
async fn the_x_tenant_header_takes_precedence_over_the_host_header() {
    // Arrange
    let app = spawn_app().await;
    let host = fresh_host("hosted");
    let hosted = create_tenant_with_hosts(&app, "hosted", &[host.as_str()]).await;
    let other = app.create_tenant("other").await;
    let user = app.signup_in(Some(&other)).await;

    // Act
    let me = app
        .me(&Auth::bearer(&user.token)
            .tenant(&other)
            .with("host", host.clone()))
        .await;

    // Assert
    assert_eq!(me.expect(200).body["tenant"]["slug"], other.as_str());
    let via_host = app.me(&Auth::bearer(&user.token).with("host", host)).await;
    via_host.expect_error(401, "INVALID_TOKEN");
    assert_ne!(hosted, other);
}

#[tokio::test]
async fn with_allow_tenant_header_false_the_x_tenant_header_is_ignored() {
    // Arrange
    let app = spawn_app_with(&[("ALLOW_TENANT_HEADER", "false")]).await;
    let slug = app.create_tenant("ignored").await;
    let user = app.signup().await;

    // Act
    let named = app.me(&Auth::bearer(&user.token).tenant(&slug)).await;
    let unknown = app
        .me(&Auth::bearer(&user.token).tenant("no-such-tenant"))
        .await;

    // Assert
    assert_eq!(
        named.expect(200).body["tenant"]["slug"],
        "default",
        "the default tenant answers"
    );
    assert_eq!(
        unknown.expect(200).body["tenant"]["slug"],
        "default",
        "an unknown X-Tenant is not even looked at"
    );
    let signed_up: String = sqlx::query_scalar(
        "SELECT t.slug FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1::uuid",
    )
    .bind(&user.id)
    .fetch_one(&app.db)
    .await
    .expect("user row");
    assert_eq!(signed_up, "default");
}

#[tokio::test]
async fn with_allow_tenant_header_false_the_host_header_still_selects_the_tenant() {
    let app = spawn_app_with(&[("ALLOW_TENANT_HEADER", "false")]).await;
    let host = fresh_host("hostonly");
    let slug = create_tenant_with_hosts(&app, "hostonly", &[host.as_str()]).await;
    let email = unique_email("hostonly");
    app.send_verification(&email, &Auth::none().with("host", host.clone()))
        .await
        .expect(200);
    let code = smtp().latest_code(&email).await;
    let token = app
        .register(
            &email,
            PASSWORD,
            &code,
            &Auth::none().with("host", host.clone()),
        )
        .await
        .expect(201)
        .body["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let me = app
        .me(&Auth::bearer(&token).with("host", host))
        .await
        .expect(200);
    assert_eq!(me.body["tenant"]["slug"], slug.as_str());
}

#[tokio::test]
async fn changing_hostnames_reroutes_requests_at_once() {
    // Arrange
    let app = spawn_app().await;
    let host = fresh_host("moving");
    let first = create_tenant_with_hosts(&app, "first", &[host.as_str()]).await;
    let second = app.create_tenant("second").await;
    let user = app.signup().await;
    let via_host = || Auth::bearer(&user.token).with("host", host.clone());
    app.me(&via_host()).await.expect_error(401, "INVALID_TOKEN"); // routed to `first`, cached

    // Act / Assert: removing the hostname sends the Host to the default tenant again
    app.patch(
        &tenant_path(&first),
        &Auth::operator(),
        &json!({ "hostnames": [] }),
    )
    .await
    .expect(200);
    assert_eq!(
        app.me(&via_host()).await.expect(200).body["tenant"]["slug"],
        "default"
    );

    // Act / Assert: the freed hostname can move to another tenant and routes there at once
    let moved = app
        .patch(
            &tenant_path(&second),
            &Auth::operator(),
            &json!({ "hostnames": [host.clone()] }),
        )
        .await;
    assert_eq!(moved.expect(200).body["hostnames"], json!([host.clone()]));
    let in_second = app.signup_in(Some(&second)).await;
    let me = app
        .me(&Auth::bearer(&in_second.token).with("host", host.clone()))
        .await
        .expect(200);
    assert_eq!(me.body["tenant"]["slug"], second.as_str());
}

#[tokio::test]
async fn a_tenant_created_after_a_failed_lookup_resolves_at_once() {
    // Arrange: a miss for the slug is cached first
    let app = spawn_app().await;
    let slug = fresh_slug("late");
    let email = unique_email("late");
    app.send_verification(&email, &Auth::none().tenant(&slug))
        .await
        .expect_error(404, "TENANT_NOT_FOUND");

    // Act
    app.post(
        TENANTS,
        &Auth::operator(),
        &json!({ "slug": slug, "name": "Late" }),
    )
    .await
    .expect(201);
    let reply = app
        .send_verification(&email, &Auth::none().tenant(&slug))
        .await;

    // Assert
    assert_eq!(reply.expect(200).body["success"], true);
}
