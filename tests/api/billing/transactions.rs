//! `GET /api/billing/wallet/transactions`: every movement newest first with a fixed shape (top-
//! ups, payments, refunds and income), the currency filter, the page and the cursor (a walk that
//! neither repeats nor skips while money moves, and a cursor only valid for its own user and
//! filter), and the queries it refuses.

use super::support::{
    Deal, TRANSACTIONS, amounts, assert_invalid_field, items, keys, movement, movements,
    per_session, public_ids, usage,
};
use crate::helpers::*;
use clawrent_api::agents::domain::PricingModel;
use serde_json::{Value, json};

/// The transactions page that `query` selects, as `auth` sees it.
async fn list(app: &TestApp, auth: &Auth, query: &str) -> Reply {
    app.get(&format!("{TRANSACTIONS}?{query}"), auth).await
}

fn next_cursor(reply: &Reply) -> String {
    reply.body["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_owned()
}

#[tokio::test]
async fn transactions_list_every_movement_newest_first_with_a_fixed_shape() {
    // Arrange: the user tops up three times, pays for a session and earns from another.
    let app = spawn_app().await;
    let user = app.signup().await;
    let provider = app.signup().await;
    let consumer = app.signup().await;
    let first = app.topup(&user.auth(), "10.00").await.expect(200);
    let second = app.topup(&user.auth(), "20.00").await.expect(200);
    let dollars = app.topup_in(&user.auth(), "7.25", "USD").await.expect(200);
    app.topup(&consumer.auth(), "50.00").await.expect(200);
    let paid = per_session(&app, &user, &provider, "5.00", "CNY").await;
    let earned = per_session(&app, &consumer, &user, "2.00", "CNY").await;

    // Act
    let reply = app.get(TRANSACTIONS, &user.auth()).await;

    // Assert
    let reply = reply.expect(200);
    let expected_keys = [
        "amount",
        "balanceAfter",
        "createdAt",
        "currency",
        "id",
        "referenceId",
        "transactionId",
        "type",
    ];
    for item in items(&reply) {
        assert_eq!(keys(item), expected_keys, "{item}");
    }
    assert_eq!(
        movements(&reply),
        [
            movement("income", "1.70", "CNY", "26.70"),
            movement("payment", "-5.00", "CNY", "25.00"),
            movement("topup", "7.25", "USD", "7.25"),
            movement("topup", "20.00", "CNY", "30.00"),
            movement("topup", "10.00", "CNY", "10.00"),
        ]
    );
    let ids = public_ids(&reply);
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "ids are unique: {ids:?}");
    let times: Vec<&str> = items(&reply)
        .iter()
        .map(|t| t["createdAt"].as_str().expect("createdAt"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let data = items(&reply);
    assert_eq!(data[0]["referenceId"], earned.to_string());
    assert_eq!(data[1]["referenceId"], paid.to_string());
    for (item, topup) in data[2..].iter().zip([&dollars, &second, &first]) {
        assert_eq!(item["transactionId"], topup.body["transactionId"]);
        assert_eq!(
            item["referenceId"], topup.body["transactionId"],
            "a top-up refers to itself"
        );
    }
    assert_eq!(reply.body["total"], 5);
    assert_eq!(reply.body["page"], 1);
    assert_eq!(reply.body["limit"], 20);
    assert!(reply.body.get("nextCursor").is_none(), "{}", reply.text);
}

#[tokio::test]
async fn transactions_filter_by_currency_and_count_only_that_currency() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    app.topup(&user.auth(), "10.00").await.expect(200);
    app.topup_in(&user.auth(), "3.00", "USD").await.expect(200);
    app.topup(&user.auth(), "11.00").await.expect(200);

    // Act
    let usd = list(&app, &user.auth(), "currency=USD").await;
    let cny = list(&app, &user.auth(), "currency=CNY").await;
    let eur = list(&app, &user.auth(), "currency=EUR").await;

    // Assert
    let usd = usd.expect(200);
    assert_eq!(movements(&usd), [movement("topup", "3.00", "USD", "3.00")]);
    assert_eq!(usd.body["total"], 1);
    let cny = cny.expect(200);
    assert_eq!(amounts(&cny), ["11.00", "10.00"]);
    assert_eq!(cny.body["total"], 2);
    eur.expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn following_next_cursor_walks_every_transaction_exactly_once_in_order() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    for amount in ["1.00", "2.00", "3.00", "4.00", "5.00"] {
        app.topup(&user.auth(), amount).await.expect(200);
    }
    let everything = app.get(TRANSACTIONS, &user.auth()).await.expect(200);
    let all_ids = public_ids(&everything);
    assert_eq!(all_ids.len(), 5);

    // Act
    let mut pages = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page = list(&app, &user.auth(), &query).await.expect(200);
        let next = page.body.get("nextCursor").cloned();
        pages.push(page);
        let Some(cursor) = next else { break };
        let cursor = cursor.as_str().expect("a string cursor").to_owned();
        query = format!("limit=2&cursor={cursor}");
        assert!(pages.len() < 10, "the walk ends");
    }
    let second_by_page = list(&app, &user.auth(), "page=2&limit=2").await.expect(200);

    // Assert
    let sizes: Vec<usize> = pages.iter().map(|p| items(p).len()).collect();
    assert_eq!(sizes, [2, 2, 1]);
    let walked: Vec<String> = pages.iter().flat_map(public_ids).collect();
    assert_eq!(walked, all_ids, "every transaction once, newest first");
    let walked_amounts: Vec<String> = pages.iter().flat_map(amounts).collect();
    assert_eq!(walked_amounts, ["5.00", "4.00", "3.00", "2.00", "1.00"]);
    for page in &pages {
        assert_eq!(page.body["total"], 5, "the total is the whole list");
    }
    assert!(
        pages[2].body.get("nextCursor").is_none(),
        "the last page has no nextCursor key: {}",
        pages[2].text
    );
    assert_eq!(
        second_by_page.body["data"], pages[1].body["data"],
        "page=2 is the cursor's second page"
    );
}

