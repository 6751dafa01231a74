//! Registering agents: the 201 reply, ignored legacy fields, boundary lengths, invalid fields
//! and slugs taken in one tenant but free in another.

use super::support::{
    AGENTS, agent_body, agent_count, assert_field_error, profile_count, with_field,
};
use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn creating_an_agent_returns_201_with_a_consumer_draft_without_a_token() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let slug = unique_slug("draft");

    // Act
    let reply = app.post(AGENTS, &owner.auth(), &agent_body(&slug)).await;

    // Assert
    let body = reply.expect(201).body;
    let id = body["id"].as_str().expect("id");
    uuid::Uuid::parse_str(id).expect("id is a UUID");
    assert_eq!(body["agentId"], id);
    assert_eq!(body["ownerId"], owner.id.as_str());
    assert_eq!(body["status"], "draft");
    assert_eq!(body["roles"], "consumer");
    assert_eq!(body["onlineStatus"], "offline");
    assert_eq!(body["hasAgentToken"], false);
    assert_eq!(body["serveHosting"], "self");
    assert_eq!(body["name"], "Rust reviewer");
    assert_eq!(body["slug"], slug.as_str());
    assert_eq!(
        body["capabilities"][0]["category"], "coding",
        "categories are lower-cased"
    );
    assert_eq!(body["capabilities"][0]["tags"], json!(["rust", "review"]));
    assert_eq!(body["requiredPermissions"], json!(["system.exec"]));
    assert!(
        body.get("providerProfile").is_none(),
        "a draft has no profile: {body}"
    );
    assert!(body.get("agentTokenPrefix").is_none(), "{body}");
    assert_millis_utc(&body["createdAt"], "createdAt");
    let stored: (String, String, String) =
        sqlx::query_as("SELECT owner_id::text, slug, roles::text FROM agents WHERE id = $1::uuid")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .expect("the agent row exists");
    assert_eq!(stored, (owner.id.clone(), slug, "consumer".to_owned()));
    assert_eq!(profile_count(&app).await, 0);
}

#[tokio::test]
async fn fields_old_clients_send_when_creating_an_agent_are_ignored() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let mut body = agent_body(&unique_slug("legacy"));
    for (key, value) in [
        ("pricingModel", json!("per_session")),
        ("priceAmount", json!("5.00")),
        ("currency", json!("USD")),
        ("approvalMode", json!("auto")),
        ("hostingType", json!("platform_hosted")),
        ("transparencyLevel", json!("transparent")),
        ("maxConcurrentSessions", json!(3)),
    ] {
        body[key] = value;
    }

    // Act
    let reply = app.post(AGENTS, &owner.auth(), &body).await;

    // Assert
    let created = reply.expect(201).body;
    assert_eq!(created["status"], "draft");
    assert!(created.get("providerProfile").is_none(), "{created}");
    assert!(created.get("pricingModel").is_none(), "{created}");
    assert_eq!(created["serveHosting"], "self");
    assert_eq!(agent_count(&app).await, 1);
    assert_eq!(profile_count(&app).await, 0, "no profile was created");
}

#[tokio::test]
async fn boundary_lengths_of_agent_fields_are_accepted() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let tags: Vec<String> = (0..20).map(|i| format!("tag{i}")).collect();
    let many: Vec<Value> = (0..50)
        .map(|i| json!({ "category": "c", "name": format!("cap {i}") }))
        .collect();
    let cases: Vec<(&str, Value)> = vec![
        ("100-character name", json!({ "name": "n".repeat(100) })),
        (
            "100 non-ASCII characters",
            json!({ "name": "é".repeat(100) }),
        ),
        ("3-character slug", json!({ "slug": "a1b" })),
        ("50-character slug", json!({ "slug": "s".repeat(50) })),
        (
            "10-character description",
            json!({ "description": "d".repeat(10) }),
        ),
        (
            "500-character description",
            json!({ "description": "d".repeat(500) }),
        ),
        (
            "5000-character longDescription",
            json!({ "longDescription": "l".repeat(5000) }),
        ),
        ("50 capabilities", json!({ "capabilities": many })),
        (
            "20 tags",
            json!({ "capabilities": [{ "category": "c", "name": "n", "tags": tags }] }),
        ),
        (
            "permission ids",
            json!({ "requiredPermissions": ["system.exec", "fs:read", "net.*", "a_b-c"] }),
        ),
    ];

    for (i, (why, extra)) in cases.into_iter().enumerate() {
        let mut body = agent_body(&format!("boundary-{i}"));
        for (key, value) in extra.as_object().expect("object") {
            body[key.as_str()] = value.clone();
        }

        // Act
        let reply = app.post(AGENTS, &owner.auth(), &body).await;

        // Assert
        assert_eq!(reply.status.as_u16(), 201, "{why}: {}", reply.text);
    }
    assert_eq!(agent_count(&app).await, 10);
}

