//! The bulk seed of the plan tests: one provider and `n` listed agents in the default tenant.

use crate::helpers::TestApp;
use std::time::Instant;

/// Listings seeded into the default tenant.
pub const LISTINGS: i64 = 200_000;
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
pub async fn seed(app: &TestApp, n: i64) -> f64 {
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

pub fn tenant() -> clawrent_api::ids::TenantId {
    DEFAULT_TENANT.parse().expect("tenant id")
}
