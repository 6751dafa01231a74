//! API keys: minted at registration and on request, listed by prefix, revoked. The key itself
//! is shown once and stored only as a hash.

use super::repo::{self, NewApiKey};
use crate::auth::principal::Principal;
use crate::auth::tokens::{self, DISPLAY_PREFIX_LEN};
use crate::error::{ApiError, ApiResult};
use crate::http::pagination::PageRequest;
use crate::ids::{ApiKeyId, TenantId, UserId};
use crate::state::AppState;

pub(super) async fn insert_api_key(
    conn: &mut sqlx::PgConnection,
    tenant: TenantId,
    user: UserId,
    name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<(repo::ApiKeyRow, String)> {
    let key = tokens::new_api_key();
    let row = repo::insert_api_key(
        conn,
        tenant,
        NewApiKey {
            id: ApiKeyId::new_v7(),
            user,
            name,
            prefix: &key[..DISPLAY_PREFIX_LEN],
            key_hash: &tokens::sha256(&key),
            now,
        },
    )
    .await?;
    Ok((row, key))
}

pub async fn create_api_key(
    state: &AppState,
    principal: &Principal,
    name: &str,
) -> ApiResult<(repo::ApiKeyRow, String)> {
    let mut conn = state.db.acquire().await?;
    insert_api_key(
        &mut conn,
        principal.tenant_id(),
        principal.user_id,
        name,
        state.clock.now(),
    )
    .await
}

pub async fn list_api_keys(
    state: &AppState,
    principal: &Principal,
    page: PageRequest,
) -> ApiResult<(Vec<repo::ApiKeyRow>, i64)> {
    let mut conn = state.db.acquire().await?;
    Ok(repo::list_api_keys(
        &mut conn,
        principal.tenant_id(),
        principal.user_id,
        page.limit(),
        page.offset(),
    )
    .await?)
}

/// Revokes one of the caller's keys; another user's key, or an unknown one, is 404.
pub async fn revoke_api_key(
    state: &AppState,
    principal: &Principal,
    id: ApiKeyId,
) -> ApiResult<()> {
    let mut conn = state.db.acquire().await?;
    let revoked = repo::revoke_api_key(
        &mut conn,
        principal.tenant_id(),
        principal.user_id,
        id,
        state.clock.now(),
    )
    .await?;
    if revoked {
        Ok(())
    } else {
        Err(ApiError::not_found("API key"))
    }
}
