//! Cursors that do not belong to the query: another query, another tenant, or tampered bytes.

use super::support::{listed, usd};
use crate::edge::support::{base64url_decode, base64url_encode};
use crate::helpers::*;
use serde_json::{Value, json};

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
