//! `Idempotency-Key` for every money-moving POST.
//!
//! The key is scoped to (tenant, user). In the transaction of the effect the key row is claimed
//! first (`INSERT ... ON CONFLICT`), so a concurrent repeat waits for the first request to commit
//! and then replays its stored status and body; the same key with another body (or on another
//! endpoint) is 422. Client errors raised by the effect (402, 404, 409...) are stored and replayed
//! too, with the effect rolled back to a savepoint; server errors store nothing, so a retry runs
//! the request again. Keys live for `IDEMPOTENCY_KEY_TTL`.

pub mod repo;

use crate::auth::principal::{Credential, Principal};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ids::{AgentId, TenantId, UserId};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

pub const HEADER: &str = "Idempotency-Key";
/// Set to `true` on a response that replays a stored one.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
pub const MAX_KEY_LENGTH: usize = 255;

/// Who sent the key, the key itself, and a fingerprint of the request it was first used with.
#[derive(Debug, Clone)]
pub struct Scope {
    pub tenant: TenantId,
    pub user: UserId,
    pub key: String,
    pub fingerprint: [u8; 32],
}

impl Scope {
    /// The request's key, if it sent one: 1-255 visible ASCII characters. Keys belong to the
    /// user, whatever credential sent them; a request made with an agent token is fingerprinted
    /// with its agent, so the same key sent with another of the user's agent tokens (or without
    /// one) is another request (422), never a replay of what only that agent may see.
    pub fn from_request(
        req: &HttpRequest,
        principal: &Principal,
        body: &impl Serialize,
    ) -> ApiResult<Option<Self>> {
        let (tenant, user) = (principal.tenant_id(), principal.user_id);
        let acting = match principal.credential {
            Credential::AgentToken { agent_id } => Some(agent_id),
            _ => None,
        };
        let Some(raw) = req.headers().get(HEADER) else {
            return Ok(None);
        };
        let key = raw
            .to_str()
            .ok()
            .filter(|k| {
                (1..=MAX_KEY_LENGTH).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic())
            })
            .ok_or_else(|| {
                ApiError::field(
                    HEADER,
                    "must be 1-255 visible ASCII characters (a UUID is a good key)",
                )
            })?;
        Ok(Some(Self {
            tenant,
            user,
            key: key.to_owned(),
            fingerprint: fingerprint(req.method().as_str(), &canonical_path(req), acting, body)?,
        }))
    }
}

