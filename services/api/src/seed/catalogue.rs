//! Bulk catalogue generation for load and plan checks (`clawrent admin seed-catalogue`):
//! N synthetic providers' agents with active profiles and listings, written set-wise in batches.

use crate::ids::{TenantId, UserId};
use sqlx::PgConnection;

const BATCH: i64 = 50_000;

/// Adds `count` listed agents owned by one synthetic provider of the tenant; returns how many.
pub async fn seed_catalogue(
    conn: &mut PgConnection,
    tenant: TenantId,
    owner: UserId,
    count: i64,
) -> sqlx::Result<i64> {
    // Batches of index maintenance can outlast the service's statement_timeout; this is an
    // operator command on its own connection, so lift it here.
    sqlx::query("SET statement_timeout = 0")
        .execute(&mut *conn)
        .await?;
    let start: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM agents WHERE tenant_id = $1 AND slug LIKE 'bulk-%'",
    )
    .bind(tenant)
    .fetch_one(&mut *conn)
    .await?;
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let (from, to) = (start + done + 1, start + done + n);
        sqlx::query(
            "INSERT INTO agents (id, tenant_id, owner_id, name, slug, description, capabilities, roles, created_at, updated_at)
             SELECT gen_random_uuid(), $1, $2,
                    (ARRAY['Rust','Python','SQL','Kubernetes','Translator','Writer','Research','Design'])[1 + i % 8]
                        || ' ' || (ARRAY['Helper','Expert','Assistant','Pro','Bot'])[1 + i % 5] || ' ' || i,
                    'bulk-' || i,
                    'Synthetic agent number ' || i || ' for catalogue-scale checks of browse and search.',
                    jsonb_build_array(jsonb_build_object('category',
                        (ARRAY['coding','data','devops','language','writing','research'])[1 + i % 6],
                        'name', 'Skill ' || (i % 100), 'description', 'generated', 'tags', jsonb_build_array('tag' || (i % 50)))),
                    'both', now() - (i || ' seconds')::interval, now()
             FROM generate_series($3::bigint, $4::bigint) AS i",
        )
        .bind(tenant)
        .bind(owner)
        .bind(from)
        .bind(to)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO provider_profiles (agent_id, tenant_id, status, pricing_model, price_amount, currency, hosting_type,
                 approval_mode, transparency_level, max_concurrent_sessions, max_consumer_slots, slot_assignment_mode,
                 allow_shared_consumer, submitted_at, total_sessions, completed_sessions, rating_sum, rating_count,
                 created_at, updated_at)
             SELECT a.id, a.tenant_id, 'active',
                    (ARRAY['per_session','per_minute','per_token','fixed'])[1 + (hashtext(a.slug) & 3)]::pricing_model,
                    round(((hashtext(a.slug) & 65535) / 100.0)::numeric, 2),
                    CASE WHEN hashtext(a.slug) & 4 = 0 THEN 'USD' ELSE 'CNY' END,
                    'self_hosted', 'auto', 'moderate', 5, 1, 'auto', false, a.created_at,
                    (hashtext(a.slug || 's') & 1023), 0, (hashtext(a.slug || 'r') & 255), 60, a.created_at, a.created_at
             FROM agents a WHERE a.tenant_id = $1 AND a.slug = ANY(ARRAY(SELECT 'bulk-' || i FROM generate_series($2::bigint, $3::bigint) i))",
        )
        .bind(tenant)
        .bind(from)
        .bind(to)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO listings (agent_id, tenant_id, slug, name, description, capabilities, categories, pricing_model,
                 price_amount, currency, approval_mode, transparency_level, hosting_type, online_status, provider_name,
                 total_sessions, completed_sessions, rating_sum, rating_count, published_at, search_vector)
             SELECT a.id, a.tenant_id, a.slug, a.name, a.description, a.capabilities,
                    ARRAY[a.capabilities->0->>'category'], p.pricing_model, p.price_amount, p.currency, p.approval_mode,
                    p.transparency_level, p.hosting_type,
                    CASE WHEN hashtext(a.slug) & 7 = 0 THEN 'online'::online_status ELSE 'offline' END,
                    'Bulk provider', p.total_sessions, p.completed_sessions, p.rating_sum, p.rating_count, a.created_at,
                    setweight(to_tsvector('simple', a.name || ' ' || replace(a.slug, '-', ' ')), 'A')
                    || setweight(to_tsvector('simple', a.description), 'B')
                    || setweight(to_tsvector('simple', (a.capabilities->0->>'category') || ' ' || (a.capabilities->0->>'name')), 'C')
             FROM agents a JOIN provider_profiles p ON p.agent_id = a.id
             WHERE a.tenant_id = $1 AND a.slug = ANY(ARRAY(SELECT 'bulk-' || i FROM generate_series($2::bigint, $3::bigint) i))",
        )
        .bind(tenant)
        .bind(from)
        .bind(to)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO listing_counts (tenant_id, listed) VALUES ($1, $2)
             ON CONFLICT (tenant_id) DO UPDATE SET listed = listing_counts.listed + EXCLUDED.listed",
        )
        .bind(tenant)
        .bind(n)
        .execute(&mut *conn)
        .await?;
        done += n;
        tracing::info!(done, count, "catalogue batch written");
    }
    sqlx::query("ANALYZE agents, provider_profiles, listings")
        .execute(&mut *conn)
        .await?;
    Ok(done)
}
