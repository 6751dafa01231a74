//! Helpers shared by the tenancy tests: the platform paths, unique slugs and hostnames, the
//! millisecond timestamp assertion, counts, registering in a tenant and reading a tenant back.

use crate::helpers::*;
use serde_json::{Value, json};

pub const TENANTS: &str = "/api/platform/tenants";
pub const OTHER_PASSWORD: &str = "a different passphrase 4711";

pub fn tenant_path(slug: &str) -> String {
    format!("{TENANTS}/{slug}")
}

pub fn admins_path(slug: &str) -> String {
    format!("{TENANTS}/{slug}/admins")
}

/// A slug no other test uses.
pub fn fresh_slug(tag: &str) -> String {
    format!("{tag}-{}", &uuid::Uuid::now_v7().simple().to_string()[20..])
}

/// A hostname no other test uses.
pub fn fresh_host(tag: &str) -> String {
    format!(
        "{tag}-{}.example.test",
        &uuid::Uuid::now_v7().simple().to_string()[20..]
    )
}

pub async fn tenant_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM tenants").await
}

pub async fn users_with_email(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .expect("count users")
}

/// Registers `email` with `password` in the tenant `slug` through the real mail flow.
pub async fn register_in(app: &TestApp, slug: &str, email: &str, password: &str) -> Reply {
    app.send_verification(email, &Auth::none().tenant(slug))
        .await
        .expect(200);
    let code = smtp().latest_code(email).await;
    app.register(email, password, &code, &Auth::none().tenant(slug))
        .await
}

/// The tenant as the operator reads it back.
pub async fn read_tenant(app: &TestApp, slug: &str) -> Value {
    app.get(&tenant_path(slug), &Auth::operator())
        .await
        .expect(200)
        .body
}

/// Creates a tenant with hostnames and returns its slug.
pub async fn create_tenant_with_hosts(app: &TestApp, tag: &str, hostnames: &[&str]) -> String {
    let slug = fresh_slug(tag);
    let body = json!({ "slug": slug, "name": format!("Tenant {tag}"), "hostnames": hostnames });
    app.post(TENANTS, &Auth::operator(), &body)
        .await
        .expect(201);
    slug
}
