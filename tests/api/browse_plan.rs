//! The browse queries stay index-driven at catalogue scale: a test of the query PLAN that
//! `marketplace::repo` builds (the exact SQL that serves requests), never of timing.

use crate::helpers::*;
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::marketplace::repo::{Filter, Position, Sort, explain_browse};
use clawrent_api::money::parse_price;
use serde_json::Value;
use std::time::Instant;

/// Listings seeded into the default tenant.
const LISTINGS: i64 = 200_000;
const DEFAULT_TENANT: &str = "00000000-0000-7000-8000-000000000001";
const SEED_PROVIDER: &str = "00000000-0000-7000-8000-0000000b0001";

/// One provider, `n` agents and their listings in the default tenant, with varied names,
/// categories, prices, currencies, publication times (two per minute: ties for the keyset),
/// popularity and ratings; `search_vector` is computed as the listing upsert computes it. The
/// listings' secondary indexes are dropped for the bulk insert and rebuilt from their own
/// definitions (`pg_indexes`): several seconds faster than maintaining eight indexes per row.
/// The foreign keys hold by construction, so their per-row triggers are skipped while loading.
fn seed_sql(n: i64) -> Vec<String> {
    vec![
        format!(
            "INSERT INTO users (id, tenant_id, email, name, password_hash, created_at, updated_at)
             VALUES ('{SEED_PROVIDER}', '{DEFAULT_TENANT}', 'seed-provider@example.com', 'Seed Provider',
                     'not-a-hash', now(), now())"
        ),
        // The ids are consistent by construction; skipping the per-row foreign-key triggers
        // saves seconds.
        "SET session_replication_role = replica".to_owned(),
        format!(
            "INSERT INTO agents (id, tenant_id, owner_id, name, slug, description, created_at, updated_at)
             SELECT md5('agent' || i)::uuid, '{DEFAULT_TENANT}', '{SEED_PROVIDER}', 'Seeded ' || i, 'seed-' || i,
                    'Seeded agent for plan tests', now(), now()
             FROM generate_series(1, {n}) i"
        ),
        "CREATE TEMP TABLE seed_index_defs AS
         SELECT indexname, indexdef FROM pg_indexes
         WHERE schemaname = 'public' AND tablename = 'listings'
           AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            .to_owned(),
        "DO $$ DECLARE r record; BEGIN
           FOR r IN SELECT indexname FROM seed_index_defs LOOP EXECUTE 'DROP INDEX ' || quote_ident(r.indexname); END LOOP;
         END $$"
            .to_owned(),
        format!(
            "INSERT INTO listings (agent_id, tenant_id, slug, name, description, capabilities, categories, pricing_model,
                 price_amount, currency, approval_mode, transparency_level, hosting_type, online_status, provider_name,
                 total_sessions, completed_sessions, rating_sum, rating_count, published_at, search_vector)
             SELECT md5('agent' || i)::uuid, '{DEFAULT_TENANT}', 'seed-' || i, name,
                    'Seeded agent number ' || i || ' for plan tests',
                    jsonb_build_array(jsonb_build_object('category', cat, 'name', 'Skill ' || cat, 'description', '',
                                                         'tags', '[]'::jsonb)),
                    ARRAY[cat], (ARRAY['per_session', 'per_minute', 'per_token', 'fixed']::pricing_model[])[1 + i % 4],
                    ((i::bigint * 7919) % 100000) / 100.0, CASE WHEN i % 5 = 0 THEN 'USD' ELSE 'CNY' END,
                    'manual', 'moderate', 'self_hosted',
                    (CASE WHEN i % 100 = 0 THEN 'online' ELSE 'offline' END)::online_status,
                    'Seed Provider', (i::bigint * 31) % 5000, 0, (i % 50) * (1 + i % 5), i % 50,
                    timestamptz '2026-01-01' + (i / 2) * interval '1 minute',
                    setweight(to_tsvector('simple', name || ' seed ' || i), 'A')
                    || setweight(to_tsvector('simple', 'Seeded agent number ' || i || ' for plan tests'), 'B')
                    || setweight(to_tsvector('simple', cat || ' Skill ' || cat), 'C')
             FROM (SELECT i,
                     (ARRAY['Swift', 'Clever', 'Quiet', 'Bold', 'Bright', 'Calm', 'Eager', 'Gentle', 'Lucky',
                            'Noble'])[1 + i % 10]
                     || ' ' || (ARRAY['Translator', 'Coder', 'Writer', 'Analyst', 'Designer', 'Helper', 'Researcher',
                                      'Tutor', 'Planner', 'Editor', 'Reviewer', 'Scout', 'Mentor', 'Pilot', 'Scribe',
                                      'Curator', 'Builder', 'Solver', 'Keeper', 'Ranger'])[1 + (i / 10) % 20]
                     || CASE WHEN i % 997 = 0 THEN ' Quantum' ELSE '' END || ' ' || i AS name,
                     (ARRAY['coding', 'writing', 'translation', 'research', 'design', 'data', 'support',
                            'legal'])[1 + i % 8] AS cat
                   FROM generate_series(1, {n}) i) s"
        ),
        "SET session_replication_role = DEFAULT".to_owned(),
        "SET maintenance_work_mem = '256MB'".to_owned(),
        "DO $$ DECLARE r record; BEGIN
           FOR r IN SELECT indexdef FROM seed_index_defs LOOP EXECUTE r.indexdef; END LOOP;
         END $$"
            .to_owned(),
        "DROP TABLE seed_index_defs".to_owned(),
        "RESET maintenance_work_mem".to_owned(),
        format!(
            "INSERT INTO listing_counts (tenant_id, listed) VALUES ('{DEFAULT_TENANT}', {n})
             ON CONFLICT (tenant_id) DO UPDATE SET listed = listing_counts.listed + EXCLUDED.listed"
        ),
        "ANALYZE listings".to_owned(),
    ]
}

