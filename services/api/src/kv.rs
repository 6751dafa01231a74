//! Redis: one multiplexed, auto-reconnecting command connection per replica, and tenant-scoped keys.

use crate::config::Settings;
use crate::ids::TenantId;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

#[derive(Clone)]
pub struct Redis {
    conn: ConnectionManager,
    prefix: String,
}

impl Redis {
    /// Connects lazily: the process starts when Redis is down, and requests that need it get 503.
    pub fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let client = redis::Client::open(settings.redis_url.expose())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self {
            conn,
            prefix: settings.redis_prefix.clone(),
        })
    }

    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// `{prefix}:{tenant}:{parts...}`: every tenant-owned key carries its tenant.
    /// A key shared by every tenant: `{prefix}:global:{parts}`.
    pub fn global_key(&self, parts: &[&str]) -> String {
        let mut key = format!("{}:global", self.prefix);
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    pub fn tenant_key(&self, tenant: TenantId, parts: &[&str]) -> String {
        let mut key = format!("{}:{}", self.prefix, tenant);
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    pub async fn ping(&self) -> redis::RedisResult<()> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn())
            .await
            .map(|_| ())
    }
}
