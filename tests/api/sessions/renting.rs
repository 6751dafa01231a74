//! Every documented refusal of `POST /api/sessions`, each changing nothing, and the limits.

use super::support::*;
use crate::helpers::*;
use crate::money_helpers::dec;
use serde_json::json;

async fn session_rows(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM sessions").await
}

#[tokio::test]
async fn bad_fields_own_agents_and_unknown_agents_are_refused_and_nothing_is_held() {
    // Arrange
    let app = spawn_app().await;
    let m = market(&app, json!({ "priceAmount": "5.00" }), "50.00").await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let cases = [
        (json!({ "taskDescription": "x" }), 400, "agentId"),
        (json!({ "agentId": "not-a-uuid" }), 400, "agentId"),
        (
            json!({ "agentId": m.agent, "grantedPermissions": ["all"] }),
            400,
            "grantedPermissions",
        ),
        (
            json!({ "agentId": m.agent, "taskDescription": "t".repeat(10_001) }),
            400,
            "taskDescription",
        ),
        (
            json!({ "agentId": m.agent, "sessionKey": "has spaces in it" }),
            400,
            "sessionKey",
        ),
        (
            json!({ "agentId": m.agent, "sessionKey": "" }),
            400,
            "sessionKey",
        ),
        (
            json!({ "agentId": m.agent, "taskDescription": 42 }),
            400,
            "taskDescription",
        ),
        (json!({ "agentId": unknown }), 404, ""),
    ];

    for (body, status, field) in cases {
        // Act
        let reply = rent(&app, &m.consumer, &body).await;

        // Assert
        assert_eq!(reply.status.as_u16(), status, "{body}: {}", reply.text);
        if status == 400 {
            assert!(
                reply.body["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(field),
                "{}",
                reply.text
            );
        }
    }
    // The provider renting their own agent.
    let own = rent(&app, &m.provider, &m.rent_body("mine")).await;
    let own = own.expect_error(400, "VALIDATION_ERROR");
    assert!(own.text.contains("own agent"), "{}", own.text);
    assert_eq!(session_rows(&app).await, 0);
    assert_eq!(cny(&app, &m.consumer).await, dec("50"));
}

#[tokio::test]
async fn an_agent_that_is_not_active_or_not_online_is_409_and_a_short_wallet_is_402() {
    // Arrange: a draft agent, a listed agent that is not activated, and a rentable one.
    let app = spawn_app().await;
    let m = market(&app, json!({ "priceAmount": "5.00" }), "1.00").await;
    let draft = app
        .create_agent(&m.provider, &unique_slug("draft"), json!({}))
        .await;
    let offline = app
        .listed_agent_with(&m.provider, &m.admin, &unique_slug("off"), json!({}))
        .await;

    // Act
    let not_active = rent(&app, &m.consumer, &json!({ "agentId": draft })).await;
    let not_online = rent(&app, &m.consumer, &json!({ "agentId": offline })).await;
    let short = rent(&app, &m.consumer, &m.rent_body("too dear")).await;

    // Assert
    let not_active = not_active.expect_error(409, "CONFLICT");
    assert!(
        not_active.text.contains("not active"),
        "{}",
        not_active.text
    );
    let not_online = not_online.expect_error(409, "CONFLICT");
    assert!(not_online.text.contains("offline"), "{}", not_online.text);
    let short = short.expect_error(402, "INSUFFICIENT_BALANCE");
    let message = short.body["message"].as_str().expect("message");
    assert!(
        message.contains("5.00 CNY") && message.contains("1.00 CNY"),
        "the message names the hold and the balance: {message}"
    );
    assert_eq!(session_rows(&app).await, 0);
    assert_eq!(cny(&app, &m.consumer).await, dec("1"));
}

#[tokio::test]
async fn the_concurrency_and_consumer_slot_limits_say_which_one_was_reached() {
    // Arrange: two sessions at once, one per consumer.
    let app = spawn_app().await;
    let m = market(
        &app,
        json!({ "priceAmount": "1.00", "maxConcurrentSessions": 2, "maxConsumerSlots": 1 }),
        "10.00",
    )
    .await;
    let second = app.signup().await;
    app.topup(&second.auth(), "10.00").await.expect(200);
    let third = app.signup().await;
    app.topup(&third.auth(), "10.00").await.expect(200);

    // Act
    let first_session = rented(&app, &m, "one").await;
    let again = rent(&app, &m.consumer, &m.rent_body("two")).await;
    rent(&app, &second, &m.rent_body("two")).await.expect(201);
    let full = rent(&app, &third, &m.rent_body("three")).await;

    // Assert
    let again = again.expect_error(409, "CONFLICT");
    assert!(again.text.contains("maxConsumerSlots"), "{}", again.text);
    let full = full.expect_error(409, "CONFLICT");
    assert!(full.text.contains("maxConcurrentSessions"), "{}", full.text);
    assert_eq!(
        cny(&app, &third).await,
        dec("10"),
        "nothing held from the refused"
    );

    // Ending a session frees its place.
    app.post_empty(&action(&first_session, "end"), &m.consumer.auth())
        .await
        .expect(200);
    rent(&app, &third, &m.rent_body("three")).await.expect(201);
}

#[tokio::test]
async fn a_session_key_returns_the_open_session_and_an_idempotency_key_replays() {
    // Arrange
    let app = spawn_app().await;
    let m = market(
        &app,
        json!({ "priceAmount": "2.00", "maxConsumerSlots": 3, "approvalMode": "auto" }),
        "20.00",
    )
    .await;
    let mut keyed = m.rent_body("keyed");
    keyed["sessionKey"] = json!("retry-7f3a");

    // Act: the same key twice, then after the session ended.
    let first = rent(&app, &m.consumer, &keyed).await.expect(201);
    let second = rent(&app, &m.consumer, &keyed).await.expect(200);
    let id = first.body["id"].as_str().expect("id").to_owned();
    app.post_empty(&action(&id, "end"), &m.consumer.auth())
        .await
        .expect(200);
    let after_end = rent(&app, &m.consumer, &keyed).await.expect(201);

    // Assert: one hold for the first two; a new session once the first ended.
    assert_eq!(second.body["id"], first.body["id"]);
    assert_ne!(after_end.body["id"], first.body["id"]);
    assert_eq!(cny(&app, &m.consumer).await, dec("16"));

    // Act: Idempotency-Key.
    let auth = m.consumer.auth().with("Idempotency-Key", "rent-42".into());
    let body = m.rent_body("idempotent");
    let one = app.post(SESSIONS, &auth, &body).await.expect(201);
    let two = app.post(SESSIONS, &auth, &body).await.expect(201);

    // Assert
    assert_eq!(two.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(one.body, two.body);
    assert_eq!(cny(&app, &m.consumer).await, dec("14"));
}
