//! Listing tenants page by page (the default tenant included), invalid paging, unknown slugs.

use super::support::{TENANTS, tenant_count, tenant_path};
use crate::helpers::*;
use serde_json::Value;

#[tokio::test]
async fn listing_tenants_pages_through_all_of_them_including_default() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("lista").await;
    let b = app.create_tenant("listb").await;
    let total = tenant_count(&app).await;
    assert_eq!(total, 3, "default plus two");

    // Act
    let all = app
        .get(&format!("{TENANTS}?limit=100"), &Auth::operator())
        .await
        .expect(200)
        .body;
    let first = app
        .get(&format!("{TENANTS}?page=1&limit=2"), &Auth::operator())
        .await
        .expect(200)
        .body;
    let second = app
        .get(&format!("{TENANTS}?page=2&limit=2"), &Auth::operator())
        .await
        .expect(200)
        .body;
    let beyond = app
        .get(&format!("{TENANTS}?page=3&limit=2"), &Auth::operator())
        .await
        .expect(200)
        .body;
    let defaults = app.get(TENANTS, &Auth::operator()).await.expect(200).body;

    // Assert
    let slugs = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|t| t["slug"].as_str().expect("slug").to_owned())
            .collect()
    };
    assert_eq!(
        slugs(&all),
        vec!["default".to_owned(), a.clone(), b.clone()],
        "creation order"
    );
    assert_eq!(
        (
            all["total"].as_i64(),
            all["page"].as_u64(),
            all["limit"].as_u64()
        ),
        (Some(total), Some(1), Some(100))
    );
    let default = &all["data"][0];
    assert_eq!(default["isDefault"], true);
    assert_eq!(default["status"], "active");
    assert_eq!(slugs(&first), vec!["default".to_owned(), a]);
    assert_eq!(
        (
            first["total"].as_i64(),
            first["page"].as_u64(),
            first["limit"].as_u64()
        ),
        (Some(3), Some(1), Some(2))
    );
    assert_eq!(slugs(&second), vec![b]);
    assert_eq!(
        (second["total"].as_i64(), second["page"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(slugs(&beyond), Vec::<String>::new());
    assert_eq!(beyond["total"], 3);
    assert_eq!(
        (defaults["page"].as_u64(), defaults["limit"].as_u64()),
        (Some(1), Some(20)),
        "defaults"
    );
}

#[tokio::test]
async fn invalid_paging_on_the_tenant_list_is_400() {
    let app = spawn_app().await;
    let cases = [
        ("limit above 100", "?limit=101", "limit"),
        ("limit zero", "?limit=0", "limit"),
        ("page zero", "?page=0", "page"),
    ];
    for (why, query, field) in cases {
        let reply = app
            .get(&format!("{TENANTS}{query}"), &Auth::operator())
            .await;
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
    }
    let reply = app
        .get(&format!("{TENANTS}?limit=abc"), &Auth::operator())
        .await;
    reply.expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn an_unknown_or_malformed_slug_is_404_not_found() {
    let app = spawn_app().await;
    let long = "a".repeat(300);
    let cases = [
        ("unknown", "no-such-tenant"),
        ("uppercase", "DEFAULT"),
        ("too long", long.as_str()),
        ("encoded space", "de%20fault"),
    ];
    for (why, slug) in cases {
        let reply = app.get(&tenant_path(slug), &Auth::operator()).await;
        assert_eq!(reply.status.as_u16(), 404, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], "NOT_FOUND", "{why}: {}", reply.text);
    }
    // A NUL never reaches routing: it is refused at the edge for every path.
    let reply = app.get(&tenant_path("%00"), &Auth::operator()).await;
    reply.expect_error(400, "VALIDATION_ERROR");
}
