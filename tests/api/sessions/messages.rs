//! Messages: who may send what, the limits, retries with a client id, history paging (cursor,
//! `afterSeq`, `since`), reading after the end, and the history's query plans at depth.

use super::support::*;
use crate::helpers::*;
use clawrent_api::ids::{SessionId, TenantId};
use clawrent_api::sessions::message_repo::{self, After};
use serde_json::{Value, json};

async fn send(app: &TestApp, who: &Auth, id: &str, body: Value) -> Reply {
    app.post(&action(id, "messages"), who, &body).await
}

fn seqs(page: &Value) -> Vec<i64> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|m| m["seq"].as_i64().expect("seq"))
        .collect()
}

#[tokio::test]
async fn types_follow_their_directions_and_bad_payloads_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let m = market(&app, json!({ "approvalMode": "auto" }), "10.00").await;
    let id = rented(&app, &m, "talk").await;
    let (consumer, provider) = (m.consumer.auth(), m.provider.auth());
    let big = "x".repeat(40 * 1024);
    let huge = "x".repeat(70 * 1024);

    // Act and assert
    for (who, body, status) in [
        (
            &consumer,
            json!({ "type": "dialogue.message", "payload": { "text": "hi" } }),
            200,
        ),
        (
            &provider,
            json!({ "type": "dialogue.message", "payload": { "text": "hello" } }),
            200,
        ),
        (
            &consumer,
            json!({ "type": "instruction.exec", "payload": {} }),
            200,
        ),
        (
            &provider,
            json!({ "type": "result.success", "payload": {} }),
            200,
        ),
        (&consumer, json!({ "type": "session.note" }), 200),
        (
            &provider,
            json!({ "type": "instruction.exec", "payload": {} }),
            400,
        ),
        (
            &consumer,
            json!({ "type": "result.success", "payload": {} }),
            400,
        ),
        (
            &provider,
            json!({ "type": "system.session_ended", "payload": {} }),
            400,
        ),
        (
            &consumer,
            json!({ "type": "dialogue.typing", "payload": {} }),
            400,
        ),
        (
            &consumer,
            json!({ "type": "chat.message", "payload": {} }),
            400,
        ),
        (&consumer, json!({ "payload": {} }), 400),
        (
            &consumer,
            json!({ "type": "dialogue.message", "payload": "text" }),
            400,
        ),
        (
            &consumer,
            json!({ "type": "dialogue.message", "payload": { "text": big } }),
            400,
        ),
        (
            &consumer,
            json!({ "type": "dialogue.message", "payload": { "text": huge } }),
            413,
        ),
    ] {
        let reply = send(&app, who, &id, body.clone()).await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{}: {}",
            body["type"],
            reply.text
        );
        if status == 400 {
            assert_eq!(reply.body["error"], "VALIDATION_ERROR", "{}", reply.text);
        }
    }
    let history = app
        .get(&action(&id, "messages"), &consumer)
        .await
        .expect(200);
    assert_eq!(
        seqs(&history.body),
        vec![1, 2, 3, 4, 5],
        "refused sends store nothing"
    );
    let first = &history.body["data"][0];
    assert_eq!(first["type"], "dialogue.message");
    assert_eq!(first["payload"], json!({ "text": "hi" }));
    assert_eq!(
        first["sender"],
        json!({ "role": "consumer", "userId": m.consumer.id })
    );
    assert_millis_utc(&first["createdAt"], "createdAt");
}

#[tokio::test]
async fn a_retry_with_the_same_client_id_is_stored_once_and_ended_sessions_take_no_messages() {
    // Arrange
    let app = spawn_app().await;
    let m = market(&app, json!({ "approvalMode": "manual" }), "10.00").await;
    let id = rented(&app, &m, "retry").await;
    let body = json!({ "id": "client-msg-1", "type": "dialogue.message", "payload": { "n": 1 } });

    // Act and assert: pending sessions take no messages yet.
    send(&app, &m.consumer.auth(), &id, body.clone())
        .await
        .expect_error(409, "CONFLICT");
    app.post_empty(&action(&id, "approve"), &m.provider.auth())
        .await
        .expect(200);
    let first = send(&app, &m.consumer.auth(), &id, body.clone())
        .await
        .expect(200);
    let retry = send(&app, &m.consumer.auth(), &id, body).await.expect(200);
    assert_eq!(first.body["messageId"], retry.body["messageId"]);
    assert_eq!(retry.body["seq"], 1);
    assert_eq!(retry.body["duplicate"], true);
    assert!(first.body.get("duplicate").is_none());
    assert_eq!(first.body["delivered"], false);
    assert!(first.body["gatewayResult"].is_null());

    // An agent token sends as the provider and is named as the agent.
    let token = app.agent_token(&m.provider, &m.agent).await;
    send(
        &app,
        &Auth::bearer(&token),
        &id,
        json!({ "type": "dialogue.message", "payload": {} }),
    )
    .await
    .expect(200);

    // After the end: 409 for new messages, the history still readable by both.
    app.post_empty(&action(&id, "end"), &m.consumer.auth())
        .await
        .expect(200);
    send(
        &app,
        &m.provider.auth(),
        &id,
        json!({ "type": "dialogue.message", "payload": {} }),
    )
    .await
    .expect_error(409, "CONFLICT");
    for who in [&m.consumer, &m.provider] {
        let history = app
            .get(&action(&id, "messages"), &who.auth())
            .await
            .expect(200);
        assert_eq!(seqs(&history.body), vec![1, 2]);
        assert_eq!(
            history.body["data"][1]["sender"],
            json!({ "role": "provider", "userId": m.provider.id, "agentId": m.agent })
        );
    }
}

