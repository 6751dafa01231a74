//! Users, tenants and admins, made through the real API (and the real mail flow).

use super::{Auth, PASSWORD, Reply, TestApp, smtp};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
    pub api_key: String,
    pub tenant: Option<String>,
}

impl TestUser {
    pub fn auth(&self) -> Auth {
        let auth = Auth::bearer(&self.token);
        match &self.tenant {
            Some(slug) => auth.tenant(slug),
            None => auth,
        }
    }
}

/// A 6-digit code that is certainly not `code`.
pub fn wrong_code(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", uuid::Uuid::now_v7().simple())
}

impl TestApp {
    pub async fn send_verification(&self, email: &str, auth: &Auth) -> Reply {
        self.post(
            "/api/auth/send-verification",
            auth,
            &json!({ "email": email }),
        )
        .await
    }

    pub async fn register(&self, email: &str, password: &str, code: &str, auth: &Auth) -> Reply {
        let body = json!({ "email": email, "password": password, "name": "Test User", "verificationCode": code });
        self.post("/api/auth/register", auth, &body).await
    }

    pub async fn login(&self, email: &str, password: &str, auth: &Auth) -> Reply {
        self.post(
            "/api/auth/login",
            auth,
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn me(&self, auth: &Auth) -> Reply {
        self.get("/api/auth/me", auth).await
    }

    /// Registers a new user in `tenant` (None = default) through the real mail flow.
    pub async fn signup_in(&self, tenant: Option<&str>) -> TestUser {
        let email = unique_email("user");
        let scope = |auth: Auth| match tenant {
            Some(slug) => auth.tenant(slug),
            None => auth,
        };
        self.send_verification(&email, &scope(Auth::none()))
            .await
            .expect(200);
        let code = smtp().latest_code(&email).await;
        let reply = self
            .register(&email, PASSWORD, &code, &scope(Auth::none()))
            .await
            .expect(201);
        TestUser {
            id: reply.body["user"]["id"].as_str().expect("id").to_owned(),
            email,
            password: PASSWORD.to_owned(),
            token: reply.body["token"].as_str().expect("token").to_owned(),
            api_key: reply.body["apiKey"].as_str().expect("apiKey").to_owned(),
            tenant: tenant.map(str::to_owned),
        }
    }

    pub async fn signup(&self) -> TestUser {
        self.signup_in(None).await
    }

    /// Creates a tenant through the platform API and returns its slug.
    pub async fn create_tenant(&self, tag: &str) -> String {
        let slug = format!("{tag}-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
        self.post(
            "/api/platform/tenants",
            &Auth::operator(),
            &json!({ "slug": slug, "name": format!("Tenant {tag}") }),
        )
        .await
        .expect(201);
        slug
    }

    /// Creates an admin in `tenant` through the platform API and logs in.
    pub async fn admin_in(&self, tenant: &str) -> TestUser {
        let email = unique_email("admin");
        let body = json!({ "email": email, "password": PASSWORD, "name": "Admin" });
        let reply = self
            .post(
                &format!("/api/platform/tenants/{tenant}/admins"),
                &Auth::operator(),
                &body,
            )
            .await
            .expect(201);
        let login = self
            .login(&email, PASSWORD, &Auth::none().tenant(tenant))
            .await
            .expect(200);
        TestUser {
            id: reply.body["user"]["id"].as_str().expect("id").to_owned(),
            email,
            password: PASSWORD.to_owned(),
            token: login.body["token"].as_str().expect("token").to_owned(),
            api_key: String::new(),
            tenant: Some(tenant.to_owned()),
        }
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.db)
            .await
            .expect("count query")
    }

    /// The entries of the admin audit log.
    pub async fn audit_count(&self) -> i64 {
        self.count("SELECT count(*) FROM admin_audit").await
    }

    /// The default tenant's admin for this app (created on first use through the platform API).
    pub async fn default_admin(&self) -> TestUser {
        let mut admin = self.admin_in("default").await;
        admin.tenant = None;
        admin
    }
}
