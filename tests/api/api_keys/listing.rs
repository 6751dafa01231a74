//! Listing keys: only the caller's live keys, without secrets, newest first, page by page.

use super::support::{KEYS, create_key, registration_key_id};
use crate::helpers::*;

#[tokio::test]
async fn listing_keys_shows_only_the_callers_live_keys_without_secrets() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let other = app.signup().await;
    let registration = registration_key_id(&app, &user).await;
    let (ci, ci_key) = create_key(&app, &user, "ci").await;

    // Act
    let mine = app.get(KEYS, &user.auth()).await.expect(200);
    let theirs = app.get(KEYS, &other.auth()).await.expect(200);

    // Assert
    assert_eq!(
        ids(&mine.body),
        vec![ci.clone(), registration.clone()],
        "newest first"
    );
    assert_eq!(mine.body["total"], 2);
    assert_eq!(
        (mine.body["page"].as_u64(), mine.body["limit"].as_u64()),
        (Some(1), Some(20))
    );
    let entries = mine.body["data"].as_array().expect("data");
    assert_eq!(entries[0]["name"], "ci");
    assert_eq!(entries[0]["prefix"], &ci_key[..12]);
    assert_eq!(entries[1]["name"], "default");
    assert_eq!(entries[1]["prefix"], &user.api_key[..12]);
    for entry in entries {
        assert!(
            entry.get("key").is_none(),
            "no full key in the list: {entry}"
        );
        for value in entry.as_object().expect("object").values() {
            assert_ne!(value.as_str(), Some(ci_key.as_str()));
            assert_ne!(value.as_str(), Some(user.api_key.as_str()));
        }
    }
    assert!(
        !mine.text.contains(&ci_key) && !mine.text.contains(&user.api_key),
        "no secret anywhere in the list"
    );
    assert_eq!(theirs.body["total"], 1, "{}", theirs.text);
    let their_ids = ids(&theirs.body);
    assert!(
        !their_ids.contains(&ci) && !their_ids.contains(&registration),
        "another user's list has none of mine"
    );
}

#[tokio::test]
async fn listing_keys_pages_through_them() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let registration = registration_key_id(&app, &user).await;
    let (second, _) = create_key(&app, &user, "second").await;
    let (third, _) = create_key(&app, &user, "third").await;

    // Act
    let page1 = app
        .get(&format!("{KEYS}?limit=2"), &user.auth())
        .await
        .expect(200)
        .body;
    let page2 = app
        .get(&format!("{KEYS}?limit=2&page=2"), &user.auth())
        .await
        .expect(200)
        .body;
    let page3 = app
        .get(&format!("{KEYS}?limit=2&page=3"), &user.auth())
        .await
        .expect(200)
        .body;

    // Assert
    assert_eq!(ids(&page1), vec![third, second]);
    assert_eq!(ids(&page2), vec![registration]);
    assert_eq!(ids(&page3), Vec::<String>::new());
    for page in [&page1, &page2, &page3] {
        assert_eq!(page["total"], 3);
        assert_eq!(page["limit"], 2);
    }
    assert_eq!(
        (
            page1["page"].as_u64(),
            page2["page"].as_u64(),
            page3["page"].as_u64()
        ),
        (Some(1), Some(2), Some(3))
    );
}