#[tokio::test]
async fn a_cursor_walk_neither_repeats_nor_skips_when_money_moves_between_pages() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    for amount in ["1.00", "2.00", "3.00", "4.00"] {
        app.topup(&user.auth(), amount).await.expect(200);
    }
    let first = list(&app, &user.auth(), "limit=2").await.expect(200);
    let cursor = next_cursor(&first);

    // Act: a new top-up lands before the client asks for the next page.
    app.topup(&user.auth(), "9.00").await.expect(200);
    let second = list(&app, &user.auth(), &format!("limit=2&cursor={cursor}")).await;

    // Assert
    let second = second.expect(200);
    assert_eq!(amounts(&first), ["4.00", "3.00"]);
    assert_eq!(
        amounts(&second),
        ["2.00", "1.00"],
        "the page after the cursor is where the client left off"
    );
    assert_eq!(second.body["total"], 5, "the total counts the new top-up");
    assert!(second.body.get("nextCursor").is_none());
}

#[tokio::test]
async fn a_session_shows_its_payment_and_the_refund_of_what_it_did_not_use() {
    // Arrange
    let app = spawn_app().await;
    let consumer = app.signup().await;
    let provider = app.signup().await;
    app.topup(&consumer.auth(), "10.00").await.expect(200);
    let tenant = app.tenant_row("default").await;
    let deal = Deal::new(&app, &tenant, &consumer, &provider);
    let used = deal
        .settled(PricingModel::PerMinute, "0.10", "CNY", usage(90, 0))
        .await;
    let voided = deal.voided(PricingModel::PerSession, "2.00", "CNY").await;

    // Act
    let reply = app.get(TRANSACTIONS, &consumer.auth()).await;

    // Assert
    let reply = reply.expect(200);
    assert_eq!(
        movements(&reply),
        [
            movement("refund", "2.00", "CNY", "9.80"),
            movement("payment", "-2.00", "CNY", "7.80"),
            movement("refund", "5.80", "CNY", "9.80"),
            movement("payment", "-6.00", "CNY", "4.00"),
            movement("topup", "10.00", "CNY", "10.00"),
        ],
        "a 60-minute hold of 6.00, 2 minutes used; a 2.00 hold voided"
    );
    let references: Vec<&Value> = items(&reply)[..4]
        .iter()
        .map(|t| &t["referenceId"])
        .collect();
    let (voided, used) = (json!(voided.to_string()), json!(used.to_string()));
    assert_eq!(references, [&voided, &voided, &used, &used]);
    assert_eq!(reply.body["total"], 5);
    let earned = app.get(TRANSACTIONS, &provider.auth()).await.expect(200);
    assert_eq!(
        movements(&earned),
        [movement("income", "0.17", "CNY", "0.17")]
    );
}

