//! Tenant input refused on create: invalid and missing fields, and hostnames taken by another
//! tenant, all creating nothing.

use super::support::{
    TENANTS, create_tenant_with_hosts, fresh_host, fresh_slug, read_tenant, tenant_count,
    tenant_path,
};
use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn invalid_tenant_fields_are_400_validation_error_and_create_nothing() {
    // Arrange
    let app = spawn_app().await;
    let before = tenant_count(&app).await;
    let ok = |patch: Value| {
        let mut body = json!({ "slug": fresh_slug("bad"), "name": "Valid name" });
        for (k, v) in patch.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let many_hosts: Vec<String> = (0..21).map(|i| format!("h{i}.example.test")).collect();
    let many_codes: Vec<String> = (0..17u8)
        .map(|i| format!("A{}{}", char::from(b'A' + i), 'X'))
        .collect();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("empty slug", ok(json!({ "slug": "" })), "slug"),
        ("uppercase slug", ok(json!({ "slug": "Acme" })), "slug"),
        (
            "slug with a leading hyphen",
            ok(json!({ "slug": "-acme" })),
            "slug",
        ),
        (
            "slug with a trailing hyphen",
            ok(json!({ "slug": "acme-" })),
            "slug",
        ),
        ("slug with a space", ok(json!({ "slug": "ac me" })), "slug"),
        (
            "slug with an underscore",
            ok(json!({ "slug": "ac_me" })),
            "slug",
        ),
        (
            "slug of 51 characters",
            ok(json!({ "slug": "a".repeat(51) })),
            "slug",
        ),
        ("slug as a number", ok(json!({ "slug": 5 })), "slug"),
        ("empty name", ok(json!({ "name": "" })), "name"),
        ("blank name", ok(json!({ "name": "   " })), "name"),
        (
            "name of 101 characters",
            ok(json!({ "name": "n".repeat(101) })),
            "name",
        ),
        (
            "name with a control character",
            ok(json!({ "name": "bad\u{0007}name" })),
            "name",
        ),
        (
            "name with NUL",
            ok(json!({ "name": "bad\u{0000}name" })),
            "name",
        ),
        ("fee rate of 1", ok(json!({ "feeRate": "1" })), "feeRate"),
        (
            "negative fee rate",
            ok(json!({ "feeRate": "-0.1" })),
            "feeRate",
        ),
        (
            "fee rate with 5 decimals",
            ok(json!({ "feeRate": "0.12345" })),
            "feeRate",
        ),
        (
            "fee rate as a JSON number",
            ok(json!({ "feeRate": 0.1 })),
            "feeRate",
        ),
        (
            "fee rate that is not a number",
            ok(json!({ "feeRate": "abc" })),
            "feeRate",
        ),
        ("empty fee rate", ok(json!({ "feeRate": "" })), "feeRate"),
        (
            "no currencies",
            ok(json!({ "currencies": [] })),
            "currencies",
        ),
        (
            "lowercase currency",
            ok(json!({ "currencies": ["usd"] })),
            "currencies",
        ),
        (
            "four-letter currency",
            ok(json!({ "currencies": ["USDT"] })),
            "currencies",
        ),
        (
            "17 currencies",
            ok(json!({ "currencies": many_codes })),
            "currencies",
        ),
        (
            "currencies as a string",
            ok(json!({ "currencies": "USD" })),
            "currencies",
        ),
        (
            "hostname with a space",
            ok(json!({ "hostnames": ["bad host"] })),
            "hostnames",
        ),
        (
            "hostname with a leading hyphen",
            ok(json!({ "hostnames": ["-x.example.test"] })),
            "hostnames",
        ),
        (
            "hostname with an empty label",
            ok(json!({ "hostnames": ["a..example.test"] })),
            "hostnames",
        ),
        (
            "empty hostname",
            ok(json!({ "hostnames": [""] })),
            "hostnames",
        ),
        (
            "hostname with a port",
            ok(json!({ "hostnames": ["shop.example.test:8080"] })),
            "hostnames",
        ),
        (
            "21 hostnames",
            ok(json!({ "hostnames": many_hosts })),
            "hostnames",
        ),
        (
            "localhost (it would capture the default tenant's local traffic)",
            ok(json!({ "hostnames": ["localhost"] })),
            "hostnames",
        ),
        (
            "a subdomain of localhost",
            ok(json!({ "hostnames": ["shop.localhost"] })),
            "hostnames",
        ),
        (
            "an IPv4 literal",
            ok(json!({ "hostnames": ["127.0.0.1"] })),
            "hostnames",
        ),
        (
            "an IPv6 literal",
            ok(json!({ "hostnames": ["[::1]"] })),
            "hostnames",
        ),
        (
            "a single-label name (a Kubernetes Service name)",
            ok(json!({ "hostnames": ["clawrent"] })),
            "hostnames",
        ),
        (
            "hostnames as a string",
            ok(json!({ "hostnames": "shop.example.test" })),
            "hostnames",
        ),
    ];

    for (why, body, field) in cases {
        // Act
        let reply = app.post(TENANTS, &Auth::operator(), &body).await;

        // Assert
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(
            reply.body["error"], "VALIDATION_ERROR",
            "{why}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["details"]["field"], field,
            "{why}: {}",
            reply.text
        );
        let message = reply.body["message"].as_str().expect("message");
        assert!(
            message.contains(field),
            "{why}: the message names {field}: {message}"
        );
    }
    assert_eq!(tenant_count(&app).await, before, "no tenant was created");
    assert_eq!(
        app.count("SELECT count(*) FROM tenant_hostnames").await,
        0,
        "no hostname was stored"
    );
}

#[tokio::test]
async fn missing_required_tenant_fields_are_400_naming_them() {
    let app = spawn_app().await;
    let before = tenant_count(&app).await;
    let cases = [
        ("no slug", json!({ "name": "No slug" }), "slug"),
        ("no name", json!({ "slug": fresh_slug("noname") }), "name"),
    ];
    for (why, body, field) in cases {
        let reply = app.post(TENANTS, &Auth::operator(), &body).await;
        let reply = reply.expect_error(400, "VALIDATION_ERROR");
        let message = reply.body["message"].as_str().expect("message");
        assert!(message.contains(field), "{why}: {message}");
    }
    assert_eq!(tenant_count(&app).await, before, "no tenant was created");
}

#[tokio::test]
async fn a_hostname_taken_by_another_tenant_is_409_on_create_and_creates_nothing() {
    // Arrange
    let app = spawn_app().await;
    let host = fresh_host("taken");
    let owner = create_tenant_with_hosts(&app, "owner", &[host.as_str()]).await;
    let before = tenant_count(&app).await;
    let slug = fresh_slug("thief");

    // Act
    let body = json!({ "slug": slug, "name": "Thief", "hostnames": [format!("free.{host}"), host.to_uppercase()] });
    let reply = app.post(TENANTS, &Auth::operator(), &body).await;

    // Assert
    let reply = reply.expect_error(409, "CONFLICT");
    assert_eq!(
        reply.body["details"]["field"], "hostnames",
        "{}",
        reply.text
    );
    assert_eq!(
        tenant_count(&app).await,
        before,
        "the tenant row was rolled back"
    );
    app.get(&tenant_path(&slug), &Auth::operator())
        .await
        .expect_error(404, "NOT_FOUND");
    assert_eq!(
        read_tenant(&app, &owner).await["hostnames"],
        json!([host]),
        "the owner keeps its hostname"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM tenant_hostnames").await,
        1,
        "the free hostname was not stored either"
    );
}
