//! `GET /api/health` (the ClawRent clients' shape), `/healthz` (liveness), `/readyz` (readiness).

use crate::state::AppState;
use crate::time_format;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
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

#[derive(Serialize, ToSchema)]
pub struct HealthResponse {
    /// `healthy` or `unhealthy` (`ready` / `not_ready` on /readyz).
    #[schema(example = "healthy")]
    pub status: &'static str,
    #[schema(example = "2026-07-13T00:00:00.000Z")]
    pub timestamp: String,
    pub services: Services,
    pub version: &'static str,
    /// Present when unhealthy: `SERVICE_UNAVAILABLE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// Present when unhealthy: what is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LivenessResponse {
    #[schema(example = "ok")]
    pub status: &'static str,
}

async fn check(state: &AppState) -> Services {
    let database = async {
        match tokio::time::timeout(CHECK_TIMEOUT, sqlx::query("SELECT 1").execute(&state.db)).await
        {
            Ok(Ok(_)) => ServiceState::Up,
            _ => ServiceState::Down,
        }
    };
    let redis = async {
        match tokio::time::timeout(CHECK_TIMEOUT, state.redis.ping()).await {
            Ok(Ok(())) => ServiceState::Up,
            _ => ServiceState::Down,
        }
    };
    let (database, redis) = tokio::join!(database, redis);
    Services { database, redis }
}

fn report(
    state: &AppState,
    services: Services,
    ok: (&'static str, &'static str),
    extra_problem: Option<&str>,
) -> HttpResponse {
    let mut problems: Vec<&str> = Vec::new();
    if services.database == ServiceState::Down {
        problems.push("database unreachable");
    }
    if services.redis == ServiceState::Down {
        problems.push("redis unreachable");
    }
    problems.extend(extra_problem);
    let healthy = problems.is_empty();
    let body = HealthResponse {
        status: if healthy { ok.0 } else { ok.1 },
        timestamp: time_format::format(&state.clock.now()),
        services,
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

/// Service health with the state of Postgres and Redis.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Healthy", body = HealthResponse),
        (status = 503, description = "A dependency is down (status `unhealthy`)", body = HealthResponse),
    )
)]
#[get("/api/health")]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let services = check(&state).await;
    report(&state, services, ("healthy", "unhealthy"), None)
}

/// Liveness: 200 while the process serves requests. Touches no dependency.
#[utoipa::path(tag = "health", responses((status = 200, description = "Alive", body = LivenessResponse)))]
#[get("/healthz")]
pub async fn liveness() -> web::Json<LivenessResponse> {
    web::Json(LivenessResponse { status: "ok" })
}

/// Readiness: 200 when Postgres and Redis answer and the process is not shutting down.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = HealthResponse),
        (status = 503, description = "Not ready (status `not_ready`)", body = HealthResponse),
    )
)]
#[get("/readyz")]
pub async fn readiness(state: web::Data<AppState>) -> HttpResponse {
    let services = check(&state).await;
    let draining = state.is_shutting_down().then_some("shutting down");
    report(&state, services, ("ready", "not_ready"), draining)
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(health).service(liveness).service(readiness);
}