#[tokio::test]
async fn a_cursor_is_only_valid_for_its_own_user_and_filter() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let other = app.signup().await;
    for amount in ["1.00", "2.00", "3.00"] {
        app.topup(&owner.auth(), amount).await.expect(200);
        app.topup(&other.auth(), amount).await.expect(200);
    }
    let unfiltered = next_cursor(&list(&app, &owner.auth(), "limit=1").await.expect(200));
    let in_cny = next_cursor(
        &list(&app, &owner.auth(), "limit=1&currency=CNY")
            .await
            .expect(200),
    );
    let truncated = unfiltered[..unfiltered.len() - 4].to_owned();
    let cases = [
        (
            owner.auth(),
            "cursor=not-a-cursor".to_owned(),
            "a garbage cursor",
        ),
        (
            owner.auth(),
            format!("cursor={truncated}"),
            "a truncated cursor",
        ),
        (
            other.auth(),
            format!("cursor={unfiltered}"),
            "another user's cursor",
        ),
        (
            owner.auth(),
            format!("cursor={unfiltered}&currency=CNY"),
            "an unfiltered cursor with a currency filter",
        ),
        (
            owner.auth(),
            format!("cursor={in_cny}&currency=USD"),
            "a CNY cursor with another currency",
        ),
        (
            owner.auth(),
            format!("cursor={in_cny}"),
            "a CNY cursor without the filter",
        ),
    ];

    for (auth, query, why) in cases {
        // Act
        let reply = list(&app, &auth, &query).await;

        // Assert
        assert_invalid_field(&reply, "cursor: ", why);
    }
    // The cursors themselves work where they belong.
    list(&app, &owner.auth(), &format!("cursor={unfiltered}"))
        .await
        .expect(200);
    list(
        &app,
        &owner.auth(),
        &format!("cursor={in_cny}&currency=CNY"),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn transaction_ids_reveal_neither_posting_numbers_nor_order() {
    // Arrange: postings are numbered by one sequence shared by every tenant; a user who saw
    // those numbers could tell the platform's volume between two of their own top-ups.
    let app = spawn_app().await;
    let user = app.signup().await;
    let foreign_slug = app.create_tenant("ids").await;
    let foreign = app.signup_in(Some(&foreign_slug)).await;
    for cents in 1..=12 {
        let amount = format!("{cents}.00");
        app.topup(&user.auth(), &amount).await.expect(200);
        app.topup(&foreign.auth(), &amount).await.expect(200);
    }

    // Act
    let mine = app.get(TRANSACTIONS, &user.auth()).await.expect(200);
    let theirs = app.get(TRANSACTIONS, &foreign.auth()).await.expect(200);

    // Assert
    let shown = public_ids(&mine);
    let posted: Vec<i64> = sqlx::query_scalar(
        "SELECT p.id FROM ledger_postings p WHERE p.user_id = $1::uuid ORDER BY p.id DESC",
    )
    .bind(&user.id)
    .fetch_all(&app.db)
    .await
    .expect("postings");
    assert_eq!(shown.len(), posted.len());
    for (public, private) in shown.iter().zip(&posted) {
        assert_ne!(public, &private.to_string(), "the posting number is hidden");
        let gap = public
            .parse::<u64>()
            .expect("u64")
            .abs_diff(*private as u64);
        assert!(
            gap > 1_000_000,
            "not a small offset of the posting number: {public} vs {private}"
        );
    }
    let numbers: Vec<u64> = shown.iter().map(|id| id.parse().expect("u64")).collect();
    let descending = numbers.windows(2).all(|w| w[0] > w[1]);
    let ascending = numbers.windows(2).all(|w| w[0] < w[1]);
    assert!(
        !descending && !ascending,
        "twelve ids in a row are not ordered like their postings (odds 2/12!): {numbers:?}"
    );
    let foreign_ids = public_ids(&theirs);
    assert!(
        shown.iter().all(|id| !foreign_ids.contains(id)),
        "two tenants never share an id"
    );
}

#[tokio::test]
async fn transactions_refuse_an_invalid_page_or_limit() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let cases = [
        ("limit=0", "limit: ", "a zero limit"),
        ("limit=101", "limit: ", "a limit above 100"),
        ("limit=ten", "limit: ", "a limit that is not a number"),
        ("page=0", "page: ", "page zero"),
        ("page=-1", "page: ", "a negative page"),
        ("page=502&limit=20", "page: ", "a page past offset 10000"),
    ];

    for (query, prefix, why) in cases {
        // Act
        let reply = list(&app, &user.auth(), query).await;

        // Assert
        assert_invalid_field(&reply, prefix, why);
    }
}
