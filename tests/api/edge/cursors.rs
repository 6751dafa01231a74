//! Browse cursors are sealed by the server (base64url of JSON followed by a 16-byte HMAC tag):
//! an edited payload, with or without the tag, and a cursor issued to another user or for another
//! query are 400 with `details.field == "cursor"`; an untouched cursor still pages correctly.

use super::support::{assert_envelope, base64url_decode, base64url_encode};
use crate::helpers::*;
use serde_json::{Value, json};

const TAG_LEN: usize = 16;

/// The cursor's JSON payload and its tag.
fn open(cursor: &str) -> (Value, Vec<u8>) {
    let bytes = base64url_decode(cursor);
    let (json_part, tag) = bytes.split_at(bytes.len() - TAG_LEN);
    let payload = serde_json::from_slice(json_part).expect("the payload is JSON");
    (payload, tag.to_vec())
}

/// A cursor made of `payload` followed by `tag` (empty: no tag).
fn forge(payload: &Value, tag: &[u8]) -> String {
    let mut bytes = serde_json::to_vec(payload).expect("json");
    bytes.extend_from_slice(tag);
    base64url_encode(&bytes)
}

/// Three listed agents in the default tenant, and two viewers of that tenant.
async fn catalogue(app: &TestApp) -> (TestUser, TestUser) {
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    for price in ["1.00", "2.00", "3.00"] {
        let slug = unique_slug("paged");
        app.listed_agent_with(&provider, &admin, &slug, json!({ "priceAmount": price }))
            .await;
    }
    (app.signup().await, app.signup().await)
}

/// A case: its name, who presents the cursor, the query and the cursor.
type CursorCase<'a> = (&'a str, &'a TestUser, &'a [(&'a str, &'a str)], String);

#[tokio::test]
async fn an_edited_or_foreign_cursor_is_a_400_naming_the_cursor() {
    // Arrange: a keyset cursor (newest), an offset cursor (relevance search), and a second viewer
    let app = spawn_app().await;
    let (viewer, other) = catalogue(&app).await;
    let newest = [("sort", "newest"), ("limit", "1")];
    let search = [("search", "Agent"), ("limit", "1")];
    let keyset = browse(&app, &viewer.auth(), &newest).await["nextCursor"]
        .as_str()
        .expect("a keyset cursor")
        .to_owned();
    let offset = browse(&app, &viewer.auth(), &search).await["nextCursor"]
        .as_str()
        .expect("an offset cursor")
        .to_owned();
    let (k_payload, k_tag) = open(&keyset);
    let (o_payload, o_tag) = open(&offset);
    assert!(k_payload["k"].is_array(), "a keyset cursor: {k_payload}");
    assert!(o_payload["o"].is_i64(), "an offset cursor: {o_payload}");
    let edited = |payload: &Value, pointer: &str, value: Value| {
        let mut payload = payload.clone();
        *payload.pointer_mut(pointer).expect("field") = value;
        payload
    };
    let far_past = edited(&k_payload, "/k/0", json!("0000-01-01T00:00:00Z"));
    let plausible = edited(&k_payload, "/k/0", json!("2020-01-01T00:00:00Z"));
    let other_id = edited(&k_payload, "/k/1", json!(uuid::Uuid::now_v7()));
    let other_user = edited(&k_payload, "/u", json!(other.id));
    let further = edited(
        &o_payload,
        "/o",
        json!(o_payload["o"].as_i64().expect("o") + 1),
    );
    let negative = edited(&o_payload, "/o", json!(-1));
    let mut flipped = k_tag.clone();
    flipped[0] ^= 1;
    let other_cursor = browse(&app, &other.auth(), &newest).await["nextCursor"]
        .as_str()
        .expect("the other viewer's cursor")
        .to_owned();
    let cases: Vec<CursorCase> = vec![
        (
            "key set to year 0, tag kept",
            &viewer,
            &newest,
            forge(&far_past, &k_tag),
        ),
        (
            "key set to year 0, tag dropped",
            &viewer,
            &newest,
            forge(&far_past, &[]),
        ),
        (
            "key set to 2020, tag kept",
            &viewer,
            &newest,
            forge(&plausible, &k_tag),
        ),
        (
            "id changed, tag kept",
            &viewer,
            &newest,
            forge(&other_id, &k_tag),
        ),
        (
            "user changed to another's, tag kept",
            &other,
            &newest,
            forge(&other_user, &k_tag),
        ),
        (
            "payload untouched, tag dropped",
            &viewer,
            &newest,
            forge(&k_payload, &[]),
        ),
        (
            "payload untouched, tag bit flipped",
            &viewer,
            &newest,
            forge(&k_payload, &flipped),
        ),
        (
            "offset + 1, tag kept",
            &viewer,
            &search,
            forge(&further, &o_tag),
        ),
        (
            "offset + 1, tag dropped",
            &viewer,
            &search,
            forge(&further, &[]),
        ),
        (
            "offset -1, tag kept",
            &viewer,
            &search,
            forge(&negative, &o_tag),
        ),
        ("another viewer's cursor", &viewer, &newest, other_cursor),
        (
            "my cursor, presented by another viewer",
            &other,
            &newest,
            keyset.clone(),
        ),
        (
            "my cursor, for another sort",
            &viewer,
            &[("sort", "price_asc"), ("limit", "1")],
            keyset.clone(),
        ),
        (
            "my offset cursor, for another search",
            &viewer,
            &[("search", "Other"), ("limit", "1")],
            offset.clone(),
        ),
    ];

    // Act
    let mut answers = Vec::new();
    for (_, user, pairs, cursor) in &cases {
        let mut pairs = pairs.to_vec();
        pairs.push(("cursor", cursor));
        answers.push(app.get(&browse_path(&pairs), &user.auth()).await);
    }

    // Assert
    for ((case, ..), reply) in cases.iter().zip(&answers) {
        assert_envelope(reply, 400, "VALIDATION_ERROR", case);
        assert_eq!(
            reply.body["details"]["field"], "cursor",
            "{case}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn an_untouched_cursor_pages_through_each_agent_once_in_order() {
    // Arrange
    let app = spawn_app().await;
    let (viewer, _) = catalogue(&app).await;
    for (sort, extra) in [
        ("price_asc", None),
        ("newest", None),
        ("relevance", Some("Agent")),
    ] {
        let mut base = vec![("sort", sort)];
        if let Some(search) = extra {
            base.push(("search", search));
        }
        let mut whole = base.clone();
        whole.push(("limit", "3"));
        let expected = ids(&browse(&app, &viewer.auth(), &whole).await);

        // Act: follow nextCursor one agent at a time
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..5 {
            let mut pairs = base.clone();
            pairs.push(("limit", "1"));
            if let Some(cursor) = &cursor {
                pairs.push(("cursor", cursor));
            }
            let body = browse(&app, &viewer.auth(), &pairs).await;
            walked.extend(ids(&body));
            cursor = body["nextCursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }

        // Assert
        assert_eq!(expected.len(), 3, "{sort}: the catalogue has three agents");
        assert_eq!(walked, expected, "{sort}: the walk matches the single page");
    }
}