#[tokio::test]
async fn history_pages_by_cursor_after_seq_and_since() {
    // Arrange: seven messages.
    let app = spawn_app().await;
    let m = market(&app, json!({ "approvalMode": "auto" }), "10.00").await;
    let id = rented(&app, &m, "history").await;
    for n in 1..=7 {
        send(
            &app,
            &m.consumer.auth(),
            &id,
            json!({ "type": "dialogue.message", "payload": { "n": n } }),
        )
        .await
        .expect(200);
    }
    let auth = m.consumer.auth();
    let path = action(&id, "messages");

    // Act: pages of three by cursor.
    let mut seen = Vec::new();
    let mut next = format!("{path}?limit=3");
    let mut pages = 0;
    loop {
        let page = app.get(&next, &auth).await.expect(200);
        seen.extend(seqs(&page.body));
        pages += 1;
        match page.body.get("nextCursor").and_then(Value::as_str) {
            Some(cursor) => next = format!("{path}?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    let after = app
        .get(&format!("{path}?afterSeq=4"), &auth)
        .await
        .expect(200);
    let all = app.get(&path, &auth).await.expect(200);
    let since = all.body["data"][1]["createdAt"]
        .as_str()
        .expect("createdAt")
        .to_owned();
    let since_page = app
        .get(&format!("{path}?since={since}"), &auth)
        .await
        .expect(200);

    // Assert
    assert_eq!(seen, (1..=7).collect::<Vec<_>>());
    assert_eq!(pages, 3);
    assert_eq!(seqs(&after.body), vec![5, 6, 7]);
    assert_eq!(
        seqs(&since_page.body),
        vec![3, 4, 5, 6, 7],
        "since is exclusive"
    );
    for bad in [
        "since=yesterday",
        "afterSeq=-1",
        "limit=0",
        "limit=201",
        "cursor=forged",
    ] {
        app.get(&format!("{path}?{bad}"), &auth)
            .await
            .expect_error(400, "VALIDATION_ERROR");
    }
}

/// Every node of a plan, depth first.
fn nodes(plan: &Value) -> Vec<&Value> {
    let mut out = vec![plan];
    if let Some(children) = plan["Plans"].as_array() {
        for child in children {
            out.extend(nodes(child));
        }
    }
    out
}

#[tokio::test]
async fn a_history_page_deep_in_a_long_session_reads_one_index_range() {
    // Arrange: 50,000 messages in one session, loaded with SQL.
    let app = spawn_app().await;
    let m = market(&app, json!({ "approvalMode": "auto" }), "10.00").await;
    let id = rented(&app, &m, "long").await;
    sqlx::query(
        "INSERT INTO session_messages (tenant_id, session_id, seq, id, type, payload, sender_role,
            sender_user_id, created_at)
         SELECT s.tenant_id, s.id, g, gen_random_uuid(), 'dialogue.message', '{}'::jsonb, 'consumer',
                s.consumer_id, s.created_at + g * interval '1 millisecond'
         FROM sessions s, generate_series(1, 50000) AS g WHERE s.id = $1::uuid",
    )
    .bind(&id)
    .execute(&app.db)
    .await
    .expect("bulk messages");
    sqlx::query("ANALYZE session_messages")
        .execute(&app.db)
        .await
        .expect("analyze");
    let session: SessionId = id.parse().expect("id");
    let tenant: TenantId = app.tenant_id("default").await.into();
    let deep_time: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "SELECT created_at FROM session_messages WHERE session_id = $1::uuid AND seq = 49000",
    )
    .bind(&id)
    .fetch_one(&app.db)
    .await
    .expect("time");

    for after in [After::Seq(49_000), After::Time(deep_time)] {
        // Act
        let mut conn = app.db.acquire().await.expect("conn");
        let plan = message_repo::explain_page(&mut conn, tenant, session, after, 51)
            .await
            .expect("explain");

        // Assert: an index scan under the limit, no sort, no sequential scan, and only the
        // page's rows read.
        let root = &plan[0]["Plan"];
        let all = nodes(root);
        let kinds: Vec<&str> = all.iter().filter_map(|n| n["Node Type"].as_str()).collect();
        assert!(kinds.contains(&"Index Scan"), "{after:?}: {kinds:?}");
        assert!(
            !kinds.contains(&"Seq Scan") && !kinds.contains(&"Sort"),
            "{after:?}: {kinds:?}"
        );
        let scanned: f64 = all
            .iter()
            .filter(|n| n["Node Type"] == "Index Scan")
            .map(|n| n["Actual Rows"].as_f64().unwrap_or(0.0))
            .sum();
        assert!(
            scanned <= 51.0,
            "{after:?} read {scanned} rows for a page of 51"
        );
    }
}
