//! Favourites: adding and removing idempotently, the list newest first, unavailable agents,
//! malformed ids, isolation between users, authentication and paging.

use super::support::{FAVORITES, assert_public_item, hidden_agents, listed, usd};
use crate::helpers::*;
use serde_json::{Value, json};

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
