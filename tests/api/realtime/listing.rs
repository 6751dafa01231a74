//! The marketplace follows presence: a listing shows online while its opted-in agent holds a
//! `/ws/agent` socket, offline when the socket closes, and offline after a replica died once
//! the agent's presence expired (the reconciler's pass).

use super::support::*;
use crate::helpers::*;
use clawrent_api::agents::presence_reconcile::reconcile_once;
use clawrent_api::ids::{AgentId, TenantId};
use clawrent_api::realtime::presence;
use serde_json::json;

async fn online_slugs(app: &TestApp, who: &TestUser) -> Vec<String> {
    let page = app
        .get("/api/marketplace/browse?online=true&limit=100", &who.auth())
        .await
        .expect(200);
    page.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|l| l["slug"].as_str().expect("slug").to_owned())
        .collect()
}

#[tokio::test]
async fn a_listing_is_online_while_its_socket_is_held_and_after_its_presence_expires_it_is_not() {
    // Arrange: a listed agent, connected and opted in.
    let app = spawn_app_with(&[("REALTIME_RECONCILE_INTERVAL", "24h")]).await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let slug = unique_slug("live");
    let agent = app
        .listed_agent_with(&provider, &admin, &slug, json!({}))
        .await;
    let token = app.agent_token(&provider, &agent).await;
    let viewer = app.signup().await;
    let mut socket = agent_socket(&app, &token).await;
    next_of(&mut socket, "agent.connected").await;
    app.post_empty(&format!("/api/agents/{agent}/activate"), &provider.auth())
        .await
        .expect(200);
    assert!(online_slugs(&app, &viewer).await.contains(&slug));

    // Act: the daemon closes its socket.
    socket.close(None).await.expect("close");
    close_code(&mut socket).await;

    // Assert: offline at once; reconnecting shows it online again (the opt-in is kept).
    assert!(!online_slugs(&app, &viewer).await.contains(&slug));
    let mut again = agent_socket(&app, &token).await;
    next_of(&mut again, "agent.connected").await;
    assert!(online_slugs(&app, &viewer).await.contains(&slug));

    // Act: the replica holding the socket dies; its presence key expires with its TTL (here
    // removed as the expiry would), and a reconciler pass runs (the background one ran at start
    // and waits REALTIME_RECONCILE_INTERVAL, 24h here, so this pass is the only one).
    let tenant: TenantId = app.tenant_id("default").await.into();
    let id: AgentId = agent.parse().expect("agent id");
    let key = presence::agent_key(&app.state.redis, tenant, id);
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut app.state.redis.conn())
        .await
        .expect("expire");
    let shown_offline = reconcile_once(&app.state).await.expect("reconcile");

    // Assert
    assert_eq!(shown_offline, 1);
    assert!(!online_slugs(&app, &viewer).await.contains(&slug));
    drop(again);
}
