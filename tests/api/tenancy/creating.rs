//! Creating tenants: the 201 reply with its defaults, fee rates, currencies, normalised
//! hostnames, and duplicate slugs.

use super::support::{TENANTS, fresh_host, fresh_slug, read_tenant, tenant_count, tenant_path};
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn creating_a_tenant_returns_201_with_its_defaults() {
    // Arrange
    let app = spawn_app().await;
    let slug = fresh_slug("acme");

    // Act
    let reply = app
        .post(
            TENANTS,
            &Auth::operator(),
            &json!({ "slug": slug, "name": "  Acme agents  " }),
        )
        .await;

    // Assert
    let body = reply.expect(201).body;
    let id = body["id"].as_str().expect("id");
    let id = uuid::Uuid::parse_str(id).expect("id is a UUID");
    assert_eq!(body["slug"], slug.as_str());
    assert_eq!(body["name"], "Acme agents", "the name is trimmed");
    assert_eq!(body["status"], "active");
    assert_eq!(
        body["feeRate"], "0.1500",
        "the fee rate is a 4-decimal string"
    );
    assert_eq!(body["currencies"], json!(["CNY", "USD"]));
    assert_eq!(body["hostnames"], json!([]));
    assert_eq!(body["isDefault"], false);
    assert_millis_utc(&body["createdAt"], "createdAt");
    assert_millis_utc(&body["updatedAt"], "updatedAt");
    let stored: (String, String, bool) =
        sqlx::query_as("SELECT slug, name, is_default FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .expect("the tenant row exists");
    assert_eq!(stored, (slug.clone(), "Acme agents".to_owned(), false));
    assert_eq!(
        read_tenant(&app, &slug).await,
        body,
        "reading it back gives the same view"
    );
}

#[tokio::test]
async fn creating_a_tenant_stores_fee_rate_currencies_and_normalised_hostnames() {
    // Arrange
    let app = spawn_app().await;
    let slug = fresh_slug("shop");
    let host = fresh_host("shop");
    let body = json!({
        "slug": slug,
        "name": "Shop",
        "feeRate": "0.05",
        "currencies": ["USD", "EUR", "USD"],
        "hostnames": [host.to_uppercase(), format!("www.{host}."), host],
    });

    // Act
    let reply = app
        .post(TENANTS, &Auth::operator(), &body)
        .await
        .expect(201);

    // Assert
    assert_eq!(reply.body["feeRate"], "0.0500");
    assert_eq!(
        reply.body["currencies"],
        json!(["USD", "EUR"]),
        "duplicates are dropped, order kept"
    );
    assert_eq!(
        reply.body["hostnames"],
        json!([host.clone(), format!("www.{host}")]),
        "lowercased, trailing dot dropped, deduplicated, sorted"
    );
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT h.hostname FROM tenant_hostnames h JOIN tenants t ON t.id = h.tenant_id WHERE t.slug = $1 ORDER BY 1",
    )
    .bind(&slug)
    .fetch_all(&app.db)
    .await
    .expect("hostnames");
    assert_eq!(stored, vec![host.clone(), format!("www.{host}")]);
}

#[tokio::test]
async fn a_zero_fee_rate_is_accepted_and_shown_with_four_decimals() {
    // Every other rate reads back with 4 decimals ("0.1500", "0.0500"); zero must not be the
    // odd one out ("0"), or clients that compare or parse fixed-scale strings break.
    let app = spawn_app().await;
    let slug = fresh_slug("free");
    let created = app
        .post(
            TENANTS,
            &Auth::operator(),
            &json!({ "slug": slug, "name": "Free", "feeRate": "0" }),
        )
        .await;
    assert_eq!(created.expect(201).body["feeRate"], "0.0000");
    let patched = app
        .patch(
            &tenant_path(&slug),
            &Auth::operator(),
            &json!({ "feeRate": "0.0" }),
        )
        .await;
    assert_eq!(patched.expect(200).body["feeRate"], "0.0000");
    assert_eq!(read_tenant(&app, &slug).await["feeRate"], "0.0000");
}

#[tokio::test]
async fn a_duplicate_slug_is_409_conflict_and_creates_nothing() {
    // Arrange
    let app = spawn_app().await;
    let slug = app.create_tenant("dup").await;
    let before = tenant_count(&app).await;

    // Act
    let again = app
        .post(
            TENANTS,
            &Auth::operator(),
            &json!({ "slug": slug, "name": "Second" }),
        )
        .await;
    let default = app
        .post(
            TENANTS,
            &Auth::operator(),
            &json!({ "slug": "default", "name": "Another default" }),
        )
        .await;

    // Assert
    let again = again.expect_error(409, "CONFLICT");
    assert_eq!(again.body["details"]["field"], "slug", "{}", again.text);
    default.expect_error(409, "CONFLICT");
    assert_eq!(tenant_count(&app).await, before, "no tenant was created");
    assert_eq!(
        read_tenant(&app, &slug).await["name"],
        "Tenant dup",
        "the first tenant is unchanged"
    );
}
