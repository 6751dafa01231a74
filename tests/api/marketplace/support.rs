//! Helpers shared by the marketplace tests: id sets, agents drafted, listed or hidden, the
//! public-item assertion, seeded stats and a cursor walk. Browse paths, pages and ids are the
//! harness's (`helpers::paging`).

use crate::helpers::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Query pairs, in order.
pub type Query<'a> = Vec<(&'a str, &'a str)>;

pub const FAVORITES: &str = "/api/favorites";

pub fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

pub fn set_of(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|id| (*id).clone()).collect()
}

/// A draft agent with `extra` fields and a fresh slug; returns (id, slug).
pub async fn draft(app: &TestApp, owner: &TestUser, extra: Value) -> (String, String) {
    let slug = unique_slug("mkt");
    let id = app.create_agent(owner, &slug, extra).await;
    (id, slug)
}

/// An agent published with `terms` and approved: it is in the marketplace. Returns (id, slug).
pub async fn listed(
    app: &TestApp,
    owner: &TestUser,
    admin: &TestUser,
    extra: Value,
    terms: Value,
) -> (String, String) {
    let (id, slug) = draft(app, owner, extra).await;
    app.publish(owner, &id, terms).await.expect(200);
    app.review(admin, &id, "approve", None).await.expect(200);
    (id, slug)
}

pub fn usd(price: &str) -> Value {
    json!({ "priceAmount": price, "pricingModel": "per_minute", "currency": "USD" })
}

/// One agent in each state that must stay out of the marketplace: draft, pending_review,
/// rejected and suspended. Returns their (id, slug) pairs.
pub async fn hidden_agents(
    app: &TestApp,
    owner: &TestUser,
    admin: &TestUser,
) -> Vec<(&'static str, String, String)> {
    let (draft_id, draft_slug) = draft(app, owner, json!({})).await;

    let (pending_id, pending_slug) = draft(app, owner, json!({})).await;
    app.publish(owner, &pending_id, usd("5.00"))
        .await
        .expect(200);

    let (rejected_id, rejected_slug) = draft(app, owner, json!({})).await;
    app.publish(owner, &rejected_id, usd("5.00"))
        .await
        .expect(200);
    app.review(admin, &rejected_id, "reject", Some("incomplete"))
        .await
        .expect(200);

    let (suspended_id, suspended_slug) = listed(app, owner, admin, json!({}), usd("5.00")).await;
    app.review(admin, &suspended_id, "suspend", Some("abuse"))
        .await
        .expect(200);

    vec![
        ("draft", draft_id, draft_slug),
        ("pending_review", pending_id, pending_slug),
        ("rejected", rejected_id, rejected_slug),
        ("suspended", suspended_id, suspended_slug),
    ]
}

/// Keys a public marketplace item must never carry.
pub const PRIVATE_KEYS: &[&str] = &[
    "ownerId",
    "owner",
    "ownerEmail",
    "email",
    "token",
    "agentToken",
    "agentTokenPrefix",
    "hasAgentToken",
    "reviewReason",
    "reviewedBy",
    "endpoint",
    "healthCheckUrl",
];

pub fn assert_public_item(item: &Value) {
    for key in [
        "id",
        "name",
        "slug",
        "description",
        "capabilities",
        "categories",
        "pricingModel",
        "priceAmount",
        "currency",
        "onlineStatus",
        "online",
        "provider",
        "avgRating",
        "ratingCount",
        "totalSessions",
        "publishedAt",
    ] {
        assert!(item.get(key).is_some(), "item lacks {key}: {item}");
    }
    assert!(
        item["provider"]["displayName"].is_string(),
        "provider.displayName: {item}"
    );
    for key in PRIVATE_KEYS {
        assert!(item.get(*key).is_none(), "item exposes {key}: {item}");
    }
    let provider = item["provider"].as_object().expect("provider object");
    assert_eq!(
        provider.keys().collect::<Vec<_>>(),
        vec!["displayName"],
        "provider shows only its display name: {item}"
    );
}

/// Sets the popularity and rating figures of a listing (no endpoint records sessions yet).
pub async fn set_stats(
    app: &TestApp,
    agent: &str,
    sessions: i64,
    rating_sum: i64,
    rating_count: i64,
) {
    let updated = sqlx::query(
        "UPDATE listings SET total_sessions = $2, rating_sum = $3, rating_count = $4 WHERE agent_id = $1::uuid",
    )
    .bind(agent)
    .bind(sessions)
    .bind(rating_sum)
    .bind(rating_count)
    .execute(&app.db)
    .await
    .expect("update listing stats");
    assert_eq!(updated.rows_affected(), 1, "the agent is listed");
}

/// Follows `nextCursor` from the first page of `pairs` with `limit`; returns the pages' ids.
pub async fn walk(
    app: &TestApp,
    auth: &Auth,
    pairs: &[(&str, &str)],
    limit: &str,
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query: Vec<(&str, &str)> = pairs.to_vec();
        query.push(("limit", limit));
        if let Some(c) = &cursor {
            query.push(("cursor", c));
        }
        let page = browse(app, auth, &query).await;
        pages.push(ids(&page));
        assert!(pages.len() <= 50, "the cursor walk never ends: {pairs:?}");
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                assert!(
                    page["nextCursor"].is_null(),
                    "nextCursor is a string or null: {page}"
                );
                return pages;
            }
        }
    }
}
