//! Browse paging: cursor walks over every sort, filtered and searched, page-and-limit paging,
//! cursors continuing from numbered pages, and exact totals on short pages.

use super::support::{draft, listed, set_stats, usd, walk};
use crate::helpers::*;
use serde_json::json;
use std::cmp::Ordering;
use std::collections::HashSet;

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
