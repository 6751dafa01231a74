//! Message-history pages at scale: three databases, each served by its own release server, hold
//! 100 messages in one session, 1M messages over 10,000 sessions, and 1M messages in one session.
//! They are bulk-loaded with SQL (generate_series) once and kept between runs (reloaded when their
//! count is off). A page is `GET /api/sessions/{id}/messages?afterSeq=N&limit=50` with N drawn at
//! random so that every page holds 50 messages; the three are measured alternately.

use crate::http;
use crate::server::Server;
use crate::setup::{self, database_url};
use clawrent_api::auth::jwt::JwtKeys;
use clawrent_api::ids::SessionId;
use sqlx::PgPool;

pub struct Shape {
    pub name: &'static str,
    pub db: &'static str,
    pub sessions: i64,
    pub per_session: i64,
}

pub const SHAPES: [Shape; 3] = [
    Shape {
        name: "100 messages in one session",
        db: "clawrent_bench_history_100",
        sessions: 1,
        per_session: 100,
    },
    Shape {
        name: "1M messages over 10,000 sessions (interleaved)",
        db: "clawrent_bench_history_spread",
        sessions: 10_000,
        per_session: 100,
    },
    Shape {
        name: "1M messages in one session (read at random depths)",
        db: "clawrent_bench_history_deep",
        sessions: 1,
        per_session: 1_000_000,
    },
];

pub const PAGE: i64 = 50;

/// A served history database.
pub struct Served {
    pub server: Server,
    pub token: String,
    pub sessions: Vec<SessionId>,
    pub per_session: i64,
}

async fn loaded(pool: &PgPool, shape: &Shape) -> bool {
    let counts: Result<(i64, i64), _> = sqlx::query_as(
        "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM session_messages)",
    )
    .fetch_one(pool)
    .await;
    matches!(counts, Ok((s, m)) if s == shape.sessions && m == shape.sessions * shape.per_session)
}

/// Loads the shape: the parties, `sessions` settled sessions, and their messages written in
/// `seq`-major order, so that the messages of different sessions interleave in the table as
/// those of concurrent conversations do (a page of one session then touches ~50 heap pages).
async fn load(shape: &Shape) -> anyhow::Result<()> {
    eprintln!(
        "loading {}: {} messages (once; kept for later runs)",
        shape.db,
        shape.sessions * shape.per_session
    );
    let settings = setup::settings(shape.db, 2)?;
    setup::fresh_database(&settings, shape.db).await?;
    let pool = clawrent_api::db::pool(&settings)?;
    let tenant = setup::default_tenant(&pool).await?;
    let mut conn = pool.acquire().await?;
    sqlx::query("SET statement_timeout = 0")
        .execute(&mut *conn)
        .await?;
    let parties = setup::insert_parties(&mut conn, &tenant, "history").await?;
    sqlx::query(
        "INSERT INTO sessions (id, tenant_id, agent_id, consumer_id, provider_id, status, slot_index,
             task_description, granted_permissions, pricing_model, price_amount, currency, fee_rate,
             hold_amount, message_seq, last_message_at, last_activity_at, end_reason, created_at,
             approved_at, ended_at)
         SELECT md5('history-' || s)::uuid, $1, $2, $3, $4, 'settled', 0, 'A conversation of the history benchmark',
             '{}'::jsonb, 'per_minute', 0.10, 'USD', 0.1, 6.00, $5, now(), now(), 'ended_by_consumer',
             now() - interval '30 days', now() - interval '30 days', now()
         FROM generate_series(1, $6::bigint) s",
    )
    .bind(tenant.id)
    .bind(parties.agent)
    .bind(parties.consumer)
    .bind(parties.provider)
    .bind(shape.per_session)
    .bind(shape.sessions)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO session_messages (tenant_id, session_id, seq, id, type, payload, sender_role,
             sender_user_id, created_at)
         SELECT $1, md5('history-' || s)::uuid, q,
             (lpad(to_hex(s), 12, '0') || lpad(to_hex(q), 20, '0'))::uuid, 'dialogue.message',
             jsonb_build_object('text', 'Message ' || q || ' of a synthetic conversation, about as long as a chat line.'),
             CASE WHEN q % 2 = 0 THEN 'provider' ELSE 'consumer' END,
             CASE WHEN q % 2 = 0 THEN $3 ELSE $2 END,
             now() - interval '30 days' + q * interval '10 milliseconds' + s * interval '1 microsecond'
         FROM generate_series(1, $4::bigint) q CROSS JOIN generate_series(1, $5::bigint) s
         ORDER BY q, s",
    )
    .bind(tenant.id)
    .bind(parties.consumer)
    .bind(parties.provider)
    .bind(shape.per_session)
    .bind(shape.sessions)
    .execute(&mut *conn)
    .await?;
    sqlx::query("VACUUM (ANALYZE) sessions, session_messages")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The shape's database (loaded when missing) and a release server in front of it.
pub async fn serve(shape: &Shape) -> anyhow::Result<Served> {
    let settings = setup::settings(shape.db, 2)?;
    clawrent_api::db::migrate(&settings).await?;
    let pool = clawrent_api::db::pool(&settings)?;
    if !loaded(&pool, shape).await {
        pool.close().await;
        load(shape).await?;
    }
    let pool = clawrent_api::db::pool(&settings)?;
    let tenant = setup::default_tenant(&pool).await?;
    let consumer: clawrent_api::ids::UserId =
        sqlx::query_scalar("SELECT consumer_id FROM sessions LIMIT 1")
            .fetch_one(&pool)
            .await?;
    let sessions: Vec<SessionId> = sqlx::query_scalar("SELECT id FROM sessions ORDER BY id")
        .fetch_all(&pool)
        .await?;
    pool.close().await;
    let token = JwtKeys::from_settings(&settings)?
        .issue(tenant.id, consumer, "consumer", chrono::Utc::now())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let server = Server::start(shape.db, &database_url(shape.db), 4).await?;
    Ok(Served {
        server,
        token,
        sessions,
        per_session: shape.per_session,
    })
}

/// A small deterministic generator (xorshift64*): the same pages in every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// `n` pages read one after another (after a warm-up), at random sessions and depths; sorted
/// latencies in microseconds.
pub async fn measure(served: &mut Served, n: usize, rng: &mut Rng) -> anyhow::Result<Vec<u64>> {
    let depths = u64::try_from(served.per_session - PAGE).unwrap_or(0) + 1;
    let count = served.sessions.len() as u64;
    let sessions = &served.sessions;
    let result = http::sequential(served.server.port, &served.token, 20, n, |_| {
        let session = sessions[usize::try_from(rng.below(count)).unwrap_or(0)];
        let after = rng.below(depths);
        format!("/api/sessions/{session}/messages?afterSeq={after}&limit={PAGE}")
    })
    .await;
    result.map_err(|e| served.server.explain(e))
}
