//! Platform-operator use-cases: create, list, read and configure tenants.

use super::domain::{Tenant, TenantSlug, TenantStatus, parse_currencies, parse_hostnames};
use super::repo::{self, NewTenant, TenantChanges};
use crate::error::{ApiError, ApiResult, OnConstraint};
use crate::http::pagination::PageRequest;
use crate::ids::TenantId;
use crate::money::parse_fee_rate;
use crate::state::AppState;

pub struct TenantInput {
    pub slug: String,
    pub name: String,
    pub hostnames: Option<Vec<String>>,
    pub fee_rate: Option<String>,
    pub currencies: Option<Vec<String>>,
}

pub struct TenantPatch {
    pub name: Option<String>,
    pub hostnames: Option<Vec<String>>,
    pub fee_rate: Option<String>,
    pub currencies: Option<Vec<String>>,
    pub status: Option<String>,
}

fn parse_name(raw: &str) -> ApiResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::field(
            "name",
            "must be 1-100 characters without control characters",
        ));
    }
    Ok(name.to_owned())
}

fn hostname_taken() -> ApiError {
    ApiError::conflict("A hostname is already used by another tenant")
        .with_details(serde_json::json!({"field": "hostnames"}))
}

pub async fn create(state: &AppState, input: TenantInput) -> ApiResult<(Tenant, Vec<String>)> {
    let slug = TenantSlug::parse(&input.slug)?;
    let name = parse_name(&input.name)?;
    let hostnames = parse_hostnames(input.hostnames.as_deref().unwrap_or_default())?;
    let fee_rate = match input.fee_rate.as_deref() {
        Some(raw) => parse_fee_rate(raw)?,
        None => rust_decimal::Decimal::new(15, 2),
    };
    let currencies = match input.currencies.as_deref() {
        Some(raw) => parse_currencies(raw)?,
        None => vec!["CNY".to_owned(), "USD".to_owned()],
    };
    let mut tx = state.db.begin().await?;
    let tenant = repo::insert(
        &mut tx,
        NewTenant {
            id: TenantId::new_v7(),
            slug: slug.as_str(),
            name: &name,
            fee_rate,
            currencies: &currencies,
        },
    )
    .await
    .on_constraint("tenants_slug_key", || {
        ApiError::conflict(format!("The slug {:?} is taken", slug.as_str()))
            .with_details(serde_json::json!({"field": "slug"}))
    })?;
    repo::replace_hostnames(&mut tx, tenant.id, &hostnames)
        .await
        .on_constraint("tenant_hostnames_pkey", hostname_taken)?;
    let hostnames = repo::hostnames(&mut tx, tenant.id).await?;
    tx.commit().await?;
    state.tenants.invalidate();
    Ok((tenant, hostnames))
}

pub async fn get(state: &AppState, slug: &str) -> ApiResult<(Tenant, Vec<String>)> {
    let mut conn = state.db.acquire().await?;
    let tenant = find(&mut conn, slug).await?;
    let hostnames = repo::hostnames(&mut conn, tenant.id).await?;
    Ok((tenant, hostnames))
}

async fn find(conn: &mut sqlx::PgConnection, slug: &str) -> ApiResult<Tenant> {
    let slug = TenantSlug::parse(slug).map_err(|_| ApiError::not_found("Tenant"))?;
    repo::find_by_slug(conn, slug.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("Tenant"))
}

pub async fn list(
    state: &AppState,
    page: PageRequest,
) -> ApiResult<(Vec<(Tenant, Vec<String>)>, i64)> {
    let mut conn = state.db.acquire().await?;
    let (tenants, total) = repo::list(&mut conn, page.limit(), page.offset()).await?;
    let ids: Vec<TenantId> = tenants.iter().map(|t| t.id).collect();
    let pairs = repo::hostnames_of(&mut conn, &ids).await?;
    let out = tenants
        .into_iter()
        .map(|tenant| {
            let hostnames = pairs
                .iter()
                .filter(|(id, _)| *id == tenant.id)
                .map(|(_, h)| h.clone())
                .collect();
            (tenant, hostnames)
        })
        .collect();
    Ok((out, total))
}

pub async fn update(
    state: &AppState,
    slug: &str,
    patch: TenantPatch,
) -> ApiResult<(Tenant, Vec<String>)> {
    let name = patch.name.as_deref().map(parse_name).transpose()?;
    let hostnames = patch
        .hostnames
        .as_deref()
        .map(parse_hostnames)
        .transpose()?;
    let fee_rate = patch.fee_rate.as_deref().map(parse_fee_rate).transpose()?;
    let currencies = patch
        .currencies
        .as_deref()
        .map(parse_currencies)
        .transpose()?;
    let status = patch
        .status
        .as_deref()
        .map(TenantStatus::parse)
        .transpose()?;

    let mut tx = state.db.begin().await?;
    let tenant = find(&mut tx, slug).await?;
    if tenant.is_default && status == Some(TenantStatus::Suspended) {
        return Err(ApiError::conflict("The default tenant cannot be suspended"));
    }
    let tenant = repo::update(
        &mut tx,
        tenant.id,
        TenantChanges {
            name: name.as_deref(),
            fee_rate,
            currencies: currencies.as_deref(),
            status,
        },
    )
    .await?;
    if let Some(hostnames) = &hostnames {
        repo::replace_hostnames(&mut tx, tenant.id, hostnames)
            .await
            .on_constraint("tenant_hostnames_pkey", hostname_taken)?;
    }
    let hostnames = repo::hostnames(&mut tx, tenant.id).await?;
    tx.commit().await?;
    state.tenants.invalidate();
    Ok((tenant, hostnames))
}

/// The tenant by slug, for bootstrapping admins.
pub async fn require(state: &AppState, slug: &str) -> ApiResult<Tenant> {
    let mut conn = state.db.acquire().await?;
    find(&mut conn, slug).await
}

/// The tenant by id, for the server's own jobs (the session sweeper).
pub async fn by_id(conn: &mut sqlx::PgConnection, id: TenantId) -> ApiResult<Tenant> {
    repo::find_by_id(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Tenant"))
}
