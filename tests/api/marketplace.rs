use crate::edge::support::{base64url_decode, base64url_encode};
use crate::helpers::*;
use serde_json::{Value, json};
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashSet};

/// Query pairs, in order.
type Query<'a> = Vec<(&'a str, &'a str)>;

const BROWSE: &str = "/api/marketplace/browse";
const FAVORITES: &str = "/api/favorites";

// ---------------------------------------------------------------------------------------------
// Private helpers
// ---------------------------------------------------------------------------------------------

/// `/api/marketplace/browse?...` with the pairs form-encoded exactly as `URLSearchParams` does.
fn browse_path(pairs: &[(&str, &str)]) -> String {
    let url = reqwest::Url::parse_with_params("http://localhost/api/marketplace/browse", pairs)
        .expect("a valid URL");
    match url.query() {
        Some(query) if !query.is_empty() => format!("{BROWSE}?{query}"),
        _ => BROWSE.to_owned(),
    }
}

/// A browse page that must succeed.
async fn browse(app: &TestApp, auth: &Auth, pairs: &[(&str, &str)]) -> Value {
    app.get(&browse_path(pairs), auth).await.expect(200).body
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|item| item["id"].as_str().expect("item id").to_owned())
        .collect()
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

fn set_of(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|id| (*id).clone()).collect()
}

/// A draft agent with `extra` fields and a fresh slug; returns (id, slug).
async fn draft(app: &TestApp, owner: &TestUser, extra: Value) -> (String, String) {
    let slug = unique_slug("mkt");
    let id = app.create_agent(owner, &slug, extra).await;
    (id, slug)
}

