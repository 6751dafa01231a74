//! Concurrency: approvals of one profile, registrations of one slug and token issues that race.

use super::support::{AGENTS, action_path, agent_body, agent_count, strings};
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn concurrent_approvals_of_one_profile_apply_once_and_audit_once() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "raced", json!({})).await;
    app.publish(&owner, &id, json!({})).await.expect(200);

    // Act
    let replies =
        futures_util::future::join_all((0..6).map(|_| app.review(&admin, &id, "approve", None)))
            .await;

    // Assert
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(app.audit_count().await, 1);
    let page = app
        .get("/api/marketplace/browse", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(page["total"], 1, "the listing is counted once");
    assert_eq!(strings(&page, "slug"), vec!["raced".to_owned()]);
}

#[tokio::test]
async fn concurrent_registrations_of_one_slug_create_one_agent() {
    // Arrange
    let app = spawn_app().await;
    let owners = [app.signup().await, app.signup().await];
    let body = agent_body("contested");
    let auths: Vec<Auth> = (0..6).map(|i| owners[i % 2].auth()).collect();

    // Act
    let replies =
        futures_util::future::join_all(auths.iter().map(|auth| app.post(AGENTS, auth, &body)))
            .await;

    // Assert
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        replies
            .iter()
            .filter(|r| r.status.as_u16() != 201)
            .all(|r| r.status.as_u16() == 409 && r.body["error"] == "CONFLICT"),
        "the others are 409 CONFLICT: {statuses:?}"
    );
    assert_eq!(agent_count(&app).await, 1);
}

#[tokio::test]
async fn concurrent_token_issues_leave_exactly_one_working_token() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "token-race", json!({})).await;
    let path = action_path(&id, "token");
    let auths: Vec<Auth> = (0..5).map(|_| owner.auth()).collect();

    // Act
    let replies =
        futures_util::future::join_all(auths.iter().map(|auth| app.post_empty(&path, auth))).await;

    // Assert
    let mut working = 0;
    for reply in replies {
        let token = reply.expect(201).body["token"]
            .as_str()
            .expect("token")
            .to_owned();
        let me = app.get("/api/agents/me/agent", &Auth::bearer(&token)).await;
        match me.status.as_u16() {
            200 => working += 1,
            401 => {}
            other => panic!("unexpected {other}: {}", me.text),
        }
    }
    assert_eq!(working, 1, "only the last token issued works");
}
