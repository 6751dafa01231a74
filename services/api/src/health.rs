//! `GET /api/health` (the ClawRent clients' shape), `/healthz` (liveness), `/readyz` (readiness).
//!
//! Readiness answers one question: can this replica serve? It fails while the replica drains at
//! shutdown and when its own database pool is broken (closed, or unable to open any connection).
//! It does not fail for shared dependencies that every replica has in common (Redis) nor for a
//! pool that is merely busy: either would take every replica out of the Service at once, turning
//! fast JSON 503s with Retry-After into refused connections. Shared-dependency state is reported
//! by `/api/health`. docs/operations.md has the reasoning.

use crate::state::AppState;
use crate::time_format;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use sqlx::{ConnectOptions as _, Connection as _, PgPool};
use std::time::Duration;
use utoipa::ToSchema;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Serialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    Up,
    Down,
}

#[derive(Serialize, ToSchema)]
pub struct Services {
    pub database: ServiceState,
    pub redis: ServiceState,
}

/// This replica's connection pool.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolStats {
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
    /// Every connection is in use: requests wait up to DATABASE_ACQUIRE_TIMEOUT, then get 503.
    pub saturated: bool,
}

#[derive(Serialize, ToSchema)]
pub struct HealthResponse {
    /// `healthy` or `unhealthy`.
    #[schema(example = "healthy")]
    pub status: &'static str,
    #[schema(example = "2026-07-13T00:00:00.000Z")]
    pub timestamp: String,
    pub services: Services,
    pub pool: PoolStats,
    pub version: &'static str,
    /// Present when unhealthy: `SERVICE_UNAVAILABLE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// Present when unhealthy: what is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReadinessResponse {
    /// `ready` or `not_ready`.
    #[schema(example = "ready")]
    pub status: &'static str,
    #[schema(example = "2026-07-13T00:00:00.000Z")]
    pub timestamp: String,
    pub pool: PoolStats,
    /// Present when not ready: `SERVICE_UNAVAILABLE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// Present when not ready: why (`shutting down`, `database pool broken: ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LivenessResponse {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// What a probe of the database found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Database {
    Up,
    /// Every pooled connection is busy, but the server accepts a new connection.
    Busy,
    /// No connection can be had: the pool is closed, or the server does not answer.
    Down,
}

fn pool_stats(pool: &PgPool) -> PoolStats {
    let size = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
    let max = pool.options().get_max_connections();
    PoolStats {
        in_use: size - idle,
        idle,
        max,
        saturated: size >= max && idle == 0,
    }
}

async fn probe_database(pool: &PgPool) -> Database {
    if pool.is_closed() {
        return Database::Down;
    }
    let through_pool = async {
        let mut conn = pool.acquire().await?;
        sqlx::query("SELECT 1").execute(&mut *conn).await
    };
    match tokio::time::timeout(CHECK_TIMEOUT, through_pool).await {
        Ok(Ok(_)) => Database::Up,
        Ok(Err(sqlx::Error::PoolTimedOut)) | Err(_) if pool_stats(pool).saturated => {
            // A full pool says nothing about the server: ask it directly, outside the pool.
            let direct = async { pool.connect_options().connect().await?.close().await };
            match tokio::time::timeout(CHECK_TIMEOUT, direct).await {
                Ok(Ok(())) => Database::Busy,
                _ => Database::Down,
            }
        }
        _ => Database::Down,
    }
}

async fn probe_redis(state: &AppState) -> ServiceState {
    match tokio::time::timeout(CHECK_TIMEOUT, state.redis.ping()).await {
        Ok(Ok(())) => ServiceState::Up,
        _ => ServiceState::Down,
    }
}

fn now(state: &AppState) -> String {
    time_format::format(&state.clock.now())
}

/// Service health with the state of Postgres and Redis, and this replica's pool.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Healthy (a saturated pool is healthy: see `pool`)", body = HealthResponse),
        (status = 503, description = "Postgres or Redis is down (status `unhealthy`)", body = HealthResponse),
    )
)]
#[get("/api/health")]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let (database, redis) = tokio::join!(probe_database(&state.db), probe_redis(&state));
    let mut problems = Vec::new();
    if database == Database::Down {
        problems.push("database unreachable");
    }
    if redis == ServiceState::Down {
        problems.push("redis unreachable");
    }
    let healthy = problems.is_empty();
    let body = HealthResponse {
        status: if healthy { "healthy" } else { "unhealthy" },
        timestamp: now(&state),
        services: Services {
            database: if database == Database::Down {
                ServiceState::Down
            } else {
                ServiceState::Up
            },
            redis,
        },
        pool: pool_stats(&state.db),
        version: env!("CARGO_PKG_VERSION"),
        error: (!healthy).then_some("SERVICE_UNAVAILABLE"),
        message: (!healthy).then(|| problems.join(", ")),
    };
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "5"))
            .json(body)
    }
}

/// Liveness: 200 while the process serves requests. Touches no dependency.
#[utoipa::path(tag = "health", responses((status = 200, description = "Alive", body = LivenessResponse)))]
#[get("/healthz")]
pub async fn liveness() -> web::Json<LivenessResponse> {
    web::Json(LivenessResponse { status: "ok" })
}

/// Readiness: 200 unless this replica is shutting down or its database pool is broken. Redis and
/// a busy pool do not count (see the module documentation).
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = ReadinessResponse),
        (status = 503, description = "Not ready (status `not_ready`)", body = ReadinessResponse),
    )
)]
#[get("/readyz")]
pub async fn readiness(state: web::Data<AppState>) -> HttpResponse {
    let problem = if state.is_shutting_down() {
        Some("shutting down")
    } else if probe_database(&state.db).await == Database::Down {
        Some("database pool broken: no connection can be opened")
    } else {
        None
    };
    let body = ReadinessResponse {
        status: if problem.is_none() {
            "ready"
        } else {
            "not_ready"
        },
        timestamp: now(&state),
        pool: pool_stats(&state.db),
        error: problem.map(|_| "SERVICE_UNAVAILABLE"),
        message: problem.map(str::to_owned),
    };
    match problem {
        None => HttpResponse::Ok().json(body),
        Some(_) => HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "5"))
            .json(body),
    }
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(health).service(liveness).service(readiness);
}