/// An agent published with `terms` and approved: it is in the marketplace. Returns (id, slug).
async fn listed(
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

fn usd(price: &str) -> Value {
    json!({ "priceAmount": price, "pricingModel": "per_minute", "currency": "USD" })
}

/// One agent in each state that must stay out of the marketplace: draft, pending_review,
/// rejected and suspended. Returns their (id, slug) pairs.
async fn hidden_agents(
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
const PRIVATE_KEYS: &[&str] = &[
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

fn assert_public_item(item: &Value) {
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
async fn set_stats(app: &TestApp, agent: &str, sessions: i64, rating_sum: i64, rating_count: i64) {
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
async fn walk(app: &TestApp, auth: &Auth, pairs: &[(&str, &str)], limit: &str) -> Vec<Vec<String>> {
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

// ---------------------------------------------------------------------------------------------
// Browse: what is shown
// ---------------------------------------------------------------------------------------------

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
async fn an_active_agent_resubmitted_for_review_leaves_the_marketplace() {
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

    // Assert
    let page = browse(&app, &viewer.auth(), &[]).await;
    assert!(ids(&page).is_empty(), "{page}");
    assert_eq!(page["total"], 0, "{page}");
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

// ---------------------------------------------------------------------------------------------
// Browse: filters
// ---------------------------------------------------------------------------------------------

struct Catalogue {
    translator: String,
    reviewer: String,
    cruncher: String,
    budget: String,
}

/// Four listed agents with distinct text, categories, pricing and currencies.
async fn catalogue(app: &TestApp) -> Catalogue {
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let (translator, _) = listed(
        app,
        &provider,
        &admin,
        json!({
            "name": "Translator Pro",
            "description": "Translates documents between languages",
            "capabilities": [{ "category": "Translation", "name": "Document translation", "tags": ["i18n"] }],
        }),
        json!({ "priceAmount": "5.00", "pricingModel": "per_minute", "currency": "USD" }),
    )
    .await;
    let (reviewer, _) = listed(
        app,
        &provider,
        &admin,
        json!({
            "name": "Code Reviewer",
            "description": "Reviews pull requests for bugs",
            "capabilities": [{ "category": "coding", "name": "Rust review", "tags": ["clippy"] }],
        }),
        json!({ "priceAmount": "20.00", "pricingModel": "per_session", "currency": "CNY" }),
    )
    .await;
    let (cruncher, _) = listed(
        app,
        &provider,
        &admin,
        json!({
            "name": "Data Cruncher",
            "description": "Analyses numbers quickly",
            "capabilities": [{ "category": "data", "name": "Spreadsheet analysis", "tags": ["excel"] }],
        }),
        json!({ "priceAmount": "10.00", "pricingModel": "fixed", "currency": "USD" }),
    )
    .await;
    let (budget, _) = listed(
        app,
        &provider,
        &admin,
        json!({
            "name": "Budget Helper",
            "description": "Cheap help with everyday chores",
            "capabilities": [{ "category": "support", "name": "General help", "tags": ["frugal"] }],
        }),
        json!({ "priceAmount": "0.50", "pricingModel": "per_token", "currency": "CNY" }),
    )
    .await;
    Catalogue {
        translator,
        reviewer,
        cruncher,
        budget,
    }
}

#[tokio::test]
async fn each_filter_returns_exactly_the_matching_agents_with_an_exact_total() {
    // Arrange
    let app = spawn_app().await;
    let c = catalogue(&app).await;
    let viewer = app.signup().await;
    let (t, r, d, b) = (&c.translator, &c.reviewer, &c.cruncher, &c.budget);
    let cases: Vec<(Query, Vec<&String>)> = vec![
        // search: name, description, capability name, tag, category words
        (vec![("search", "translator")], vec![t]),
        (vec![("search", "Translator Pro")], vec![t]),
        (vec![("search", "pull")], vec![r]),
        (vec![("search", "spreadsheet")], vec![d]),
        (vec![("search", "clippy")], vec![r]),
        (vec![("search", "excel")], vec![d]),
        (vec![("search", "frugal")], vec![b]),
        (vec![("search", "qwxzvjk")], vec![]),
        // category, case-insensitive
        (vec![("category", "translation")], vec![t]),
        (vec![("category", "TRANSLATION")], vec![t]),
        (vec![("category", "Coding")], vec![r]),
        (vec![("category", "legal")], vec![]),
        // pricing model
        (vec![("pricingModel", "per_minute")], vec![t]),
        (vec![("pricingModel", "per_session")], vec![r]),
        (vec![("pricingModel", "fixed")], vec![d]),
        (vec![("pricingModel", "per_token")], vec![b]),
        // price bounds, inclusive
        (vec![("minPrice", "10")], vec![r, d]),
        (vec![("maxPrice", "5.00")], vec![t, b]),
        (vec![("minPrice", "5"), ("maxPrice", "10")], vec![t, d]),
        (vec![("minPrice", "10.00"), ("maxPrice", "10.00")], vec![d]),
        (vec![("minPrice", "0.5"), ("maxPrice", "0.5")], vec![b]),
        (vec![("minPrice", "20.01")], vec![]),
        // currency, case-insensitive
        (vec![("currency", "USD")], vec![t, d]),
        (vec![("currency", "cny")], vec![r, b]),
        (vec![("currency", "EUR")], vec![]),
        // combined
        (
            vec![("currency", "USD"), ("pricingModel", "fixed")],
            vec![d],
        ),
        (vec![("search", "review"), ("category", "coding")], vec![r]),
        (vec![("search", "translator"), ("currency", "CNY")], vec![]),
        (
            vec![
                ("currency", "CNY"),
                ("maxPrice", "1"),
                ("category", "support"),
            ],
            vec![b],
        ),
        (vec![("category", "translation"), ("maxPrice", "1")], vec![]),
        // blank values are no filter
        (vec![("search", "  "), ("category", "")], vec![t, r, d, b]),
    ];

    for (query, expected) in cases {
        // Act
        let page = browse(&app, &viewer.auth(), &query).await;

        // Assert
        assert_eq!(set(&ids(&page)), set_of(&expected), "{query:?}: {page}");
        assert_eq!(page["total"], expected.len(), "{query:?}: {page}");
        assert_eq!(page["totalIsExact"], true, "{query:?}: {page}");
    }
}

#[tokio::test]
async fn a_typo_in_the_name_still_finds_the_agent() {
    // Arrange
    let app = spawn_app().await;
    let c = catalogue(&app).await;
    let viewer = app.signup().await;
    let cases = [
        ("transaltor", &c.translator),
        ("translater", &c.translator),
        ("Code Reviewr", &c.reviewer),
        ("data crunsher", &c.cruncher),
    ];

    // Act
    let mut missed = Vec::new();
    for (search, expected) in cases {
        let page = browse(&app, &viewer.auth(), &[("search", search)]).await;
        if ids(&page).first() != Some(expected) {
            missed.push((search, page["total"].clone()));
        }
    }

    // Assert
    assert!(
        missed.is_empty(),
        "typos that did not find the agent first (search, total): {missed:?}"
    );
}

#[tokio::test]
async fn searches_with_query_syntax_or_punctuation_answer_200() {
    // Arrange
    let app = spawn_app().await;
    let c = catalogue(&app).await;
    let viewer = app.signup().await;
    let cases: Vec<(&str, Option<&String>)> = vec![
        ("!!!", None),
        ("'", None),
        ("\"translator", Some(&c.translator)),
        ("translator -pro", None),
        ("translator OR clippy", None),
        ("c++ & | ! : *", None),
        ("%_\\", None),
        ("日本語 翻訳", None),
    ];

    for (search, must_contain) in cases {
        // Act
        let reply = app
            .get(&browse_path(&[("search", search)]), &viewer.auth())
            .await;

        // Assert
        let reply = reply.expect(200);
        if let Some(id) = must_contain {
            assert!(ids(&reply.body).contains(id), "{search:?}: {}", reply.text);
        }
    }
}

#[tokio::test]
async fn the_online_filter_separates_connected_agents_from_offline_ones() {
    // Arrange
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let (online, _) = listed(&app, &provider, &admin, json!({}), usd("5.00")).await;
    let (offline, _) = listed(&app, &provider, &admin, json!({}), usd("5.00")).await;
    let tenant = app.tenant_id("default").await;
    app.set_connected(tenant, &online, true).await;
    app.post_empty(&format!("/api/agents/{online}/activate"), &provider.auth())
        .await
        .expect(200);
    let viewer = app.signup().await;

    // Act
    let on = browse(&app, &viewer.auth(), &[("online", "true")]).await;
    let off = browse(&app, &viewer.auth(), &[("online", "false")]).await;
    let both = browse(&app, &viewer.auth(), &[]).await;
    let combined = browse(
        &app,
        &viewer.auth(),
        &[("online", "1"), ("currency", "USD")],
    )
    .await;

    // Assert
    assert_eq!(ids(&on), vec![online.clone()], "{on}");
    assert_eq!(on["total"], 1, "{on}");
    assert_eq!(on["data"][0]["online"], true, "{on}");
    assert_eq!(on["data"][0]["onlineStatus"], "online", "{on}");
    assert_eq!(ids(&off), vec![offline.clone()], "{off}");
    assert_eq!(off["data"][0]["online"], false, "{off}");
    assert_eq!(set(&ids(&both)), set(&[online.clone(), offline]), "{both}");
    assert_eq!(ids(&combined), vec![online], "{combined}");
}

#[tokio::test]
async fn a_busy_agent_counts_as_online_and_going_offline_leaves_the_online_filter() {
    // Arrange
    let app = spawn_app().await;
    let listing = app.listed_agent().await;
    let tenant = app.tenant_id("default").await;
    app.set_connected(tenant, &listing.id, true).await;
    let status_path = format!("/api/agents/{}/status", listing.id);
    app.post_empty(
        &format!("/api/agents/{}/activate", listing.id),
        &listing.provider.auth(),
    )
    .await
    .expect(200);
    let viewer = app.signup().await;

    // Act
    app.patch(
        &status_path,
        &listing.provider.auth(),
        &json!({ "onlineStatus": "busy" }),
    )
    .await
    .expect(200);
    let busy = browse(&app, &viewer.auth(), &[("online", "true")]).await;
    app.patch(
        &status_path,
        &listing.provider.auth(),
        &json!({ "onlineStatus": "offline" }),
    )
    .await
    .expect(200);
    let online_after = browse(&app, &viewer.auth(), &[("online", "true")]).await;
    let offline_after = browse(&app, &viewer.auth(), &[("online", "false")]).await;

    // Assert
    assert_eq!(ids(&busy), vec![listing.id.clone()], "{busy}");
    assert_eq!(busy["data"][0]["onlineStatus"], "busy", "{busy}");
    assert_eq!(busy["data"][0]["online"], true, "{busy}");
    assert!(ids(&online_after).is_empty(), "{online_after}");
    assert_eq!(ids(&offline_after), vec![listing.id], "{offline_after}");
    assert_eq!(offline_after["data"][0]["online"], false);
}

#[tokio::test]
async fn invalid_browse_parameters_are_400_validation_errors() {
    // Arrange
    let app = spawn_app().await;
    app.listed_agent().await;
    let viewer = app.signup().await;
    let long_search = "a".repeat(201);
    let long_cursor = "eyJ0Ijo".repeat(80);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("pricing model", vec![("pricingModel", "hourly")]),
        ("pricing model case", vec![("pricingModel", "PER_MINUTE")]),
        ("min price word", vec![("minPrice", "abc")]),
        ("min price negative", vec![("minPrice", "-1")]),
        ("min price exponent", vec![("minPrice", "1e3")]),
        ("max price word", vec![("maxPrice", "ten")]),
        ("max price too precise", vec![("maxPrice", "1.23456")]),
        ("online", vec![("online", "maybe")]),
        ("sort", vec![("sort", "best")]),
        ("search too long", vec![("search", &long_search)]),
        ("limit too big", vec![("limit", "101")]),
        ("limit zero", vec![("limit", "0")]),
        ("limit word", vec![("limit", "ten")]),
        ("page zero", vec![("page", "0")]),
        ("page negative", vec![("page", "-1")]),
        (
            "page past the offset cap",
            vec![("page", "102"), ("limit", "100")],
        ),
        ("garbage cursor", vec![("cursor", "not-a-cursor!!")]),
        ("base64 cursor of junk", vec![("cursor", "eyJ0IjoxfQ")]),
        ("over-long cursor", vec![("cursor", &long_cursor)]),
    ];

    for (why, query) in cases {
        // Act
        let reply = app.get(&browse_path(&query), &viewer.auth()).await;

        // Assert
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        reply.expect_error(400, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn the_largest_valid_search_and_limit_are_accepted() {
    // Arrange
    let app = spawn_app().await;
    app.listed_agent().await;
    let viewer = app.signup().await;
    let search = "a".repeat(200);

    // Act
    let page = browse(
        &app,
        &viewer.auth(),
        &[("search", &search), ("limit", "100")],
    )
    .await;

    // Assert
    assert_eq!(page["limit"], 100, "{page}");
    assert!(ids(&page).is_empty(), "{page}");
}

#[tokio::test]
async fn browse_needs_authentication() {
    // Arrange
    let app = spawn_app().await;
    app.listed_agent().await;

    // Act
    let reply = app.get(BROWSE, &Auth::none()).await;

    // Assert
    reply.expect_error(401, "UNAUTHORIZED");
}

// ---------------------------------------------------------------------------------------------
// Browse: sorting
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_sort_orders_the_agents_by_its_key() {
    // Arrange: approved in the order a, b, c, d
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let mut agents = Vec::new();
    for price in ["5.00", "20.00", "0.50", "10.00"] {
        agents.push(
            listed(&app, &provider, &admin, json!({}), usd(price))
                .await
                .0,
        );
    }
    let (a, b, c, d) = (&agents[0], &agents[1], &agents[2], &agents[3]);
    // sessions a 3, b 10, c 7, d 0; ratings a 4.50, b 3.00, c 5.00, d none
    set_stats(&app, a, 3, 9, 2).await;
    set_stats(&app, b, 10, 3, 1).await;
    set_stats(&app, c, 7, 10, 2).await;
    set_stats(&app, d, 0, 0, 0).await;
    let viewer = app.signup().await;
    let cases: Vec<(Option<&str>, Vec<&String>)> = vec![
        (None, vec![d, c, b, a]),
        (Some("newest"), vec![d, c, b, a]),
        (Some("price_asc"), vec![c, a, d, b]),
        (Some("price_desc"), vec![b, d, a, c]),
        (Some("popularity"), vec![b, c, a, d]),
        (Some("popular"), vec![b, c, a, d]),
        (Some("rating"), vec![c, a, b, d]),
    ];

    for (sort, expected) in cases {
        // Act
        let query: Vec<(&str, &str)> = sort.map(|s| ("sort", s)).into_iter().collect();
        let page = browse(&app, &viewer.auth(), &query).await;

        // Assert
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(ids(&page), expected, "sort {sort:?}: {page}");
    }
    let page = browse(&app, &viewer.auth(), &[("sort", "rating")]).await;
    let ratings: Vec<&str> = page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|i| i["avgRating"].as_str().expect("avgRating string"))
        .collect();
    assert_eq!(ratings, vec!["5.00", "4.50", "3.00", "0.00"], "{page}");
}

#[tokio::test]
async fn a_search_is_ordered_by_relevance_by_default_best_match_first() {
    // Arrange: the weaker match is the newer one
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let (strong, _) = listed(
        &app,
        &provider,
        &admin,
        json!({ "name": "Translator Pro", "description": "Translates legal documents accurately" }),
        usd("5.00"),
    )
    .await;
    let (weak, _) = listed(
        &app,
        &provider,
        &admin,
        json!({ "name": "Helper Bot", "description": "Helps with chores and acts as a translator now and then" }),
        usd("5.00"),
    )
    .await;
    listed(
        &app,
        &provider,
        &admin,
        json!({ "name": "Other Bot", "description": "Does something else entirely" }),
        usd("5.00"),
    )
    .await;
    let viewer = app.signup().await;

    // Act
    let default = browse(&app, &viewer.auth(), &[("search", "translator")]).await;
    let relevance = browse(
        &app,
        &viewer.auth(),
        &[("search", "translator"), ("sort", "relevance")],
    )
    .await;
    let newest = browse(
        &app,
        &viewer.auth(),
        &[("search", "translator"), ("sort", "newest")],
    )
    .await;

    // Assert
    assert_eq!(
        ids(&default),
        vec![strong.clone(), weak.clone()],
        "{default}"
    );
    assert_eq!(
        ids(&relevance),
        vec![strong.clone(), weak.clone()],
        "{relevance}"
    );
    assert_eq!(ids(&newest), vec![weak, strong], "{newest}");
}

// ---------------------------------------------------------------------------------------------
// Browse: paging
// ---------------------------------------------------------------------------------------------

struct Row {
    id: uuid::Uuid,
    published_at: chrono::DateTime<chrono::Utc>,
    price: f64,
    sessions: i64,
    rating: f64,
}

/// The expected order of a sort, computed here from the stored values.
fn expected_order(rows: &[Row], sort: &str) -> Vec<String> {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    let desc = |x: Ordering, a: &Row, b: &Row| x.then(a.id.cmp(&b.id)).reverse();
    sorted.sort_by(|a, b| match sort {
        "newest" => desc(a.published_at.cmp(&b.published_at), a, b),
        "price_asc" => a.price.total_cmp(&b.price).then(a.id.cmp(&b.id)),
        "price_desc" => desc(a.price.total_cmp(&b.price), a, b),
        "popularity" => desc(a.sessions.cmp(&b.sessions), a, b),
        "rating" => desc(a.rating.total_cmp(&b.rating), a, b),
        other => panic!("no expected order for {other}"),
    });
    sorted.iter().map(|r| r.id.to_string()).collect()
}

/// 25 listed agents with many ties in price, sessions and rating, plus a draft and a suspended one.
async fn paging_catalogue(app: &TestApp) -> Vec<Row> {
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    for i in 0..25_i64 {
        let description = if i % 3 == 0 {
            "A walker agent, the walker of walkers"
        } else {
            "An agent that is a walker among others"
        };
        let price = format!("{}.00", i % 5 + 1);
        let (id, _) = listed(
            app,
            &provider,
            &admin,
            json!({ "name": format!("Walker {i}"), "description": description }),
            usd(&price),
        )
        .await;
        set_stats(app, &id, (i * 7) % 10, 4 + (i % 3) * 4, 4).await;
    }
    draft(app, &provider, json!({ "name": "Walker draft" })).await;
    let (suspended, _) = listed(
        app,
        &provider,
        &admin,
        json!({ "name": "Walker suspended" }),
        usd("1.00"),
    )
    .await;
    app.review(&admin, &suspended, "suspend", Some("hidden"))
        .await
        .expect(200);
    let rows: Vec<(uuid::Uuid, chrono::DateTime<chrono::Utc>, f64, i64, f64)> = sqlx::query_as(
        "SELECT agent_id, published_at, price_amount::float8, total_sessions, avg_rating::float8 FROM listings",
    )
    .fetch_all(&app.db)
    .await
    .expect("listings");
    assert_eq!(rows.len(), 25, "25 listed agents");
    rows.into_iter()
        .map(|(id, published_at, price, sessions, rating)| Row {
            id,
            published_at,
            price,
            sessions,
            rating,
        })
        .collect()
}

#[tokio::test]
async fn walking_every_sort_by_cursor_shows_each_agent_once_in_order() {
    // Arrange
    let app = spawn_app().await;
    let rows = paging_catalogue(&app).await;
    let viewer = app.signup().await;

    for sort in ["newest", "price_asc", "price_desc", "popularity", "rating"] {
        // Act
        let pages = walk(&app, &viewer.auth(), &[("sort", sort)], "7").await;

        // Assert
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![7, 7, 7, 4], "{sort}: {pages:?}");
        let seen: Vec<String> = pages.concat();
        assert_eq!(seen, expected_order(&rows, sort), "{sort}");
        assert_eq!(
            seen.iter().collect::<HashSet<_>>().len(),
            25,
            "{sort}: each agent once"
        );
    }
}

#[tokio::test]
async fn walking_a_filtered_sort_by_cursor_keeps_the_filter() {
    // Arrange
    let app = spawn_app().await;
    let rows = paging_catalogue(&app).await;
    let viewer = app.signup().await;
    let cheap: Vec<Row> = rows.into_iter().filter(|r| r.price <= 3.0).collect();

    // Act
    let pages = walk(
        &app,
        &viewer.auth(),
        &[("sort", "price_desc"), ("maxPrice", "3")],
        "4",
    )
    .await;

    // Assert
    assert_eq!(pages.concat(), expected_order(&cheap, "price_desc"));
    assert_eq!(pages.len(), cheap.len().div_ceil(4), "{pages:?}");
}

#[tokio::test]
async fn walking_a_relevance_search_by_cursor_matches_the_single_page_order() {
    // Arrange
    let app = spawn_app().await;
    paging_catalogue(&app).await;
    let viewer = app.signup().await;
    let whole = browse(
        &app,
        &viewer.auth(),
        &[("search", "walker"), ("limit", "100")],
    )
    .await;
    assert_eq!(ids(&whole).len(), 25, "{whole}");
    assert_eq!(whole["total"], 25, "{whole}");

    // Act
    let pages = walk(&app, &viewer.auth(), &[("search", "walker")], "7").await;

    // Assert
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![7, 7, 7, 4]
    );
    assert_eq!(pages.concat(), ids(&whole));
}

#[tokio::test]
async fn page_and_limit_paging_covers_the_same_order_and_total_counts_only_active_agents() {
    // Arrange
    let app = spawn_app().await;
    let rows = paging_catalogue(&app).await;
    let viewer = app.signup().await;

    for sort in ["newest", "price_asc", "rating"] {
        // Act
        let mut seen = Vec::new();
        for page_number in 1..=5 {
            let n = page_number.to_string();
            let page = browse(
                &app,
                &viewer.auth(),
                &[("sort", sort), ("page", &n), ("limit", "7")],
            )
            .await;

            // Assert
            assert_eq!(page["total"], 25, "{sort} page {n}: {page}");
            assert_eq!(page["totalIsExact"], true, "{page}");
            assert_eq!(page["page"], page_number, "{page}");
            let expected_len = [7, 7, 7, 4, 0][page_number - 1];
            assert_eq!(ids(&page).len(), expected_len, "{sort} page {n}: {page}");
            assert_eq!(
                page["nextCursor"].is_string(),
                page_number < 4,
                "{sort} page {n}: {page}"
            );
            seen.extend(ids(&page));
        }
        assert_eq!(seen, expected_order(&rows, sort), "{sort}");
    }
}

#[tokio::test]
async fn a_cursor_continues_from_a_page_reached_by_number() {
    // Arrange
    let app = spawn_app().await;
    let rows = paging_catalogue(&app).await;
    let viewer = app.signup().await;
    let second = browse(
        &app,
        &viewer.auth(),
        &[("sort", "popularity"), ("page", "2"), ("limit", "7")],
    )
    .await;
    let cursor = second["nextCursor"].as_str().expect("a next cursor");

    // Act
    let third = browse(
        &app,
        &viewer.auth(),
        &[("sort", "popularity"), ("limit", "7"), ("cursor", cursor)],
    )
    .await;

    // Assert
    let expected = expected_order(&rows, "popularity");
    assert_eq!(ids(&second), expected[7..14].to_vec());
    assert_eq!(ids(&third), expected[14..21].to_vec());
}

// ---------------------------------------------------------------------------------------------
// Cursors that do not belong to the query
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_cursor_is_refused_by_any_other_query() {
    // Arrange
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    for price in ["1.00", "2.00", "3.00"] {
        listed(&app, &provider, &admin, json!({}), usd(price)).await;
    }
    let viewer = app.signup().await;
    let first = browse(&app, &viewer.auth(), &[("sort", "newest"), ("limit", "1")]).await;
    let cursor = first["nextCursor"].as_str().expect("a next cursor");
    let searched = browse(&app, &viewer.auth(), &[("search", "agent"), ("limit", "1")]).await;
    let search_cursor = searched["nextCursor"].as_str().expect("a search cursor");
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "another sort",
            vec![("sort", "price_asc"), ("cursor", cursor)],
        ),
        (
            "another sort (popularity)",
            vec![("sort", "popularity"), ("cursor", cursor)],
        ),
        (
            "a filter added",
            vec![("currency", "USD"), ("cursor", cursor)],
        ),
        (
            "a category added",
            vec![("category", "testing"), ("cursor", cursor)],
        ),
        (
            "a search added",
            vec![("search", "agent"), ("cursor", cursor)],
        ),
        (
            "the search changed",
            vec![("search", "agents"), ("cursor", search_cursor)],
        ),
        ("the search dropped", vec![("cursor", search_cursor)]),
        ("truncated", vec![("cursor", &cursor[..cursor.len() - 3])]),
    ];

    // Act + Assert: the same query accepts it
    let same = browse(
        &app,
        &viewer.auth(),
        &[("sort", "newest"), ("limit", "1"), ("cursor", cursor)],
    )
    .await;
    assert_eq!(ids(&same).len(), 1, "{same}");
    assert_ne!(ids(&same), ids(&first), "the next page: {same}");
    let implicit = browse(&app, &viewer.auth(), &[("limit", "1"), ("cursor", cursor)]).await;
    assert_eq!(ids(&implicit), ids(&same), "newest is the default sort");
    for (why, query) in cases {
        let reply = app.get(&browse_path(&query), &viewer.auth()).await;
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        reply.expect_error(400, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn a_cursor_from_another_tenant_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    listed(&app, &provider, &admin, json!({}), usd("1.00")).await;
    listed(&app, &provider, &admin, json!({}), usd("2.00")).await;
    let viewer = app.signup().await;
    let first = browse(&app, &viewer.auth(), &[("limit", "1")]).await;
    let cursor = first["nextCursor"].as_str().expect("a next cursor");
    let other_tenant = app.create_tenant("mkt").await;
    let stranger = app.signup_in(Some(&other_tenant)).await;

    // Act
    let reply = app
        .get(
            &browse_path(&[("limit", "1"), ("cursor", cursor)]),
            &stranger.auth(),
        )
        .await;

    // Assert
    reply.expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_tampered_cursor_is_a_400_not_a_server_error() {
    // Arrange: a real cursor whose sort key is replaced (the payload is readable base64url JSON
    // followed by a 16-byte signature, which the tampered cursor keeps)
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    listed(&app, &provider, &admin, json!({}), usd("1.00")).await;
    listed(&app, &provider, &admin, json!({}), usd("2.00")).await;
    let viewer = app.signup().await;
    let mut cases = Vec::new();
    for sort in ["newest", "price_asc", "popularity", "rating"] {
        let first = browse(&app, &viewer.auth(), &[("sort", sort), ("limit", "1")]).await;
        let cursor = first["nextCursor"].as_str().expect("a next cursor");
        let bytes = base64url_decode(cursor);
        let (json_part, tag) = bytes.split_at(bytes.len() - 16);
        let mut payload: Value = serde_json::from_slice(json_part).expect("the cursor is JSON");
        assert!(payload["k"].is_array(), "a keyset cursor: {payload}");
        for key in ["not-a-key", "", "1e999999999", "0000-01-01T00:00:00Z"] {
            payload["k"][0] = json!(key);
            let mut forged = serde_json::to_vec(&payload).expect("json");
            forged.extend_from_slice(tag);
            let tampered = base64url_encode(&forged);
            cases.push((sort, key, tampered));
        }
    }

    // Act
    let mut answers = Vec::new();
    for (sort, key, cursor) in &cases {
        let reply = app
            .get(
                &browse_path(&[("sort", sort), ("limit", "1"), ("cursor", cursor)]),
                &viewer.auth(),
            )
            .await;
        answers.push((
            *sort,
            *key,
            reply.status.as_u16(),
            reply.body["error"].clone(),
        ));
    }

    // Assert
    let wrong: Vec<_> = answers
        .iter()
        .filter(|(_, _, status, error)| *status != 400 || *error != "VALIDATION_ERROR")
        .collect();
    assert!(
        wrong.is_empty(),
        "tampered cursors must be 400 VALIDATION_ERROR; (sort, key, status, error): {wrong:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Agent detail and tenant isolation
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Favourites
// ---------------------------------------------------------------------------------------------

fn favorite_path(agent: &str) -> String {
    format!("{FAVORITES}/{agent}")
}

async fn favorite_rows(app: &TestApp, user: &TestUser) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM favorites WHERE user_id = $1::uuid")
        .bind(&user.id)
        .fetch_one(&app.db)
        .await
        .expect("count favourites")
}

fn favorite_ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|f| f["agentId"].as_str().expect("agentId").to_owned())
        .collect()
}

#[tokio::test]
async fn favouriting_without_a_body_is_200_and_idempotent() {
    // Arrange
    let app = spawn_app().await;
    let listing = app.listed_agent().await;
    let user = app.signup().await;

    // Act
    let first = app
        .post_empty(&favorite_path(&listing.id), &user.auth())
        .await;
    let second = app
        .post_empty(&favorite_path(&listing.id), &user.auth())
        .await;

    // Assert
    let first = first.expect(200);
    assert_eq!(
        first.body,
        json!({ "success": true, "agentId": listing.id, "changed": true })
    );
    let second = second.expect(200);
    assert_eq!(
        second.body,
        json!({ "success": true, "agentId": listing.id, "changed": false })
    );
    assert_eq!(favorite_rows(&app, &user).await, 1);
}

#[tokio::test]
async fn favourites_are_listed_newest_first_with_the_agents_public_fields() {
    // Arrange
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let mut agents = Vec::new();
    for price in ["1.00", "2.00", "3.00"] {
        agents.push(
            listed(&app, &provider, &admin, json!({}), usd(price))
                .await
                .0,
        );
    }
    let user = app.signup().await;
    // favourited in the order 2nd, 3rd, 1st
    for i in [1, 2, 0] {
        app.post_empty(&favorite_path(&agents[i]), &user.auth())
            .await
            .expect(200);
    }

    // Act
    let all = app.get(FAVORITES, &user.auth()).await.expect(200);
    let first = app
        .get(&format!("{FAVORITES}?page=1&limit=2"), &user.auth())
        .await
        .expect(200);
    let second = app
        .get(&format!("{FAVORITES}?page=2&limit=2"), &user.auth())
        .await
        .expect(200);

    // Assert
    let newest_first = vec![agents[0].clone(), agents[2].clone(), agents[1].clone()];
    assert_eq!(favorite_ids(&all.body), newest_first, "{}", all.text);
    assert_eq!(all.body["total"], 3);
    assert_eq!(all.body["page"], 1);
    assert_eq!(all.body["limit"], 20);
    assert_eq!(favorite_ids(&first.body), newest_first[..2].to_vec());
    assert_eq!(first.body["total"], 3);
    assert_eq!(first.body["limit"], 2);
    assert_eq!(favorite_ids(&second.body), newest_first[2..].to_vec());
    assert_eq!(second.body["page"], 2);
    let entry = &all.body["data"][0];
    assert_eq!(entry["available"], true, "{entry}");
    let favorited = entry["favoritedAt"].as_str().expect("favoritedAt");
    assert!(
        favorited.len() == 24 && favorited.ends_with('Z'),
        "{favorited}"
    );
    assert_public_item(&entry["agent"]);
    assert_eq!(entry["agent"]["id"], agents[0].as_str());
    assert_eq!(entry["agent"]["priceAmount"], "1.00");
    assert!(!all.text.contains(&provider.email), "{}", all.text);
}

#[tokio::test]
async fn a_favourite_of_a_suspended_agent_stays_listed_as_unavailable() {
    // Arrange
    let app = spawn_app().await;
    let listing = app.listed_agent().await;
    let user = app.signup().await;
    app.post_empty(&favorite_path(&listing.id), &user.auth())
        .await
        .expect(200);

    // Act
    app.review(&listing.admin, &listing.id, "suspend", Some("abuse"))
        .await
        .expect(200);

    // Assert
    let page = app.get(FAVORITES, &user.auth()).await.expect(200);
    assert_eq!(page.body["total"], 1, "{}", page.text);
    let entry = &page.body["data"][0];
    assert_eq!(entry["agentId"], listing.id.as_str());
    assert_eq!(entry["available"], false, "{entry}");
    assert!(entry.get("agent").is_none(), "{entry}");
    assert!(!page.text.contains("abuse"), "{}", page.text);
}

#[tokio::test]
async fn only_agents_in_the_marketplace_can_be_favourited() {
    // Arrange
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let hidden = hidden_agents(&app, &provider, &admin).await;
    let other_tenant = app.create_tenant("mkt").await;
    let other_admin = app.admin_in(&other_tenant).await;
    let other_provider = app.signup_in(Some(&other_tenant)).await;
    let foreign = app
        .listed_agent_with(
            &other_provider,
            &other_admin,
            &unique_slug("far"),
            json!({}),
        )
        .await;
    let user = app.signup().await;
    let mut cases: Vec<(String, String)> = hidden
        .into_iter()
        .map(|(state, id, _)| (state.to_owned(), id))
        .collect();
    cases.push(("unknown".to_owned(), uuid::Uuid::now_v7().to_string()));
    cases.push(("another tenant's".to_owned(), foreign));

    for (why, id) in cases {
        // Act
        let reply = app.post_empty(&favorite_path(&id), &user.auth()).await;

        // Assert
        assert_eq!(reply.status.as_u16(), 404, "{why}: {}", reply.text);
        reply.expect_error(404, "NOT_FOUND");
    }
    assert_eq!(favorite_rows(&app, &user).await, 0);
}

#[tokio::test]
async fn malformed_agent_ids_in_favourite_paths_are_400() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;

    for id in ["not-a-uuid", "123", "0190c0de-zzzz-7000-8000-000000000000"] {
        // Act
        let add = app.post_empty(&favorite_path(id), &user.auth()).await;
        let remove = app.delete(&favorite_path(id), &user.auth()).await;

        // Assert
        add.expect_error(400, "VALIDATION_ERROR");
        remove.expect_error(400, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn removing_a_favourite_is_200_json_and_idempotent() {
    // Arrange
    let app = spawn_app().await;
    let listing = app.listed_agent().await;
    let user = app.signup().await;
    app.post_empty(&favorite_path(&listing.id), &user.auth())
        .await
        .expect(200);

    // Act
    let first = app.delete(&favorite_path(&listing.id), &user.auth()).await;
    let second = app.delete(&favorite_path(&listing.id), &user.auth()).await;

    // Assert
    assert_eq!(
        first.expect(200).body,
        json!({ "success": true, "agentId": listing.id, "changed": true })
    );
    assert_eq!(
        second.expect(200).body,
        json!({ "success": true, "agentId": listing.id, "changed": false })
    );
    assert_eq!(favorite_rows(&app, &user).await, 0);
    let page = app.get(FAVORITES, &user.auth()).await.expect(200);
    assert_eq!(page.body["total"], 0, "{}", page.text);
}

#[tokio::test]
async fn one_users_favourites_are_invisible_to_another() {
    // Arrange
    let app = spawn_app().await;
    let listing = app.listed_agent().await;
    let owner = app.signup().await;
    let other = app.signup().await;
    app.post_empty(&favorite_path(&listing.id), &owner.auth())
        .await
        .expect(200);

    // Act
    let others_page = app.get(FAVORITES, &other.auth()).await.expect(200);
    let others_delete = app.delete(&favorite_path(&listing.id), &other.auth()).await;

    // Assert
    assert_eq!(others_page.body["total"], 0, "{}", others_page.text);
    assert!(favorite_ids(&others_page.body).is_empty());
    assert_eq!(others_delete.expect(200).body["changed"], false);
    let owners_page = app.get(FAVORITES, &owner.auth()).await.expect(200);
    assert_eq!(favorite_ids(&owners_page.body), vec![listing.id]);
}

#[tokio::test]
async fn favourites_need_authentication_and_valid_paging() {
    // Arrange
    let app = spawn_app().await;
    let listing = app.listed_agent().await;
    let user = app.signup().await;

    // Act + Assert
    app.post_empty(&favorite_path(&listing.id), &Auth::none())
        .await
        .expect_error(401, "UNAUTHORIZED");
    app.get(FAVORITES, &Auth::none())
        .await
        .expect_error(401, "UNAUTHORIZED");
    app.delete(&favorite_path(&listing.id), &Auth::none())
        .await
        .expect_error(401, "UNAUTHORIZED");
    for query in ["page=0", "limit=101", "limit=0", "page=x"] {
        let reply = app.get(&format!("{FAVORITES}?{query}"), &user.auth()).await;
        assert_eq!(reply.status.as_u16(), 400, "{query}: {}", reply.text);
        reply.expect_error(400, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn filtered_totals_stay_exact_on_short_pages_and_past_the_end() {
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    for i in 0..3 {
        let slug = unique_slug(&format!("usd{i}"));
        app.listed_agent_with(
            &provider,
            &admin,
            &slug,
            serde_json::json!({ "currency": "USD" }),
        )
        .await;
    }
    let cny = unique_slug("cny");
    app.listed_agent_with(
        &provider,
        &admin,
        &cny,
        serde_json::json!({ "currency": "CNY" }),
    )
    .await;
    for (query, rows, total) in [
        ("currency=USD&limit=20", 3, 3),
        ("currency=USD&limit=2", 2, 3),
        ("currency=USD&limit=2&page=2", 1, 3),
        ("currency=USD&limit=2&page=5", 0, 3),
        ("currency=EUR&limit=20", 0, 0),
    ] {
        let reply = app
            .get(
                &format!("/api/marketplace/browse?{query}"),
                &provider.auth(),
            )
            .await
            .expect(200);
        assert_eq!(
            reply.body["data"].as_array().expect("data").len(),
            rows,
            "{query}: {}",
            reply.text
        );
        assert_eq!(reply.body["total"], total, "{query}: {}", reply.text);
        assert_eq!(reply.body["totalIsExact"], true, "{query}");
    }
}
