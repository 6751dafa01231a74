//! Browse filters: each filter with its exact total, typo-tolerant and odd searches, the online
//! filter, invalid parameters and the largest valid ones, authentication.

use super::support::{Query, listed, set, set_of, usd};
use crate::helpers::*;
use serde_json::json;

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
