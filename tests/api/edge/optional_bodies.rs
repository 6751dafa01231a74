//! Optional bodies are documented as `T | null`: a JSON `null` is the absent body, like an empty
//! one, on every operation that takes an optional body.

use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_null_optional_body_is_the_absent_body() {
    // Arrange: a draft agent to publish, then to approve, plus an API key to create.
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let slug = unique_slug("nullbody");
    let id = app
        .create_agent(
            &owner,
            &slug,
            json!({ "name": "Null body", "description": "An agent published with a null body" }),
        )
        .await;

    // Act
    let published = app
        .send_raw_json(
            Method::POST,
            &format!("/api/agents/{id}/publish"),
            &owner.auth(),
            "null",
        )
        .await;
    let approved = app
        .send_raw_json(
            Method::POST,
            &format!("/api/admin/providers/{id}/approve"),
            &admin.auth(),
            " null ",
        )
        .await;
    let key = app
        .send_raw_json(Method::POST, "/api/auth/api-keys", &owner.auth(), "null")
        .await;

    // Assert
    assert_eq!(
        published.expect(200).body["providerProfile"]["status"],
        "pending_review"
    );
    approved.expect(200);
    assert!(key.expect(201).body["key"].is_string());
}
