//! Two refusals stated one by one, beside the tables: a refused token call keeps the working
//! token, and a refused review leaves the status and the audit log as they were.

use super::agent_matrix::{State, fixture};
use super::world::world;
use crate::helpers::*;

async fn token_prefix(app: &TestApp, id: &str) -> Option<String> {
    sqlx::query_scalar("SELECT token_prefix FROM agents WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("agent row")
}

#[tokio::test]
async fn a_refused_token_call_keeps_the_working_token_and_its_prefix() {
    // Arrange: the table checks the whole row; this states the token case explicitly.
    let w = world().await;
    let target = fixture(&w, State::Draft).await;
    let path = format!("/api/agents/{}/token", target.id);
    let before = token_prefix(&w.app, &target.id).await;

    // Act
    let issued = w.app.post_empty(&path, &w.other.auth()).await;
    let revoked = w.app.delete(&path, &w.foreign.auth()).await;
    let revoked_here = w.app.delete(&path, &Auth::bearer(&w.foreign.token)).await;

    // Assert
    issued.expect_error(404, "NOT_FOUND");
    revoked.expect_error(404, "NOT_FOUND");
    revoked_here.expect_error(401, "INVALID_TOKEN");
    assert!(before.is_some());
    assert_eq!(token_prefix(&w.app, &target.id).await, before);
    let me = w
        .app
        .get("/api/agents/me/agent", &Auth::bearer(&target.token))
        .await
        .expect(200);
    assert_eq!(
        me.body["id"],
        target.id.as_str(),
        "the owner's token still works"
    );
}

#[tokio::test]
async fn a_refused_review_leaves_the_status_and_the_audit_log_as_they_were() {
    // Arrange
    let w = world().await;
    let target = fixture(&w, State::Pending).await;
    let audited = w
        .app
        .get("/api/admin/audit", &w.admin.auth())
        .await
        .expect(200)
        .body["total"]
        .clone();
    let refusals = [
        ("owner", w.owner.auth(), 403),
        ("agent token", Auth::bearer(&target.token), 403),
        ("other user", w.other.auth(), 403),
        ("foreign admin", w.foreign_admin.auth(), 404),
    ];

    for (why, auth, status) in refusals {
        // Act
        let reply = w
            .app
            .post_empty(
                &format!("/api/admin/providers/{}/approve", target.id),
                &auth,
            )
            .await;

        // Assert
        assert_eq!(reply.status.as_u16(), status, "{why}: {}", reply.text);
        let shown = w
            .app
            .get(&format!("/api/agents/{}", target.id), &w.owner.auth())
            .await
            .expect(200)
            .body;
        assert_eq!(shown["status"], "pending_review", "{why}");
        let now = w
            .app
            .get("/api/admin/audit", &w.admin.auth())
            .await
            .expect(200)
            .body["total"]
            .clone();
        assert_eq!(now, audited, "{why}: no audit record");
    }
}
