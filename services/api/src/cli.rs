//! The `clawrent` command line: serve (default), migrate, openapi, admin.

use crate::clock::Clock;
use crate::config::{Environment, Settings, dev_secrets};
use crate::startup::Application;
use crate::state::AppState;
use clap::{Parser, Subcommand};
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;

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
        /// Discouraged (visible in `ps` and shell history): set CLAWRENT_ADMIN_PASSWORD, or
        /// type it at the prompt, or pipe it on standard input.
        #[arg(long)]
        password: Option<String>,
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

pub async fn serve(mut settings: Settings) -> anyhow::Result<()> {
    let persisted = dev_secrets::persist(&mut settings, Path::new(dev_secrets::DEV_STATE_DIR))
        .unwrap_or_else(|error| {
            // An unwritable working directory must not stop a development server.
            tracing::warn!(
                error = %format!("{error:#}"),
                "could not keep development secrets under var/: tokens stop working at restart"
            );
            dev_secrets::Persisted::default()
        });
    if let Some(path) = persisted.jwt_secret {
        tracing::info!(
            path = %path.display(),
            "JWT_SECRET is not set: using the development secret kept in {} (tokens survive a \
             restart). Set JWT_SECRET (required when CLAWRENT_ENV=production).",
            path.display()
        );
    }
    if let Some(path) = persisted.platform_operator_token {
        tracing::info!(
            path = %path.display(),
            "PLATFORM_OPERATOR_TOKEN is not set: the /api/platform API takes the development \
             token kept in {} (in production the API is off unless the variable is set)",
            path.display()
        );
    } else if settings.platform_operator_token.is_none() {
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
    password_flag: Option<String>,
    name: &str,
) -> anyhow::Result<()> {
    let password = tokio::task::spawn_blocking(move || admin_password(password_flag)).await??;
    let password = password.as_str();
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

/// The new admin's password, from (in this order) the discouraged `--password` flag (with a
/// warning), CLAWRENT_ADMIN_PASSWORD, a prompt without echo on a terminal, or the first line of
/// standard input when it is not a terminal (`printf '%s\n' "$PW" | clawrent admin create-admin`).
fn admin_password(flag: Option<String>) -> anyhow::Result<String> {
    if let Some(password) = flag {
        eprintln!(
            "clawrent: warning: --password is visible to other users in `ps` and is kept in shell \
             history; set CLAWRENT_ADMIN_PASSWORD or type it at the prompt instead"
        );
        return Ok(password);
    }
    if let Some(password) = std::env::var("CLAWRENT_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    {
        return Ok(password);
    }
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        let first = prompt_hidden("Password for the admin: ")?;
        let again = prompt_hidden("Repeat it: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        first
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    anyhow::ensure!(
        !password.is_empty(),
        "no password: set CLAWRENT_ADMIN_PASSWORD, type it at the prompt, or pipe it on standard input"
    );
    Ok(password)
}

/// Reads a line from the terminal with echo off (`stty -echo`; no extra crate), restoring it after.
fn prompt_hidden(prompt: &str) -> anyhow::Result<String> {
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
            .is_ok_and(|s| s.success())
    };
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let hidden = stty("-echo");
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if hidden {
        stty("echo");
        eprintln!();
    }
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
