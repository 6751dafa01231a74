//! Events after commit, through the outbox: `session.new` reaches the agent's channel when a
//! session is created, a row a crashed replica left is published by any relay, and a rolled-back
//! transaction publishes nothing.

use super::support::*;
use crate::helpers::*;
use clawrent_api::ids::{AgentId, TenantId};
use clawrent_api::sessions::events::agent_channel;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;

/// A subscriber on `channel`, ready before the function returns (SUBSCRIBE is acknowledged).
async fn subscribe(channel: &str) -> redis::aio::PubSub {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let client = redis::Client::open(url).expect("redis url");
    let mut pubsub = client.get_async_pubsub().await.expect("pubsub");
    pubsub.subscribe(channel).await.expect("subscribe");
    pubsub
}

/// The next message on the subscription. The deadline only bounds a failing test: the message
/// is expected at once (the writer wakes the relay after its commit).
async fn next_event(pubsub: &mut redis::aio::PubSub) -> Value {
    let message = tokio::time::timeout(Duration::from_secs(30), pubsub.on_message().next())
        .await
        .expect("an event within the deadline")
        .expect("a message");
    let text: String = message.get_payload().expect("text payload");
    serde_json::from_str(&text).expect("json")
}

/// Rows left in the outbox. `FOR UPDATE` waits for a relay that still holds rows it has just
/// published (it deletes them in the same transaction), so this counts after that commit.
async fn outbox_rows(app: &TestApp) -> i64 {
    let mut tx = app.db.begin().await.expect("tx");
    let rows: Vec<i64> = sqlx::query_scalar("SELECT id FROM outbox_events FOR UPDATE")
        .fetch_all(&mut *tx)
        .await
        .expect("outbox rows");
    tx.rollback().await.expect("rollback");
    rows.len() as i64
}

#[tokio::test]
async fn a_new_session_is_announced_on_its_agents_channel_and_a_refused_rent_is_not() {
    // Arrange
    let app = spawn_app().await;
    let m = market(
        &app,
        json!({ "priceAmount": "5.00", "approvalMode": "manual" }),
        "5.00",
    )
    .await;
    let tenant: TenantId = app.tenant_id("default").await.into();
    let agent: AgentId = m.agent.parse().expect("agent id");
    let mut events = subscribe(&agent_channel(&app.state.redis, tenant, agent)).await;
    let poor = app.signup().await;

    // Act: a refused rent (402, rolled back), then one that succeeds.
    rent(&app, &poor, &m.rent_body("no money"))
        .await
        .expect_error(402, "INSUFFICIENT_BALANCE");
    let created = rent(&app, &m.consumer, &m.rent_body("announce me"))
        .await
        .expect(201);
    let event = next_event(&mut events).await;

    // Assert: the first event is the committed session's.
    assert_eq!(event["event"], "session.new");
    let payload = &event["payload"];
    assert_eq!(payload["sessionId"], created.body["id"]);
    assert_eq!(payload["sessionToken"], created.body["sessionToken"]);
    assert_eq!(payload["status"], "pending_approval");
    assert_eq!(payload["taskDescription"], "announce me");
    assert_eq!(payload["consumerUserId"], m.consumer.id.as_str());
    assert!(payload["timestamp"].is_string());

    // Approving announces `session.approved` on the same channel.
    let id = created.body["id"].as_str().expect("id");
    app.post_empty(&action(id, "approve"), &m.provider.auth())
        .await
        .expect(200);
    let approved = next_event(&mut events).await;
    assert_eq!(approved["event"], "session.approved");
    assert_eq!(
        approved["payload"]["sessionToken"],
        created.body["sessionToken"]
    );
    assert_eq!(outbox_rows(&app).await, 0);
}

#[tokio::test]
async fn an_event_a_crashed_replica_left_is_published_by_the_relay_and_a_rollback_leaves_none() {
    // Arrange: a row committed without anyone waking a relay, as when the writer died after
    // its commit.
    let app = spawn_app().await;
    let channel = format!("{}:test:orphan", app.redis_prefix);
    let mut events = subscribe(&channel).await;
    let tenant: uuid::Uuid = app.tenant_id("default").await;

    // A rolled-back transaction that wrote an event.
    let mut tx = app.db.begin().await.expect("tx");
    clawrent_api::outbox::enqueue(
        &mut tx,
        tenant.into(),
        &channel,
        "test.rolled_back",
        &json!({ "n": 0 }),
        chrono::Utc::now(),
    )
    .await
    .expect("enqueue");
    tx.rollback().await.expect("rollback");
    sqlx::query(
        "INSERT INTO outbox_events (tenant_id, channel, event, payload, created_at)
         VALUES ($1, $2, 'test.orphan', '{\"n\": 1}', now())",
    )
    .bind(tenant)
    .bind(&channel)
    .execute(&app.db)
    .await
    .expect("orphan row");

    // Act: the relay's poll (OUTBOX_POLL_INTERVAL) picks it up without being woken.
    let event = next_event(&mut events).await;

    // Assert: only the committed event, and it is gone from the outbox.
    assert_eq!(
        event,
        json!({ "event": "test.orphan", "payload": { "n": 1 } })
    );
    assert_eq!(outbox_rows(&app).await, 0);
}
