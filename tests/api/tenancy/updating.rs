//! Updating tenants: patches change only the given fields, refused patches change nothing, the
//! default tenant cannot be suspended, unknown tenants are 404.

use super::support::{
    create_tenant_with_hosts, fresh_host, read_tenant, tenant_count, tenant_path,
};
use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn patching_a_tenant_changes_only_the_given_fields() {
    // Arrange
    let app = spawn_app().await;
    let host = fresh_host("old");
    let slug = create_tenant_with_hosts(&app, "patch", &[host.as_str()]).await;
    let created = read_tenant(&app, &slug).await;

    // Act
    let renamed = app
        .patch(
            &tenant_path(&slug),
            &Auth::operator(),
            &json!({ "name": "Renamed" }),
        )
        .await
        .expect(200)
        .body;

    // Assert: only the name changed
    assert_eq!(renamed["name"], "Renamed");
    for field in [
        "id",
        "slug",
        "status",
        "feeRate",
        "currencies",
        "hostnames",
        "isDefault",
        "createdAt",
    ] {
        assert_eq!(
            renamed[field], created[field],
            "{field} is unchanged by a name-only patch"
        );
    }
    assert!(
        renamed["updatedAt"].as_str() >= created["updatedAt"].as_str(),
        "updatedAt moves forward"
    );

    // Act
    let new_host = fresh_host("new");
    let body =
        json!({ "feeRate": "0.2", "currencies": ["EUR"], "hostnames": [new_host.to_uppercase()] });
    let patched = app
        .patch(&tenant_path(&slug), &Auth::operator(), &body)
        .await
        .expect(200)
        .body;

    // Assert
    assert_eq!(patched["name"], "Renamed");
    assert_eq!(patched["feeRate"], "0.2000");
    assert_eq!(patched["currencies"], json!(["EUR"]));
    assert_eq!(
        patched["hostnames"],
        json!([new_host.clone()]),
        "hostnames are replaced, not appended"
    );
    assert_eq!(
        read_tenant(&app, &slug).await,
        patched,
        "the change is persisted"
    );
    assert_millis_utc(&patched["updatedAt"], "updatedAt");

    // Act: an empty list removes every hostname
    let cleared = app
        .patch(
            &tenant_path(&slug),
            &Auth::operator(),
            &json!({ "hostnames": [] }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cleared["hostnames"], json!([]));
    assert_eq!(app.count("SELECT count(*) FROM tenant_hostnames").await, 0);
}

#[tokio::test]
async fn invalid_patch_fields_are_400_and_change_nothing() {
    // Arrange
    let app = spawn_app().await;
    let host = fresh_host("keep");
    let slug = create_tenant_with_hosts(&app, "keep", &[host.as_str()]).await;
    let before = read_tenant(&app, &slug).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("empty name", json!({ "name": "" }), "name"),
        (
            "name of 101 characters",
            json!({ "name": "n".repeat(101) }),
            "name",
        ),
        ("fee rate of 1", json!({ "feeRate": "1" }), "feeRate"),
        ("negative fee rate", json!({ "feeRate": "-0.1" }), "feeRate"),
        (
            "fee rate with 5 decimals",
            json!({ "feeRate": "0.12345" }),
            "feeRate",
        ),
        (
            "fee rate as a JSON number",
            json!({ "feeRate": 0.1 }),
            "feeRate",
        ),
        ("no currencies", json!({ "currencies": [] }), "currencies"),
        (
            "lowercase currency",
            json!({ "currencies": ["eur"] }),
            "currencies",
        ),
        (
            "invalid hostname",
            json!({ "hostnames": ["bad host"] }),
            "hostnames",
        ),
        ("unknown status", json!({ "status": "paused" }), "status"),
        (
            "status in capitals",
            json!({ "status": "SUSPENDED" }),
            "status",
        ),
        (
            "valid name but invalid fee rate",
            json!({ "name": "Changed", "feeRate": "2" }),
            "feeRate",
        ),
    ];

    for (why, body, field) in cases {
        // Act
        let reply = app
            .patch(&tenant_path(&slug), &Auth::operator(), &body)
            .await;

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
        assert_eq!(
            read_tenant(&app, &slug).await,
            before,
            "{why}: nothing changed"
        );
    }
}

#[tokio::test]
async fn a_hostname_used_by_another_tenant_is_409_on_patch_and_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let theirs = fresh_host("theirs");
    let mine = fresh_host("mine");
    let owner = create_tenant_with_hosts(&app, "owner", &[theirs.as_str()]).await;
    let slug = create_tenant_with_hosts(&app, "other", &[mine.as_str()]).await;
    let before = read_tenant(&app, &slug).await;

    // Act
    let body = json!({ "name": "Should not stick", "hostnames": [mine.clone(), theirs.clone()] });
    let reply = app
        .patch(&tenant_path(&slug), &Auth::operator(), &body)
        .await;

    // Assert
    let reply = reply.expect_error(409, "CONFLICT");
    assert_eq!(
        reply.body["details"]["field"], "hostnames",
        "{}",
        reply.text
    );
    assert_eq!(
        read_tenant(&app, &slug).await,
        before,
        "the whole patch was rolled back"
    );
    assert_eq!(
        read_tenant(&app, &owner).await["hostnames"],
        json!([theirs]),
        "the owner keeps its hostname"
    );
}

#[tokio::test]
async fn suspending_the_default_tenant_is_409_conflict() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let before = read_tenant(&app, "default").await;

    // Act
    let reply = app
        .patch(
            &tenant_path("default"),
            &Auth::operator(),
            &json!({ "status": "suspended", "name": "Gone" }),
        )
        .await;

    // Assert
    reply.expect_error(409, "CONFLICT");
    assert_eq!(
        read_tenant(&app, "default").await,
        before,
        "the default tenant is unchanged"
    );
    app.me(&user.auth()).await.expect(200);
}

#[tokio::test]
async fn patching_an_unknown_tenant_is_404_not_found() {
    let app = spawn_app().await;
    let before = tenant_count(&app).await;
    let reply = app
        .patch(
            &tenant_path("no-such-tenant"),
            &Auth::operator(),
            &json!({ "name": "Ghost" }),
        )
        .await;
    reply.expect_error(404, "NOT_FOUND");
    assert_eq!(tenant_count(&app).await, before);
}
