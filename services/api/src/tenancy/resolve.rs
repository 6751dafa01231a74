//! Which tenant a request belongs to: the `X-Tenant` slug header (when allowed), else the `Host`
//! header matched against tenant hostnames, else the default tenant. Lookups are cached per
//! replica for a few seconds (misses too, so random Host headers cost one query each at most per
//! TTL); the platform API clears the local cache on every change.

use super::domain::{Hostname, Tenant, TenantSlug, TenantStatus};
use super::repo;
use crate::clock::Clock;
use crate::error::{ApiError, ErrorCode};
use crate::http::middleware::RequestSpan;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header::{HOST, HeaderMap};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

pub const TENANT_HEADER: &str = "x-tenant";
/// How long a replica trusts a lookup, on the injected clock (tests move it instead of waiting).
const CACHE_TTL: Duration = Duration::seconds(5);
const CACHE_CAPACITY: usize = 10_000;

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Slug(String),
    Host(String),
    Default,
}

/// A cached lookup: the tenant (or its absence) and when it was read.
type Entry = (Option<Arc<Tenant>>, DateTime<Utc>);

#[derive(Clone)]
pub struct TenantResolver {
    cache: Arc<RwLock<HashMap<Key, Entry>>>,
    clock: Clock,
}

/// The outcome of resolution, stored in the request extensions by the request middleware.
#[derive(Clone)]
pub struct Resolved(pub Result<Arc<Tenant>, Arc<ApiError>>);

impl TenantResolver {
    pub fn new(clock: Clock) -> Self {
        Self {
            cache: Arc::default(),
            clock,
        }
    }

    pub fn invalidate(&self) {
        if let Ok(mut cache) = self.cache.write() {
            cache.clear();
        }
    }

    fn cached(&self, key: &Key) -> Option<Option<Arc<Tenant>>> {
        let cache = self.cache.read().ok()?;
        let now = self.clock.now();
        cache
            .get(key)
            .filter(|(_, at)| now - *at < CACHE_TTL)
            .map(|(t, _)| t.clone())
    }

    fn store(&self, key: Key, value: Option<Arc<Tenant>>) {
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(key, (value, self.clock.now()));
        }
    }

    async fn lookup(&self, db: &PgPool, key: Key) -> Result<Option<Arc<Tenant>>, ApiError> {
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        let mut conn = db.acquire().await.map_err(|e| {
            let detail = match e {
                sqlx::Error::PoolTimedOut => format!(
                    "no pooled connection within the acquire timeout ({} of {} in use)",
                    db.size() - (db.num_idle() as u32).min(db.size()),
                    db.options().get_max_connections()
                ),
                _ => "could not acquire a database connection".to_owned(),
            };
            ApiError::from(e).context(format!("tenant lookup: {detail}"))
        })?;
        let found = match &key {
            Key::Slug(slug) => repo::find_by_slug(&mut conn, slug).await?,
            Key::Host(host) => repo::find_by_hostname(&mut conn, host).await?,
            Key::Default => Some(repo::find_default(&mut conn).await?),
        }
        .map(Arc::new);
        self.store(key, found.clone());
        Ok(found)
    }

    pub async fn resolve(
        &self,
        db: &PgPool,
        headers: &HeaderMap,
        allow_header: bool,
    ) -> Result<Arc<Tenant>, ApiError> {
        let tenant = match headers.get(TENANT_HEADER).filter(|_| allow_header) {
            Some(raw) => {
                let unknown = |s: &str| {
                    ApiError::new(
                        ErrorCode::TenantNotFound,
                        format!("No tenant with slug {s:?} (from the X-Tenant header)"),
                    )
                };
                let raw = raw.to_str().map_err(|_| unknown("<non-ASCII>"))?.trim();
                let slug = TenantSlug::parse(raw).map_err(|_| unknown(raw))?;
                self.lookup(db, Key::Slug(slug.as_str().to_owned()))
                    .await?
                    .ok_or_else(|| unknown(raw))?
            }
            None => {
                let host = headers
                    .get(HOST)
                    .and_then(|h| h.to_str().ok())
                    .and_then(Hostname::from_host_header);
                let by_host = match host {
                    Some(host) => self.lookup(db, Key::Host(host.as_str().to_owned())).await?,
                    None => None,
                };
                match by_host {
                    Some(tenant) => tenant,
                    None => self.lookup(db, Key::Default).await?.ok_or_else(|| {
                        ApiError::internal(anyhow::anyhow!("default tenant missing"))
                    })?,
                }
            }
        };
        if tenant.status == TenantStatus::Suspended {
            return Err(ApiError::new(
                ErrorCode::TenantSuspended,
                format!("The marketplace {:?} is suspended", tenant.slug),
            ));
        }
        Ok(tenant)
    }
}

/// The request's tenant. Handlers that take it are tenant-scoped; resolution failures
/// (unknown `X-Tenant`, suspended tenant, database down) become the error response. Resolved once
/// per request (lazily, so liveness and platform routes never touch tenant lookups) and recorded
/// on the request span.
#[derive(Clone, Debug)]
pub struct CurrentTenant(pub Arc<Tenant>);

impl CurrentTenant {
    pub async fn extract(req: &HttpRequest) -> Result<Self, ApiError> {
        let known = req.extensions().get::<Resolved>().cloned();
        let resolved = match known {
            Some(resolved) => resolved,
            None => {
                let state = req
                    .app_data::<web::Data<AppState>>()
                    .ok_or_else(|| ApiError::internal(anyhow::anyhow!("app state missing")))?;
                let outcome = state
                    .tenants
                    .resolve(&state.db, req.headers(), state.settings.allow_tenant_header)
                    .await
                    .map_err(Arc::new);
                if let (Ok(tenant), Some(span)) = (&outcome, req.extensions().get::<RequestSpan>())
                {
                    span.0.record("tenant", tenant.slug.as_str());
                }
                let resolved = Resolved(outcome);
                req.extensions_mut().insert(resolved.clone());
                resolved
            }
        };
        match resolved.0 {
            Ok(tenant) => Ok(CurrentTenant(tenant)),
            Err(error) => Err(error.shared_clone()),
        }
    }
}

impl FromRequest for CurrentTenant {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Self::extract(&req).await })
    }
}
