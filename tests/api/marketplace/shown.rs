//! Browse, what is shown: only active agents in the page envelope, the default page, agents
//! leaving and returning, and the public fields of an item.

use super::support::{assert_public_item, draft, hidden_agents, listed, usd};
use crate::helpers::*;
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test]
async fn browse_lists_only_active_agents_in_the_page_envelope() {
    // Arrange
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let (active, _) = listed(&app, &provider, &admin, json!({}), usd("5.00")).await;
    let hidden = hidden_agents(&app, &provider, &admin).await;
    let viewer = app.signup().await;

    // Act
    let page = browse(&app, &viewer.auth(), &[("limit", "100")]).await;

    // Assert
    assert_eq!(ids(&page), vec![active.clone()], "{page}");
    for (state, id, _) in &hidden {
        assert!(
            !page.to_string().contains(id.as_str()),
            "{state} agent shown: {page}"
        );
    }
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["totalIsExact"], true, "{page}");
    assert_eq!(page["page"], 1, "{page}");
    assert_eq!(page["limit"], 100, "{page}");
    // The last page has no `nextCursor` key at all (not null), like every list.
    let keys: BTreeSet<&str> = page
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["data", "total", "totalIsExact", "page", "limit"]),
        "{page}"
    );
}

#[tokio::test]
async fn browse_defaults_to_page_one_of_twenty() {
    // Arrange
    let app = spawn_app().await;
    let listing = app.listed_agent().await;
    let viewer = app.signup().await;

    // Act
    let page = browse(&app, &viewer.auth(), &[]).await;

    // Assert
    assert_eq!(ids(&page), vec![listing.id], "{page}");
    assert_eq!(page["page"], 1, "{page}");
    assert_eq!(page["limit"], 20, "{page}");
}

#[tokio::test]
async fn an_active_agent_resubmitted_with_new_terms_stays_listed_with_the_approved_ones() {
    // Arrange
    let app = spawn_app().await;
    let listing = app.listed_agent().await;
    let viewer = app.signup().await;
    assert_eq!(
        ids(&browse(&app, &viewer.auth(), &[]).await),
        vec![listing.id.clone()]
    );

    // Act
    app.publish(&listing.provider, &listing.id, usd("6.00"))
        .await
        .expect(200);

    // Assert: the new terms wait for review as a revision; the listing keeps the approved ones.
    let page = browse(&app, &viewer.auth(), &[]).await;
    assert_eq!(ids(&page), vec![listing.id.clone()], "{page}");
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["data"][0]["priceAmount"], "5.00", "{page}");
    assert_eq!(page["data"][0]["currency"], "CNY", "{page}");
    let usd_only = browse(&app, &viewer.auth(), &[("currency", "USD")]).await;
    assert!(ids(&usd_only).is_empty(), "{usd_only}");
}

#[tokio::test]
async fn a_reinstated_agent_returns_to_the_marketplace_and_the_count() {
    // Arrange
    let app = spawn_app().await;
    let listing = app.listed_agent().await;
    let viewer = app.signup().await;
    app.review(&listing.admin, &listing.id, "suspend", Some("check"))
        .await
        .expect(200);
    assert_eq!(browse(&app, &viewer.auth(), &[]).await["total"], 0);

    // Act
    app.review(&listing.admin, &listing.id, "reinstate", None)
        .await
        .expect(200);

    // Assert
    let page = browse(&app, &viewer.auth(), &[]).await;
    assert_eq!(ids(&page), vec![listing.id], "{page}");
    assert_eq!(page["total"], 1, "{page}");
}

#[tokio::test]
async fn browse_items_carry_public_fields_and_never_private_ones() {
    // Arrange
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let (id, slug) = draft(
        &app,
        &provider,
        json!({
            "name": "Translator Pro",
            "description": "Translates documents between languages",
            "longDescription": "A long description that only the detail page shows",
            "capabilities": [{ "category": "Translation", "name": "Document translation", "description": "any language", "tags": ["i18n"] }],
        }),
    )
    .await;
    let terms = json!({
        "priceAmount": "5", "pricingModel": "per_minute", "currency": "USD",
        "endpoint": "https://secret-endpoint.example.com/v1",
        "healthCheckUrl": "https://secret-health.example.com/health",
    });
    app.publish(&provider, &id, terms.clone()).await.expect(200);
    app.review(&admin, &id, "reject", Some("SECRET-REJECTION-REASON"))
        .await
        .expect(200);
    app.publish(&provider, &id, terms).await.expect(200);
    app.review(&admin, &id, "approve", None).await.expect(200);
    let agent_token = app.agent_token(&provider, &id).await;
    let viewer = app.signup().await;

    // Act
    let reply = app.get(&browse_path(&[]), &viewer.auth()).await.expect(200);

    // Assert
    let item = &reply.body["data"][0];
    assert_public_item(item);
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["slug"], slug.as_str());
    assert_eq!(item["name"], "Translator Pro");
    assert_eq!(
        item["description"],
        "Translates documents between languages"
    );
    assert!(
        item.get("longDescription").is_none(),
        "browse omits it: {item}"
    );
    assert_eq!(item["capabilities"][0]["name"], "Document translation");
    assert_eq!(item["capabilities"][0]["tags"], json!(["i18n"]));
    assert_eq!(item["categories"], json!(["translation"]));
    assert_eq!(item["pricingModel"], "per_minute");
    assert_eq!(item["priceAmount"], "5.00", "a decimal string: {item}");
    assert_eq!(item["currency"], "USD");
    assert_eq!(item["onlineStatus"], "offline");
    assert_eq!(item["online"], false);
    assert_eq!(item["provider"]["displayName"], "Test User");
    assert_eq!(item["avgRating"], "0.00");
    assert_eq!(item["ratingCount"], 0);
    assert_eq!(item["totalSessions"], 0);
    let published = item["publishedAt"].as_str().expect("publishedAt");
    assert!(
        published.len() == 24 && published.ends_with('Z'),
        "{published}"
    );
    for secret in [
        provider.email.as_str(),
        provider.id.as_str(),
        provider.token.as_str(),
        provider.api_key.as_str(),
        agent_token.as_str(),
        &agent_token[..17],
        "SECRET-REJECTION-REASON",
        "secret-endpoint",
        "secret-health",
        "ownerId",
        "reviewReason",
        "endpoint",
        "healthCheckUrl",
    ] {
        assert!(
            !reply.text.contains(secret),
            "browse leaks {secret:?}: {}",
            reply.text
        );
    }
}
