//! Agent detail and tenant isolation: the public detail, 404 outside the marketplace, and
//! agents and slugs of one tenant invisible in another.

use super::support::{assert_public_item, hidden_agents, listed};
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn agent_detail_shows_public_fields_and_the_long_description() {
    // Arrange
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let (id, slug) = listed(
        &app,
        &provider,
        &admin,
        json!({
            "name": "Translator Pro",
            "longDescription": "Everything about this agent, at length",
        }),
        json!({
            "priceAmount": "12.5", "pricingModel": "per_session", "currency": "CNY",
            "endpoint": "https://secret-endpoint.example.com/v1",
        }),
    )
    .await;
    let viewer = app.signup().await;

    // Act
    let reply = app
        .get(&format!("/api/marketplace/agents/{slug}"), &viewer.auth())
        .await
        .expect(200);

    // Assert
    let agent = &reply.body;
    assert_public_item(agent);
    assert_eq!(agent["id"], id.as_str());
    assert_eq!(agent["slug"], slug.as_str());
    assert_eq!(agent["name"], "Translator Pro");
    assert_eq!(
        agent["longDescription"],
        "Everything about this agent, at length"
    );
    assert_eq!(agent["priceAmount"], "12.50");
    assert_eq!(agent["currency"], "CNY");
    assert_eq!(agent["pricingModel"], "per_session");
    for secret in [
        provider.email.as_str(),
        provider.id.as_str(),
        "secret-endpoint",
        "endpoint",
        "ownerId",
    ] {
        assert!(
            !reply.text.contains(secret),
            "detail leaks {secret:?}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn agent_detail_is_404_for_agents_outside_the_marketplace() {
    // Arrange
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let hidden = hidden_agents(&app, &provider, &admin).await;
    let viewer = app.signup().await;
    let mut slugs: Vec<(String, String)> = hidden
        .into_iter()
        .map(|(state, _, slug)| (state.to_owned(), slug))
        .collect();
    slugs.push(("unknown".to_owned(), "no-such-agent".to_owned()));

    for (state, slug) in slugs {
        // Act
        let reply = app
            .get(&format!("/api/marketplace/agents/{slug}"), &viewer.auth())
            .await;

        // Assert
        assert_eq!(reply.status.as_u16(), 404, "{state}: {}", reply.text);
        reply.expect_error(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn another_tenants_agents_are_invisible_in_detail_and_browse() {
    // Arrange
    let app = spawn_app().await;
    let listing = app.listed_agent().await;
    let tenant_b = app.create_tenant("mkt").await;
    let admin_b = app.admin_in(&tenant_b).await;
    let provider_b = app.signup_in(Some(&tenant_b)).await;
    let own_slug = unique_slug("own");
    let own = app
        .listed_agent_with(
            &provider_b,
            &admin_b,
            &own_slug,
            json!({ "priceAmount": "3.00" }),
        )
        .await;
    let viewer_b = app.signup_in(Some(&tenant_b)).await;

    // Act
    let detail = app
        .get(
            &format!("/api/marketplace/agents/{}", listing.slug),
            &viewer_b.auth(),
        )
        .await;
    let page = app
        .get(&browse_path(&[("limit", "100")]), &viewer_b.auth())
        .await
        .expect(200);

    // Assert
    detail.expect_error(404, "NOT_FOUND");
    assert_eq!(ids(&page.body), vec![own.clone()], "{}", page.text);
    assert_eq!(page.body["total"], 1, "{}", page.text);
    assert!(!page.text.contains(&listing.id), "{}", page.text);
    let a_side = browse(&app, &listing.provider.auth(), &[("limit", "100")]).await;
    assert_eq!(ids(&a_side), vec![listing.id], "{a_side}");
    let own_detail = app
        .get(
            &format!("/api/marketplace/agents/{own_slug}"),
            &viewer_b.auth(),
        )
        .await
        .expect(200);
    assert_eq!(own_detail.body["id"], own.as_str());
}

#[tokio::test]
async fn the_same_slug_in_two_tenants_resolves_to_each_tenants_own_agent() {
    // Arrange
    let app = spawn_app().await;
    let slug = unique_slug("twin");
    let provider_a = app.signup().await;
    let admin_a = app.default_admin().await;
    let id_a = app
        .listed_agent_with(&provider_a, &admin_a, &slug, json!({}))
        .await;
    let tenant_b = app.create_tenant("mkt").await;
    let admin_b = app.admin_in(&tenant_b).await;
    let provider_b = app.signup_in(Some(&tenant_b)).await;
    let id_b = app
        .listed_agent_with(&provider_b, &admin_b, &slug, json!({}))
        .await;
    let path = format!("/api/marketplace/agents/{slug}");

    // Act
    let in_a = app.get(&path, &provider_a.auth()).await.expect(200);
    let in_b = app.get(&path, &provider_b.auth()).await.expect(200);

    // Assert
    assert_eq!(in_a.body["id"], id_a.as_str());
    assert_eq!(in_b.body["id"], id_b.as_str());
    assert_ne!(id_a, id_b);
}