#[tokio::test]
async fn invalid_agent_fields_are_400_naming_the_field_and_create_nothing() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let base = agent_body("valid-slug");
    let too_many: Vec<Value> = (0..51)
        .map(|i| json!({ "category": "c", "name": format!("cap {i}") }))
        .collect();
    let too_many_tags: Vec<String> = (0..21).map(|i| format!("tag{i}")).collect();
    let too_many_permissions: Vec<String> = (0..51).map(|i| format!("perm.{i}")).collect();
    let cases: Vec<(&str, &str, Value)> = vec![
        ("empty name", "name", json!("")),
        ("blank name", "name", json!("   ")),
        ("101-character name", "name", json!("n".repeat(101))),
        ("2-character slug", "slug", json!("ab")),
        ("51-character slug", "slug", json!("s".repeat(51))),
        ("uppercase slug", "slug", json!("My-Agent")),
        ("underscore in slug", "slug", json!("my_agent")),
        ("leading hyphen", "slug", json!("-agent")),
        ("trailing hyphen", "slug", json!("agent-")),
        (
            "9-character description",
            "description",
            json!("d".repeat(9)),
        ),
        (
            "501-character description",
            "description",
            json!("d".repeat(501)),
        ),
        (
            "5001-character longDescription",
            "longDescription",
            json!("l".repeat(5001)),
        ),
        (
            "empty capability category",
            "capabilities[0].category",
            json!([{ "category": "", "name": "x" }]),
        ),
        ("51 capabilities", "capabilities", json!(too_many)),
        (
            "21 tags",
            "capabilities[0].tags",
            json!([{ "category": "c", "name": "n", "tags": too_many_tags }]),
        ),
        (
            "permission with spaces",
            "requiredPermissions",
            json!(["rm -rf"]),
        ),
        ("newline in name", "name", json!("two\nlines")),
        ("control character in slug", "slug", json!("ab\u{0007}c")),
        (
            "empty capability name",
            "capabilities[0].name",
            json!([{ "category": "c", "name": "" }]),
        ),
        (
            "empty tag",
            "capabilities[0].tags",
            json!([{ "category": "c", "name": "n", "tags": [""] }]),
        ),
        (
            "error in the second capability",
            "capabilities[1].category",
            json!([{ "category": "c", "name": "n" }, { "category": "  ", "name": "n" }]),
        ),
        (
            "51 permissions",
            "requiredPermissions",
            json!(too_many_permissions),
        ),
        (
            "101-character permission",
            "requiredPermissions",
            json!(["p".repeat(101)]),
        ),
        ("name as a number", "name", json!(5)),
    ];

    for (why, field, value) in cases {
        let key = field.split('[').next().expect("key");
        let body = with_field(&base, key, value);

        // Act
        let reply = app.post(AGENTS, &owner.auth(), &body).await;

        // Assert
        assert_field_error(&reply, why, field);
        assert_eq!(agent_count(&app).await, 0, "{why}: nothing is created");
    }
}

#[tokio::test]
async fn a_slug_taken_in_the_tenant_is_409_but_free_in_another_tenant() {
    // Arrange
    let app = spawn_app().await;
    let first = app.signup().await;
    let second = app.signup().await;
    let tenant = app.create_tenant("elsewhere").await;
    let foreign = app.signup_in(Some(&tenant)).await;
    let slug = unique_slug("taken");
    app.post(AGENTS, &first.auth(), &agent_body(&slug))
        .await
        .expect(201);

    // Act
    let same_tenant = app.post(AGENTS, &second.auth(), &agent_body(&slug)).await;
    let same_owner = app.post(AGENTS, &first.auth(), &agent_body(&slug)).await;
    let other_tenant = app.post(AGENTS, &foreign.auth(), &agent_body(&slug)).await;

    // Assert
    let conflict = same_tenant.expect_error(409, "CONFLICT");
    assert_eq!(
        conflict.body["details"]["field"], "slug",
        "{}",
        conflict.text
    );
    same_owner.expect_error(409, "CONFLICT");
    let created = other_tenant.expect(201).body;
    assert_eq!(created["slug"], slug.as_str());
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM agents WHERE slug = $1")
        .bind(&slug)
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(rows, 2, "one agent per tenant");
}
