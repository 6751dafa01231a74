//! Reading and editing agents: my agents with paging and roles, reading by id, edits of a
//! draft, invalid edits, and the statuses in which an agent can be edited.

use super::support::{agent_path, assert_conflict_naming, assert_field_error, strings, view};
use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn my_agents_lists_only_the_callers_agents_newest_first_with_paging_and_roles() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let stranger = app.signup().await;
    let admin = app.default_admin().await;
    let mut mine = Vec::new();
    for i in 0..3 {
        mine.push(
            app.create_agent(&owner, &format!("mine-{i}"), json!({}))
                .await,
        );
    }
    let theirs = app.create_agent(&stranger, "theirs", json!({})).await;
    app.publish(&owner, &mine[0], json!({})).await.expect(200);
    app.review(&admin, &mine[0], "approve", None)
        .await
        .expect(200);

    // Act
    let all = app
        .get("/api/agents/my", &owner.auth())
        .await
        .expect(200)
        .body;
    let first = app
        .get("/api/agents/my?page=1&limit=2", &owner.auth())
        .await
        .expect(200)
        .body;
    let second = app
        .get("/api/agents/my?page=2&limit=2", &owner.auth())
        .await
        .expect(200)
        .body;
    let consumers = app
        .get("/api/agents/my?roles=consumer", &owner.auth())
        .await
        .expect(200)
        .body;
    let both = app
        .get("/api/agents/my?roles=both", &owner.auth())
        .await
        .expect(200)
        .body;
    let stranger_page = app
        .get("/api/agents/my", &stranger.auth())
        .await
        .expect(200)
        .body;

    // Assert
    let newest_first: Vec<String> = mine.iter().rev().cloned().collect();
    assert_eq!(strings(&all, "id"), newest_first);
    assert_eq!(all["total"], 3);
    assert_eq!(all["page"], 1);
    assert_eq!(all["limit"], 20);
    assert_eq!(strings(&first, "id"), newest_first[..2].to_vec());
    assert_eq!(first["total"], 3);
    assert_eq!(strings(&second, "id"), newest_first[2..].to_vec());
    assert_eq!(strings(&consumers, "id"), newest_first[..2].to_vec());
    assert_eq!(consumers["total"], 2);
    assert_eq!(strings(&both, "id"), vec![mine[0].clone()]);
    assert_eq!(both["data"][0]["status"], "active");
    assert_eq!(strings(&stranger_page, "id"), vec![theirs]);
    assert_eq!(stranger_page["total"], 1);
}

#[tokio::test]
async fn invalid_my_agents_queries_are_400() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let cases = [
        ("unknown role", "roles=provider", "roles"),
        ("uppercase role", "roles=BOTH", "roles"),
        ("empty role", "roles=", "roles"),
        ("page 0", "page=0", "page"),
        ("page not a number", "page=abc", "page"),
        ("limit 0", "limit=0", "limit"),
        ("limit 101", "limit=101", "limit"),
    ];
    for (why, query, field) in cases {
        let reply = app
            .get(&format!("/api/agents/my?{query}"), &owner.auth())
            .await;
        assert_field_error(&reply, why, field);
    }
}

