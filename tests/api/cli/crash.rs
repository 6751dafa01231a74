//! A crash in the middle of money-moving requests.

use super::*;

/// `kill -9` the server while hundreds of keyed top-ups are in flight, start it again and retry
/// every key: each top-up is credited exactly once, the answers given before the crash are
/// replayed unchanged, and the ledger verifies.
#[tokio::test]
async fn a_server_killed_mid_top_ups_loses_no_money_and_retries_replay() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let admin = app.default_admin().await;
    let limits = [("RATE_LIMIT_TOPUP", "100000/1m")];
    let (mut child, address) = serve(&app, &limits).await;
    let client = http_client();
    let keys: Vec<String> = (0..300).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let topup = |client: reqwest::Client, address: String, key: String, api_key: String| async move {
        let response = client
            .post(format!("{address}/api/billing/wallet/topup"))
            .header("x-api-key", api_key)
            .header("idempotency-key", key)
            .json(&serde_json::json!({ "amount": "1.00" }))
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.ok()?;
        Some((status, body))
    };
    let (answered_tx, mut answered_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut in_flight = Vec::new();
    for key in &keys {
        let (client, address, key, api_key) = (
            client.clone(),
            address.clone(),
            key.clone(),
            user.api_key.clone(),
        );
        let answered = answered_tx.clone();
        in_flight.push(tokio::spawn(async move {
            let reply = topup(client, address, key, api_key).await;
            let _ = answered.send(());
            reply
        }));
    }
    // Let some requests complete, then crash the server with the rest in flight.
    for _ in 0..20 {
        answered_rx.recv().await.expect("answers");
    }
    // SIGKILL, then wait for the process to be gone.
    child.kill().await.expect("kill -9");
    let mut before = Vec::new();
    for task in in_flight {
        before.push(task.await.expect("join"));
    }
    let answered_before = before.iter().filter(|r| r.is_some()).count();
    assert!(answered_before >= 20, "{answered_before}");

    // Some requests may have committed without their answer reaching the client.
    let committed_at_crash: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'topup'")
            .fetch_one(&app.db)
            .await
            .expect("count");
    assert!(committed_at_crash >= answered_before as i64);

    let (child, address) = serve(&app, &limits).await;
    for (key, first) in keys.iter().zip(&before) {
        let (status, body) = topup(
            client.clone(),
            address.clone(),
            key.clone(),
            user.api_key.clone(),
        )
        .await
        .expect("the restarted server answers");
        assert_eq!(status, 200, "{body}");
        if let Some((first_status, first_body)) = first {
            assert_eq!(
                (*first_status, first_body),
                (status, &body),
                "replayed unchanged"
            );
        }
    }
    terminate(child).await;

    let topups: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'topup'")
            .fetch_one(&app.db)
            .await
            .expect("count");
    assert_eq!(
        topups, 300,
        "one credit per key ({answered_before} answered before the crash)"
    );
    let wallet = app
        .get("/api/billing/wallet", &user.auth())
        .await
        .expect(200);
    assert_eq!(wallet.body["balance"], "300.00");
    let report = app
        .get("/api/admin/ledger/verify", &admin.auth())
        .await
        .expect(200);
    assert_eq!(report.body["ok"], true, "{}", report.text);
    println!(
        "answered before the crash: {answered_before} of 300; committed at the crash: {committed_at_crash}"
    );
}