/// The request path with every path parameter in one spelling: the route's pattern with each
/// parameter's decoded value, UUIDs written lowercase and hyphenated. `{ID}`, `urn:uuid:id`, a
/// simple or an upper-case spelling of the same id is the same request, so a retry that spells
/// it differently replays instead of running twice (or being refused as another request).
pub fn canonical_path(req: &HttpRequest) -> String {
    let Some(pattern) = req.match_pattern() else {
        return req.path().to_owned();
    };
    let params = req.match_info();
    pattern
        .split('/')
        .map(|segment| {
            let name = segment
                .strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
                .map(|s| s.split(':').next().unwrap_or(s));
            match name.and_then(|n| params.get(n)) {
                Some(value) => Uuid::parse_str(value)
                    .map_or_else(|_| value.to_owned(), |id| id.hyphenated().to_string()),
                None => segment.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// SHA-256 of the method, the path and the canonical JSON of the parsed body (so spacing and
/// fields the endpoint ignores do not matter).
pub fn fingerprint(
    method: &str,
    path: &str,
    acting: Option<AgentId>,
    body: &impl Serialize,
) -> ApiResult<[u8; 32]> {
    let json = serde_json::to_vec(body).map_err(ApiError::internal)?;
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update([0]);
    hash.update(path.as_bytes());
    hash.update([0]);
    if let Some(agent) = acting {
        hash.update(agent.as_uuid().as_bytes());
        hash.update([0]);
    }
    hash.update(&json);
    Ok(hash.finalize().into())
}

/// A response to send: the first one, or a replay of it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: StatusCode,
    pub body: serde_json::Value,
    pub replayed: bool,
}

impl Outcome {
    pub fn into_response(self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        if self.replayed {
            builder.insert_header((REPLAYED_HEADER, "true"));
        }
        builder.json(self.body)
    }
}

/// Client errors are answers to the request as sent, so they are stored and replayed. Rate
/// limits and server errors are about the moment, so they are not.
fn is_replayable(err: &ApiError) -> bool {
    let status = err.code.status();
    status.is_client_error() && err.code != ErrorCode::RateLimited
}

fn reused() -> ApiError {
    ApiError::new(
        ErrorCode::IdempotencyKeyReused,
        "This Idempotency-Key was already used with a different request; use a new key",
    )
}

/// Runs a money-moving effect once per key: see the module documentation. Without a key the
/// effect simply runs in its own transaction. Deadlock victims are run again.
pub async fn run<T: Serialize>(
    state: &AppState,
    scope: Option<&Scope>,
    success: StatusCode,
    work: impl AsyncFn(&mut PgConnection) -> ApiResult<T>,
) -> ApiResult<Outcome> {
    let mut attempt = 1;
    loop {
        match run_once(state, scope, success, &work).await {
            Err(err)
                if err.is_transient_conflict() && attempt < crate::db::TRANSACTION_ATTEMPTS =>
            {
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[tracing::instrument(name = "idempotency.run", skip_all, fields(idempotency.key = scope.is_some()))]
async fn run_once<T: Serialize>(
    state: &AppState,
    scope: Option<&Scope>,
    success: StatusCode,
    work: &impl AsyncFn(&mut PgConnection) -> ApiResult<T>,
) -> ApiResult<Outcome> {
    let mut tx = state.db.begin().await?;
    let Some(scope) = scope else {
        let value = work(&mut tx).await?;
        tx.commit().await?;
        return fresh(success, &value);
    };

    let now = state.clock.now();
    let ttl = chrono::Duration::from_std(state.settings.billing.idempotency_key_ttl)
        .map_err(ApiError::internal)?;
    let (tenant, user, key) = (scope.tenant, scope.user, scope.key.as_str());
    if !repo::claim(
        &mut tx,
        tenant,
        user,
        key,
        &scope.fingerprint,
        now,
        now - ttl,
    )
    .await?
    {
        // The row is committed (a claim in flight would have made the insert wait).
        let stored = repo::find(&mut tx, tenant, user, key)
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("idempotency key vanished")))?;
        return stored_outcome(stored, scope);
    }

    let mut savepoint = tx.begin().await?;
    match work(&mut savepoint).await {
        Ok(value) => {
            savepoint.commit().await?;
            let outcome = fresh(success, &value)?;
            let code = i16::try_from(outcome.status.as_u16()).unwrap_or(200);
            repo::complete(&mut tx, tenant, user, key, code, &outcome.body).await?;
            tx.commit().await?;
            Ok(outcome)
        }
        Err(err) if is_replayable(&err) => {
            savepoint.rollback().await?;
            let body = serde_json::to_value(err.body()).map_err(ApiError::internal)?;
            let code = i16::try_from(err.code.status().as_u16()).unwrap_or(400);
            repo::complete(&mut tx, tenant, user, key, code, &body).await?;
            tx.commit().await?;
            Err(err)
        }
        Err(err) => Err(err),
    }
}

/// The response stored under a key, if it was used with this very request; 422 otherwise.
fn stored_outcome(stored: repo::StoredResponse, scope: &Scope) -> ApiResult<Outcome> {
    if stored.request_hash != scope.fingerprint {
        return Err(reused());
    }
    let (Some(status), Some(body)) = (stored.response_status, stored.response_body) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "idempotency key without a response"
        )));
    };
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored status {status}")))?;
    Ok(Outcome {
        status,
        body,
        replayed: true,
    })
}

/// A completed request's stored response, looked up before the checks that are about the
/// moment (rate limits, payment mode) so that a retry of a request that succeeded replays it
/// rather than being refused. `None` when the key is unused or expired ([`run`] decides then).
pub async fn replay(state: &AppState, scope: Option<&Scope>) -> ApiResult<Option<Outcome>> {
    let Some(scope) = scope else {
        return Ok(None);
    };
    let ttl = chrono::Duration::from_std(state.settings.billing.idempotency_key_ttl)
        .map_err(ApiError::internal)?;
    let mut conn = state.db.acquire().await?;
    match repo::find(&mut conn, scope.tenant, scope.user, &scope.key).await? {
        Some(stored) if stored.created_at >= state.clock.now() - ttl => {
            stored_outcome(stored, scope).map(Some)
        }
        _ => Ok(None),
    }
}

fn fresh<T: Serialize>(status: StatusCode, value: &T) -> ApiResult<Outcome> {
    Ok(Outcome {
        status,
        body: serde_json::to_value(value).map_err(ApiError::internal)?,
        replayed: false,
    })
}

/// Deletes expired keys in batches; run periodically by every replica (cheap when idle).
pub async fn purge_expired(state: &AppState) -> ApiResult<u64> {
    let ttl = chrono::Duration::from_std(state.settings.billing.idempotency_key_ttl)
        .map_err(ApiError::internal)?;
    let before = state.clock.now() - ttl;
    let mut conn = state.db.acquire().await?;
    let mut total = 0;
    loop {
        let removed = repo::purge(&mut conn, before, 1000).await?;
        total += removed;
        if removed < 1000 {
            return Ok(total);
        }
    }
}

/// How often each replica deletes expired keys.
pub const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Purges expired keys every [`PURGE_EVERY`] until shutdown starts. Failures (the database is
/// down) are logged and retried at the next tick.
pub fn spawn_janitor(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if state.is_shutting_down() {
                return;
            }
            match purge_expired(&state).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "purged expired idempotency keys"),
                Err(error) => tracing::warn!(%error, "could not purge idempotency keys"),
            }
        }
    });
}