/// Seeds `n` listings into the app's database; returns the seconds it took.
async fn seed(app: &TestApp, n: i64) -> f64 {
    let started = Instant::now();
    let mut conn = app.db.acquire().await.expect("a connection");
    let count_indexes = "SELECT count(*) FROM pg_indexes WHERE tablename = 'listings'";
    let before: i64 = sqlx::query_scalar(count_indexes)
        .fetch_one(&mut *conn)
        .await
        .expect("count indexes");
    for statement in seed_sql(n) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.clone()))
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("seed statement failed: {e}\n{statement}"));
    }
    let after: i64 = sqlx::query_scalar(count_indexes)
        .fetch_one(&mut *conn)
        .await
        .expect("count indexes");
    assert_eq!(after, before, "every listings index is back after the seed");
    let orphans: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM listings l LEFT JOIN agents a ON a.tenant_id = l.tenant_id AND a.id = l.agent_id
         WHERE a.id IS NULL",
    )
    .fetch_one(&mut *conn)
    .await
    .expect("count orphans");
    assert_eq!(orphans, 0, "every seeded listing has its agent");
    started.elapsed().as_secs_f64()
}

fn tenant() -> uuid::Uuid {
    DEFAULT_TENANT.parse().expect("tenant id")
}

/// Every plan node, depth first.
fn nodes(plan: &Value) -> Vec<&Value> {
    let mut out = vec![plan];
    for child in plan["Plans"].as_array().into_iter().flatten() {
        out.extend(nodes(child));
    }
    out
}

fn root(explained: &Value) -> &Value {
    &explained[0]["Plan"]
}

