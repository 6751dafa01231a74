//! Two hundred thousand listings: every browse plan stays on an index, keyset pages seek to the
//! cursor, and through HTTP the totals are exact or windowed as documented.

use super::explain::{
    describe, explain, middle_key, nodes, root, search, seq_scans_on_listings, skips_rows,
};
use super::seed::{LISTINGS, seed};
use crate::helpers::*;
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::marketplace::repo::{Filter, Position, Sort};
use clawrent_api::money::parse_price;

/// One test, one seed: the plans, then the same catalogue through HTTP.
#[tokio::test]
async fn browse_stays_index_driven_at_two_hundred_thousand_listings() {
    // Arrange
    let app = spawn_app().await;
    let seconds = seed(&app, LISTINGS).await;
    println!("seeded {LISTINGS} listings in {seconds:.1} s");
    let keys_for = [
        Sort::Newest,
        Sort::PriceAsc,
        Sort::PriceDesc,
        Sort::Popularity,
        Sort::Rating,
    ];
    let mut keysets = Vec::new();
    for sort in keys_for {
        let (key, id) = middle_key(&app, sort).await;
        keysets.push((sort, key, id));
    }
    let first = Position::Offset(0);
    let mut cases: Vec<(String, Filter, Sort, Position)> = vec![
        (
            "newest".into(),
            Filter::default(),
            Sort::Newest,
            first.clone(),
        ),
        (
            "price_asc".into(),
            Filter::default(),
            Sort::PriceAsc,
            first.clone(),
        ),
        (
            "price_desc".into(),
            Filter::default(),
            Sort::PriceDesc,
            first.clone(),
        ),
        (
            "popularity".into(),
            Filter::default(),
            Sort::Popularity,
            first.clone(),
        ),
        (
            "rating".into(),
            Filter::default(),
            Sort::Rating,
            first.clone(),
        ),
        (
            "search 'quantum'".into(),
            search("quantum"),
            Sort::Relevance,
            first.clone(),
        ),
        (
            "typo search 'quantom'".into(),
            search("quantom"),
            Sort::Relevance,
            first.clone(),
        ),
        (
            "search 'quantum' newest".into(),
            search("quantum"),
            Sort::Newest,
            first.clone(),
        ),
        (
            "category legal".into(),
            Filter {
                category: Some("legal".into()),
                ..Filter::default()
            },
            Sort::Newest,
            first.clone(),
        ),
        (
            "currency USD, price 100-200".into(),
            Filter {
                currency: Some("USD".into()),
                min_price: parse_price("100").ok(),
                max_price: parse_price("200").ok(),
                ..Filter::default()
            },
            Sort::Newest,
            first.clone(),
        ),
        (
            "currency USD, price 100-200, price_asc".into(),
            Filter {
                currency: Some("USD".into()),
                min_price: parse_price("100").ok(),
                max_price: parse_price("200").ok(),
                ..Filter::default()
            },
            Sort::PriceAsc,
            first.clone(),
        ),
        (
            "per_token".into(),
            Filter {
                pricing_model: Some(PricingModel::PerToken),
                ..Filter::default()
            },
            Sort::Newest,
            first.clone(),
        ),
        (
            "online".into(),
            Filter {
                online: Some(true),
                ..Filter::default()
            },
            Sort::Newest,
            first.clone(),
        ),
    ];
    for (sort, key, id) in &keysets {
        cases.push((
            format!("{sort:?} after the middle"),
            Filter::default(),
            *sort,
            Position::After {
                key: key.clone(),
                id: *id,
            },
        ));
    }
    let (_, key, id) = keysets[0].clone();
    cases.push((
        "online, Newest after the middle".into(),
        Filter {
            online: Some(true),
            ..Filter::default()
        },
        Sort::Newest,
        Position::After { key, id },
    ));

    for (name, filter, sort, position) in &cases {
        // Act
        let plan = explain(&app, filter, *sort, position, 21).await;

        // Assert
        println!("{name}: {}", describe(&plan));
        assert_eq!(
            seq_scans_on_listings(&plan),
            0,
            "{name} scans all listings: {}",
            describe(&plan)
        );
        if let Position::After { .. } = position {
            assert!(
                !skips_rows(&plan),
                "{name}: a keyset page skips rows: {plan}"
            );
            let seeks = nodes(root(&plan))
                .iter()
                .any(|n| n["Index Cond"].as_str().is_some_and(|c| c.contains("ROW(")));
            assert!(
                seeks,
                "{name}: the index seeks to the cursor (ROW(...) in an Index Cond): {plan}"
            );
        }
    }

    // The offset detector itself notices an OFFSET (so the keyset assertion can fail).
    let deep_offset = explain(
        &app,
        &Filter::default(),
        Sort::Newest,
        &Position::Offset(100_000),
        21,
    )
    .await;
    assert!(
        skips_rows(&deep_offset),
        "an OFFSET plan skips rows: {deep_offset}"
    );

    // Through HTTP: the unfiltered total is exact and read from listing_counts.
    let viewer = app.signup().await;
    let whole = app
        .get("/api/marketplace/browse?limit=20", &viewer.auth())
        .await
        .expect(200);
    assert_eq!(whole.body["total"], LISTINGS, "{}", whole.text);
    assert_eq!(whole.body["totalIsExact"], true, "{}", whole.text);
    assert_eq!(ids(&whole.body).len(), 20);

    // A broad search is counted up to the ranked window only.
    let broad = app
        .get("/api/marketplace/browse?search=translator", &viewer.auth())
        .await
        .expect(200);
    let window = clawrent_api::marketplace::repo::RELEVANCE_WINDOW;
    assert_eq!(broad.body["total"], window, "{}", broad.text);
    assert_eq!(broad.body["totalIsExact"], false, "{}", broad.text);
    assert_eq!(ids(&broad.body).len(), 20);
    let narrow = app
        .get("/api/marketplace/browse?search=quantum", &viewer.auth())
        .await
        .expect(200);
    let quantum: i64 =
        sqlx::query_scalar("SELECT count(*) FROM listings WHERE name LIKE '%Quantum%'")
            .fetch_one(&app.db)
            .await
            .expect("count");
    assert_eq!(narrow.body["total"], quantum, "{}", narrow.text);
    assert_eq!(narrow.body["totalIsExact"], true, "{}", narrow.text);

    // Deep in the catalogue: the last numbered page allowed, then three pages by cursor.
    let mut page = app
        .get("/api/marketplace/browse?page=100&limit=100", &viewer.auth())
        .await
        .expect(200)
        .body;
    let mut seen = ids(&page);
    for _ in 0..3 {
        let cursor = page["nextCursor"]
            .as_str()
            .expect("a next cursor")
            .to_owned();
        page = app
            .get(
                &format!("/api/marketplace/browse?limit=100&cursor={cursor}"),
                &viewer.auth(),
            )
            .await
            .expect(200)
            .body;
        assert_eq!(ids(&page).len(), 100);
        seen.extend(ids(&page));
    }
    let expected: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT agent_id FROM listings ORDER BY published_at DESC, agent_id DESC OFFSET 9900 LIMIT 400",
    )
    .fetch_all(&app.db)
    .await
    .expect("the expected rows");
    let expected: Vec<String> = expected.iter().map(uuid::Uuid::to_string).collect();
    assert_eq!(seen, expected, "rows 9900..10300 in newest order");
}
