//! Browse sorting: each sort key, and relevance as the default order of a search.

use super::support::{listed, set_stats, usd};
use crate::helpers::*;
use serde_json::json;

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