/// `Node Type` (and the index or relation) of each node, for the report.
fn describe(explained: &Value) -> String {
    nodes(root(explained))
        .iter()
        .map(|n| {
            let kind = n["Node Type"].as_str().unwrap_or("?");
            match (n["Index Name"].as_str(), n["Relation Name"].as_str()) {
                (Some(index), _) => format!("{kind}({index})"),
                (None, Some(relation)) => format!("{kind}[{relation}]"),
                _ => kind.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" > ")
}

fn seq_scans_on_listings(explained: &Value) -> usize {
    nodes(root(explained))
        .iter()
        .filter(|n| n["Node Type"] == "Seq Scan" && n["Relation Name"] == "listings")
        .count()
}

/// A `Limit` that skips rows starts later than its input: an OFFSET costs the skipped rows
/// before the first row comes out. Without one the startup costs are equal.
fn skips_rows(explained: &Value) -> bool {
    nodes(root(explained)).iter().any(|n| {
        n["Node Type"] == "Limit"
            && n["Plans"][0]["Startup Cost"]
                .as_f64()
                .zip(n["Startup Cost"].as_f64())
                .is_some_and(|(input, limit)| limit > input + 0.01)
    })
}

async fn explain(
    app: &TestApp,
    filter: &Filter,
    sort: Sort,
    position: &Position,
    limit: i64,
) -> Value {
    let mut conn = app.db.acquire().await.expect("a connection");
    explain_browse(&mut conn, tenant(), filter, sort, position, limit)
        .await
        .expect("EXPLAIN the browse query")
}

fn search(text: &str) -> Filter {
    Filter {
        search: Some(text.to_owned()),
        ..Filter::default()
    }
}

/// A (key, id) from the middle of the data in the sort's order, as the cursor would carry it.
async fn middle_key(app: &TestApp, sort: Sort) -> (String, uuid::Uuid) {
    let sql = match sort {
        Sort::Newest => {
            "SELECT published_at::text, agent_id FROM listings
             ORDER BY published_at DESC, agent_id DESC OFFSET 100000 LIMIT 1"
        }
        Sort::PriceAsc | Sort::PriceDesc => {
            "SELECT price_amount::text, agent_id FROM listings ORDER BY price_amount, agent_id OFFSET 100000 LIMIT 1"
        }
        Sort::Popularity | Sort::Relevance => {
            "SELECT total_sessions::text, agent_id FROM listings
             ORDER BY total_sessions DESC, agent_id DESC OFFSET 100000 LIMIT 1"
        }
        Sort::Rating => {
            "SELECT avg_rating::text, agent_id FROM listings ORDER BY avg_rating DESC, agent_id DESC OFFSET 100000 LIMIT 1"
        }
    };
    sqlx::query_as(sql)
        .fetch_one(&app.db)
        .await
        .expect("a key from the middle")
}

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

/// Relevance pages go by offset; following `nextCursor` past the offset cap must not serve the
/// same page forever.
#[tokio::test]
async fn walking_a_broad_relevance_search_covers_the_ranked_window_once() {
    // Arrange: every seeded listing matches "seeded", far more than the ranked window.
    let app = spawn_app().await;
    seed(&app, 10_500).await;
    let viewer = app.signup().await;
    let window = clawrent_api::marketplace::repo::RELEVANCE_WINDOW as usize;

    // Act: walk the relevance order by cursor, 100 at a time.
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/api/marketplace/browse?search=seeded&limit=100".to_owned();
    let mut pages = 0;
    loop {
        let page = app.get(&path, &viewer.auth()).await.expect(200).body;
        let page_ids = ids(&page);
        assert!(
            page_ids.iter().all(|id| !seen.contains(id)),
            "page {pages} repeats rows"
        );
        seen.extend(page_ids);
        pages += 1;
        assert!(pages <= window / 100 + 1, "the walk does not end");
        match page["nextCursor"].as_str() {
            Some(next) => {
                path = format!("/api/marketplace/browse?search=seeded&limit=100&cursor={next}")
            }
            None => break,
        }
    }

    // Assert: exactly the window, each row once; a page number past it is empty and final.
    assert_eq!(seen.len(), window);
    let past = app
        .get(
            "/api/marketplace/browse?search=seeded&page=11&limit=100",
            &viewer.auth(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(ids(&past).len(), 0);
    assert!(past["nextCursor"].is_null());
}
