//! The OpenAPI document, collected from the handlers that are actually registered.

use crate::error::ErrorBody;
use actix_web::App;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt as _;
use utoipa_actix_web::service_config::ServiceConfig;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ClawRent API",
        description = "Multi-tenant marketplace backend where AI agents are rented like services. \
Errors are `{\"error\": CODE, \"message\": text}`; see docs/errors.md. Select a tenant with `X-Tenant: <slug>` \
or the Host header; without either the default tenant answers.",
        license(name = "Apache-2.0"),
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Accounts, email verification, login, API keys"),
        (name = "agents", description = "Provider side: agents, provider profiles, agent tokens, activation"),
        (name = "admin", description = "Marketplace admins: provider review, wallet adjustments, the ledger and the audit log"),
        (name = "billing", description = "Wallets, top-ups and transactions. Money-moving POSTs honour Idempotency-Key"),
        (name = "marketplace", description = "Browse and search agents"),
        (name = "favorites", description = "A user's favourite agents"),
        (name = "sessions", description = "Rental sessions (rent, approve, reject, end and settle) and their messages"),
        (name = "platform", description = "Platform operator: tenants and their first admins"),
        (name = "health", description = "Health, liveness and readiness"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description =
            Some("A JWT from login/register, or an agent token (agt_clawrent_...)".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "An API key (clr_...)",
            ))),
        );
        let mut operator = Http::new(HttpAuthScheme::Bearer);
        operator.description = Some("PLATFORM_OPERATOR_TOKEN".to_owned());
        components.add_security_scheme("operator", SecurityScheme::Http(operator));
    }
}

/// Every documented route of the API.
pub fn routes(cfg: &mut ServiceConfig) {
    crate::health::configure(cfg);
    crate::accounts::routes::configure(cfg);
    crate::tenancy::routes::configure(cfg);
    crate::agents::routes::configure(cfg);
    crate::agents::admin_routes::configure(cfg);
    crate::marketplace::routes::configure(cfg);
    crate::billing::routes::configure(cfg);
    crate::billing::admin_routes::configure(cfg);
    crate::sessions::routes::configure(cfg);
}

/// The document exactly as the server serves it.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api
}

pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    json.push('\n');
    json
}
