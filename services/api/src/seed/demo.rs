//! `clawrent admin seed-demo`: realistic providers, agents and a consumer in one tenant, so a new
//! user of `make run` can browse something at once. Idempotent: existing demo users and agents
//! are kept. Everything goes through the real use-cases (validation, lifecycle, listings, audit).

use crate::accounts::domain::UserRole;
use crate::accounts::repo::{self as accounts, NewUser};
use crate::agents::domain::{Capability, ReviewAction};
use crate::agents::repo as agents;
use crate::agents::service::{self, AgentInput, TermsInput};
use crate::auth::principal::{Credential, Principal};
use crate::error::ApiError;
use crate::ids::UserId;
use crate::state::AppState;
use crate::tenancy::domain::Tenant;
use std::sync::Arc;

pub const DEMO_PASSWORD: &str = "clawrent-demo-password";

struct Spec {
    provider: usize,
    slug: &'static str,
    name: &'static str,
    description: &'static str,
    capabilities: &'static [(&'static str, &'static str, &'static [&'static str])],
    pricing: &'static str,
    price: &'static str,
    currency: &'static str,
    approval: &'static str,
}

const PROVIDERS: [(&str, &str); 3] = [
    ("demo-provider-1@clawrent.local", "Northwind Labs"),
    ("demo-provider-2@clawrent.local", "Quill & Co"),
    ("demo-provider-3@clawrent.local", "Ops Foundry"),
];

const SPECS: &[Spec] = &[
    Spec {
        provider: 0,
        slug: "rust-code-reviewer",
        name: "Rust Code Reviewer",
        description: "Reviews Rust pull requests for soundness, error handling and idiomatic style.",
        capabilities: &[
            ("coding", "Code review", &["rust", "review"]),
            ("coding", "Unsafe audit", &["rust", "security"]),
        ],
        pricing: "per_session",
        price: "12.00",
        currency: "USD",
        approval: "auto",
    },
    Spec {
        provider: 0,
        slug: "sql-tuner",
        name: "SQL Query Tuner",
        description: "Explains slow Postgres queries and proposes indexes and rewrites.",
        capabilities: &[("data", "Query tuning", &["postgres", "sql"])],
        pricing: "per_minute",
        price: "0.80",
        currency: "USD",
        approval: "auto",
    },
    Spec {
        provider: 0,
        slug: "test-writer",
        name: "Test Writer",
        description: "Writes unit and integration tests for existing Python and TypeScript code.",
        capabilities: &[(
            "coding",
            "Test generation",
            &["python", "typescript", "testing"],
        )],
        pricing: "per_session",
        price: "9.50",
        currency: "USD",
        approval: "manual",
    },
    Spec {
        provider: 0,
        slug: "api-designer",
        name: "API Designer",
        description: "Designs REST and OpenAPI contracts, error models and pagination.",
        capabilities: &[("coding", "API design", &["openapi", "rest"])],
        pricing: "fixed",
        price: "49.00",
        currency: "USD",
        approval: "manual",
    },
    Spec {
        provider: 1,
        slug: "translator-pro",
        name: "Translator Pro",
        description: "Translates documents between English, Chinese, Japanese and Spanish.",
        capabilities: &[
            ("language", "Translation", &["en", "zh", "ja", "es"]),
            ("language", "Localization", &["i18n"]),
        ],
        pricing: "per_token",
        price: "0.0020",
        currency: "CNY",
        approval: "auto",
    },
    Spec {
        provider: 1,
        slug: "copy-editor",
        name: "Copy Editor",
        description: "Edits marketing copy and documentation for clarity and tone.",
        capabilities: &[("writing", "Copy editing", &["marketing", "docs"])],
        pricing: "per_session",
        price: "30.00",
        currency: "CNY",
        approval: "auto",
    },
    Spec {
        provider: 1,
        slug: "research-summarizer",
        name: "Research Summarizer",
        description: "Reads papers and reports and writes short, sourced summaries.",
        capabilities: &[("research", "Summaries", &["papers", "citations"])],
        pricing: "per_session",
        price: "25.00",
        currency: "CNY",
        approval: "manual",
    },
    Spec {
        provider: 1,
        slug: "meeting-notes",
        name: "Meeting Notes",
        description: "Turns meeting transcripts into decisions, owners and action items.",
        capabilities: &[("writing", "Minutes", &["meetings", "transcripts"])],
        pricing: "per_minute",
        price: "0.50",
        currency: "CNY",
        approval: "auto",
    },
    Spec {
        provider: 2,
        slug: "k8s-doctor",
        name: "Kubernetes Doctor",
        description: "Diagnoses failing pods, probes, resource limits and rollouts.",
        capabilities: &[("devops", "Cluster diagnosis", &["kubernetes", "helm"])],
        pricing: "per_minute",
        price: "1.20",
        currency: "USD",
        approval: "manual",
    },
    Spec {
        provider: 2,
        slug: "log-detective",
        name: "Log Detective",
        description: "Finds the cause of incidents in structured logs and traces.",
        capabilities: &[("devops", "Incident analysis", &["logs", "tracing"])],
        pricing: "per_session",
        price: "18.00",
        currency: "USD",
        approval: "auto",
    },
    Spec {
        provider: 2,
        slug: "ci-fixer",
        name: "CI Fixer",
        description: "Repairs broken CI pipelines and speeds up slow builds.",
        capabilities: &[("devops", "CI repair", &["github-actions", "caching"])],
        pricing: "per_session",
        price: "15.00",
        currency: "USD",
        approval: "auto",
    },
    Spec {
        provider: 2,
        slug: "cost-optimizer",
        name: "Cloud Cost Optimizer",
        description: "Reviews cloud bills and suggests rightsizing and reservations.",
        capabilities: &[("devops", "Cost review", &["aws", "gcp", "finops"])],
        pricing: "fixed",
        price: "99.00",
        currency: "USD",
        approval: "manual",
    },
];

pub struct DemoSummary {
    pub created_agents: usize,
    pub existing_agents: usize,
    pub users: Vec<(String, &'static str)>,
}

fn principal(tenant: &Arc<Tenant>, user: UserId, role: UserRole) -> Principal {
    Principal {
        tenant: tenant.clone(),
        user_id: user,
        role,
        credential: Credential::Jwt,
    }
}

async fn ensure_user(
    state: &AppState,
    tenant: &Tenant,
    email: &str,
    name: &str,
    role: UserRole,
) -> Result<UserId, ApiError> {
    let mut conn = state.db.acquire().await?;
    if let Some(user) = accounts::find_user_by_email(&mut conn, tenant.id, email).await? {
        return Ok(user.id);
    }
    drop(conn);
    let hash = state
        .hasher
        .hash(
            crate::auth::password::OPERATOR_CLIENT,
            DEMO_PASSWORD.to_owned(),
        )
        .await?;
    let mut conn = state.db.acquire().await?;
    let user = accounts::insert_user(
        &mut conn,
        tenant.id,
        NewUser {
            id: UserId::new_v7(),
            email,
            name,
            password_hash: &hash,
            role,
            email_verified: true,
            now: state.clock.now(),
        },
    )
    .await?;
    Ok(user.id)
}

pub async fn seed(state: &AppState, tenant: Tenant) -> Result<DemoSummary, ApiError> {
    let tenant = Arc::new(tenant);
    let admin_email = "demo-admin@clawrent.local";
    let admin = principal(
        &tenant,
        ensure_user(state, &tenant, admin_email, "Demo Admin", UserRole::Admin).await?,
        UserRole::Admin,
    );
    let mut providers = Vec::new();
    for (email, name) in PROVIDERS {
        providers.push(principal(
            &tenant,
            ensure_user(state, &tenant, email, name, UserRole::Consumer).await?,
            UserRole::Consumer,
        ));
    }
    let consumer_email = "demo-consumer@clawrent.local";
    ensure_user(
        state,
        &tenant,
        consumer_email,
        "Demo Consumer",
        UserRole::Consumer,
    )
    .await?;

    let (mut created, mut existing) = (0, 0);
    for spec in SPECS {
        let mut conn = state.db.acquire().await?;
        let found = agents::find_by_slug(&mut conn, tenant.id, spec.slug).await?;
        drop(conn);
        if found.is_some() {
            existing += 1;
            continue;
        }
        let owner = &providers[spec.provider];
        let capabilities = spec
            .capabilities
            .iter()
            .map(|(category, name, tags)| Capability {
                category: (*category).to_owned(),
                name: (*name).to_owned(),
                description: format!("{name} by {}", PROVIDERS[spec.provider].1),
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            })
            .collect();
        let agent = service::create(
            state,
            owner,
            AgentInput {
                name: spec.name.to_owned(),
                slug: spec.slug.to_owned(),
                description: spec.description.to_owned(),
                long_description: Some(format!(
                    "{}\n\nA demo agent seeded by `clawrent admin seed-demo`.",
                    spec.description
                )),
                capabilities: Some(capabilities),
                required_permissions: Some(vec!["session.dialogue".to_owned()]),
            },
        )
        .await?;
        let terms = TermsInput {
            pricing_model: Some(spec.pricing.to_owned()),
            price_amount: Some(spec.price.to_owned()),
            currency: Some(spec.currency.to_owned()),
            approval_mode: Some(spec.approval.to_owned()),
            ..TermsInput::default()
        };
        service::submit(state, owner, agent.id, terms).await?;
        service::review(state, &admin, agent.id, ReviewAction::Approve, None).await?;
        created += 1;
    }
    let mut users: Vec<(String, &'static str)> = vec![
        (admin_email.to_owned(), "admin"),
        (consumer_email.to_owned(), "consumer"),
    ];
    users.extend(
        PROVIDERS
            .iter()
            .map(|(email, _)| ((*email).to_owned(), "provider")),
    );
    Ok(DemoSummary {
        created_agents: created,
        existing_agents: existing,
        users,
    })
}

/// The synthetic owner of `seed-catalogue` agents.
pub async fn ensure_bulk_provider(state: &AppState, tenant: &Tenant) -> Result<UserId, ApiError> {
    ensure_user(
        state,
        tenant,
        "bulk-provider@clawrent.local",
        "Bulk provider",
        UserRole::Both,
    )
    .await
}