#[tokio::test]
async fn the_owner_reads_an_agent_by_id_and_unknown_ids_are_404() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app
        .create_agent(
            &owner,
            "readable",
            json!({ "longDescription": "All the details." }),
        )
        .await;

    // Act
    let found = app.get(&agent_path(&id), &owner.auth()).await;
    let unknown = app
        .get(
            &agent_path(&uuid::Uuid::now_v7().to_string()),
            &owner.auth(),
        )
        .await;
    let malformed = app.get(&agent_path("not-a-uuid"), &owner.auth()).await;

    // Assert
    let body = found.expect(200).body;
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["slug"], "readable");
    assert_eq!(body["longDescription"], "All the details.");
    assert_eq!(body["status"], "draft");
    unknown.expect_error(404, "NOT_FOUND");
    malformed.expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_draft_agent_can_be_edited_and_null_clears_the_long_description() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app
        .create_agent(
            &owner,
            "editable",
            json!({ "longDescription": "Old details." }),
        )
        .await;
    let capabilities =
        json!([{ "category": "writing", "name": "Docs", "description": "", "tags": [] }]);

    // Act
    let edited = app
        .patch(
            &agent_path(&id),
            &owner.auth(),
            &json!({
                "name": "  New name  ",
                "description": "A brand new description",
                "longDescription": "New details.",
                "capabilities": capabilities,
            }),
        )
        .await;
    let partial = app
        .patch(
            &agent_path(&id),
            &owner.auth(),
            &json!({ "name": "Only the name" }),
        )
        .await;
    let cleared = app
        .patch(
            &agent_path(&id),
            &owner.auth(),
            &json!({ "longDescription": null }),
        )
        .await;

    // Assert
    let edited = edited.expect(200).body;
    assert_eq!(edited["name"], "New name", "trimmed");
    assert_eq!(edited["description"], "A brand new description");
    assert_eq!(edited["longDescription"], "New details.");
    assert_eq!(edited["capabilities"], capabilities);
    assert_eq!(edited["slug"], "editable", "the slug is not editable");
    let partial = partial.expect(200).body;
    assert_eq!(partial["name"], "Only the name");
    assert_eq!(
        partial["description"], "A brand new description",
        "absent fields are kept"
    );
    assert_eq!(
        partial["longDescription"], "New details.",
        "absent fields are kept"
    );
    let cleared = cleared.expect(200).body;
    assert!(cleared.get("longDescription").is_none(), "{cleared}");
    let stored: Option<String> =
        sqlx::query_scalar("SELECT long_description FROM agents WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .expect("row");
    assert_eq!(stored, None);
    let read_back = view(&app, &owner, &id).await;
    assert_eq!(read_back["name"], "Only the name");
    assert_eq!(read_back["capabilities"], capabilities);
}

#[tokio::test]
async fn invalid_edits_are_400_and_change_nothing() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "unchanged", json!({})).await;
    let before = view(&app, &owner, &id).await;
    let cases: Vec<(&str, &str, Value)> = vec![
        ("empty name", "name", json!({ "name": "" })),
        (
            "101-character name",
            "name",
            json!({ "name": "n".repeat(101) }),
        ),
        (
            "short description",
            "description",
            json!({ "description": "too short" }),
        ),
        (
            "long longDescription",
            "longDescription",
            json!({ "longDescription": "l".repeat(5001) }),
        ),
        (
            "empty category",
            "capabilities[0].category",
            json!({ "capabilities": [{ "category": " ", "name": "x" }] }),
        ),
        (
            "bad permission",
            "requiredPermissions",
            json!({ "requiredPermissions": ["a b"] }),
        ),
        (
            "valid name with an invalid description",
            "description",
            json!({ "name": "Fine", "description": "short" }),
        ),
    ];
    for (why, field, body) in cases {
        // Act
        let reply = app.patch(&agent_path(&id), &owner.auth(), &body).await;

        // Assert
        assert_field_error(&reply, why, field);
        assert_eq!(
            view(&app, &owner, &id).await,
            before,
            "{why}: nothing changed"
        );
    }
}

#[tokio::test]
async fn an_agent_can_be_edited_after_rejection_but_not_while_pending_active_or_suspended() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "locked", json!({})).await;
    let rename = json!({ "name": "Renamed" });

    // Act and assert: each locked status refuses the edit and names itself.
    app.publish(&owner, &id, json!({})).await.expect(200);
    let pending = app.patch(&agent_path(&id), &owner.auth(), &rename).await;
    assert_conflict_naming(&pending, "pending", "pending_review");
    app.review(&admin, &id, "approve", None).await.expect(200);
    let active = app.patch(&agent_path(&id), &owner.auth(), &rename).await;
    assert_conflict_naming(&active, "active", "active");
    app.review(&admin, &id, "suspend", Some("abuse"))
        .await
        .expect(200);
    let suspended = app.patch(&agent_path(&id), &owner.auth(), &rename).await;
    assert_conflict_naming(&suspended, "suspended", "suspended");
    assert_eq!(
        view(&app, &owner, &id).await["name"],
        "Agent locked",
        "never renamed"
    );

    // A rejected agent is editable again.
    let other = app.create_agent(&owner, "rejected", json!({})).await;
    app.publish(&owner, &other, json!({})).await.expect(200);
    app.review(&admin, &other, "reject", Some("needs a better name"))
        .await
        .expect(200);
    let edited = app.patch(&agent_path(&other), &owner.auth(), &rename).await;
    let edited = edited.expect(200).body;
    assert_eq!(edited["name"], "Renamed");
    assert_eq!(edited["status"], "rejected");
}
