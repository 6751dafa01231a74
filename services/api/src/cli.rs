//! The `clawrent` command line: serve (default), migrate, openapi, admin.

use crate::clock::Clock;
use crate::config::{Environment, Settings};
use crate::startup::Application;
use crate::state::AppState;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "clawrent",
    version,
    about = "ClawRent-compatible agent marketplace backend"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Create the database if it does not exist, then apply migrations.
    Migrate,
    /// Print the OpenAPI document (JSON).
    Openapi,
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a tenant admin, or promote the existing user with that email.
    CreateAdmin {
        /// Tenant slug (the default tenant is `default`).
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(long)]
        email: String,
        /// Password for a new account (or set CLAWRENT_ADMIN_PASSWORD).
        #[arg(long, env = "CLAWRENT_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "Admin")]
        name: String,
    },
    /// Add N synthetic listed agents to a tenant (catalogue-scale browse checks and benchmarks).
    SeedCatalogue {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(long, default_value_t = 1_000_000)]
        count: i64,
    },
    /// Fill a tenant with demo providers, listed agents, an admin and a consumer (idempotent).
    SeedDemo {
        /// Tenant slug (the default tenant is `default`).
        #[arg(long, default_value = "default")]
        tenant: String,
    },
}

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.jwt_secret_generated {
        tracing::warn!(
            "JWT_SECRET is not set: using a random secret for this process only. Tokens stop working at restart \
             and are not shared between replicas. Set JWT_SECRET (required when CLAWRENT_ENV=production)."
        );
    }
    if settings.platform_operator_token.is_none() {
        tracing::info!("PLATFORM_OPERATOR_TOKEN is not set: the /api/platform API is disabled");
    }
    let app = Application::build(settings, Clock::system()).await?;
    let settings = &app.state().settings;
    let address = format!("http://{}:{}", settings.host, app.port());
    tracing::info!(%address, mail = %app.state().mailer.describe(), env = ?settings.env, "clawrent is listening");
    if settings.env == Environment::Development {
        println!("clawrent listening on {address}  (API docs: {address}/docs/)");
    }
    app.run_until_signal().await?;
    tracing::info!("clawrent stopped");
    Ok(())
}

pub async fn migrate(settings: Settings) -> anyhow::Result<()> {
    crate::db::migrate(&settings).await?;
    println!("migrations applied");
    Ok(())
}

pub async fn create_admin(
    settings: Settings,
    tenant: &str,
    email: &str,
    password: &str,
    name: &str,
) -> anyhow::Result<()> {
    if settings.auto_migrate {
        crate::db::migrate(&settings).await?;
    }
    let state = AppState::build(settings, Clock::system())?;
    let tenant = crate::tenancy::service::require(&state, tenant)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let (user, created) =
        crate::accounts::service::create_or_promote_admin(&state, tenant.id, email, password, name)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let verb = if created { "created" } else { "promoted" };
    println!(
        "{verb} admin {} ({}) in tenant {}",
        user.email, user.id, tenant.slug
    );
    Ok(())
}

pub async fn seed_demo(settings: Settings, tenant: &str) -> anyhow::Result<()> {
    if settings.auto_migrate {
        crate::db::migrate(&settings).await?;
    }
    let state = AppState::build(settings, Clock::system())?;
    let tenant = crate::tenancy::service::require(&state, tenant)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let slug = tenant.slug.clone();
    let summary = crate::seed::demo::seed(&state, tenant)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "seeded tenant {slug}: {} agents created, {} already there",
        summary.created_agents, summary.existing_agents
    );
    for (email, role) in summary.users {
        println!(
            "  {role:<9} {email}  password: {}",
            crate::seed::demo::DEMO_PASSWORD
        );
    }
    Ok(())
}

pub async fn seed_catalogue(settings: Settings, tenant: &str, count: i64) -> anyhow::Result<()> {
    if settings.auto_migrate {
        crate::db::migrate(&settings).await?;
    }
    let state = AppState::build(settings, Clock::system())?;
    let tenant = crate::tenancy::service::require(&state, tenant)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let owner = crate::seed::demo::ensure_bulk_provider(&state, &tenant)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = std::time::Instant::now();
    let mut conn = state.db.acquire().await?;
    let added = crate::seed::catalogue::seed_catalogue(&mut conn, tenant.id, owner, count).await?;
    println!(
        "added {added} listed agents to tenant {} in {:.1} s",
        tenant.slug,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
