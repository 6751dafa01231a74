//! Under concurrency: the limits hold (exactly k sessions and k holds), sends get gap-free `seq`
//! and strictly increasing `createdAt`, and parallel ends settle once.

use super::support::*;
use crate::helpers::*;
use futures_util::future::join_all;
use serde_json::json;

#[tokio::test]
async fn parallel_rents_against_a_limit_of_three_create_exactly_three_sessions_and_holds() {
    // Arrange: eight consumers with money, an agent taking three sessions at once.
    let app = spawn_app().await;
    let m = market(
        &app,
        json!({ "priceAmount": "1.00", "maxConcurrentSessions": 3, "approvalMode": "auto" }),
        "0",
    )
    .await;
    let mut consumers = Vec::new();
    for _ in 0..8 {
        let user = app.signup().await;
        app.topup(&user.auth(), "5.00").await.expect(200);
        consumers.push(user);
    }

    // Act
    let body = m.rent_body("race");
    let replies = join_all(consumers.iter().map(|c| rent(&app, c, &body))).await;

    // Assert
    let created = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    let refused = replies
        .iter()
        .filter(|r| r.status.as_u16() == 409 && r.text.contains("maxConcurrentSessions"))
        .count();
    assert_eq!(
        (created, refused),
        (3, 5),
        "{:?}",
        replies.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    assert_eq!(app.count("SELECT count(*) FROM sessions").await, 3);
    assert_eq!(
        app.count("SELECT count(*) FROM holds WHERE status = 'held'")
            .await,
        3
    );
}

#[tokio::test]
async fn parallel_sends_get_gap_free_seq_and_strictly_increasing_created_at() {
    // Arrange
    let app = spawn_app().await;
    let m = market(&app, json!({ "approvalMode": "auto" }), "10.00").await;
    let id = rented(&app, &m, "chatty").await;
    let path = action(&id, "messages");
    let (consumer, provider) = (m.consumer.auth(), m.provider.auth());

    // Act: 24 sends at once from both sides.
    let sends = (0..24).map(|n| {
        let who = if n % 2 == 0 { &consumer } else { &provider };
        let path = path.clone();
        let app = &app;
        async move {
            app.post(
                &path,
                who,
                &json!({ "type": "dialogue.message", "payload": { "n": n } }),
            )
            .await
        }
    });
    let replies = join_all(sends).await;

    // Assert
    assert!(replies.iter().all(|r| r.status.as_u16() == 200));
    let history = app
        .get(&format!("{path}?limit=50"), &consumer)
        .await
        .expect(200);
    let data = history.body["data"].as_array().expect("data");
    let seqs: Vec<i64> = data
        .iter()
        .map(|m| m["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(seqs, (1..=24).collect::<Vec<_>>());
    let times: Vec<&str> = data
        .iter()
        .map(|m| m["createdAt"].as_str().expect("time"))
        .collect();
    for pair in times.windows(2) {
        assert!(
            pair[0] < pair[1],
            "createdAt must strictly increase: {pair:?}"
        );
    }
    for time in &times {
        assert_millis_utc(&json!(time), "createdAt");
    }
}

#[tokio::test]
async fn parallel_ends_from_both_sides_settle_once_with_one_answer() {
    // Arrange
    let app = spawn_app().await;
    let m = market(
        &app,
        json!({ "priceAmount": "3.00", "approvalMode": "auto" }),
        "10.00",
    )
    .await;
    let id = rented(&app, &m, "end it").await;
    let path = action(&id, "end");

    // Act
    let ends = (0..6).map(|n| {
        let who = if n % 2 == 0 {
            m.consumer.auth()
        } else {
            m.provider.auth()
        };
        let (app, path) = (&app, path.clone());
        async move { app.post_empty(&path, &who).await }
    });
    let replies = join_all(ends).await;

    // Assert
    assert!(
        replies.iter().all(|r| r.status.as_u16() == 200),
        "{:?}",
        replies.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    assert!(
        replies
            .iter()
            .all(|r| r.body["settlement"] == replies[0].body["settlement"])
    );
    assert_eq!(app.count("SELECT count(*) FROM settlements").await, 1);
    assert_eq!(cny(&app, &m.consumer).await, crate::money_helpers::dec("7"));
    assert_eq!(
        cny(&app, &m.provider).await,
        crate::money_helpers::dec("2.55")
    );
}
