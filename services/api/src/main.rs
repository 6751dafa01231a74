use clap::Parser as _;
use clawrent_api::cli::{self, AdminCommand, Cli, Command};
use clawrent_api::config::Settings;
use std::process::ExitCode;

#[actix_web::main]
async fn main() -> ExitCode {
    let args = Cli::parse();
    if let Some(Command::Openapi) = args.command {
        print!("{}", clawrent_api::openapi::document_json());
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let telemetry = match clawrent_api::telemetry::init(&settings) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let outcome = match args.command.unwrap_or(Command::Serve) {
        Command::Serve => cli::serve(settings).await,
        Command::Migrate => cli::migrate(settings).await,
        Command::Admin {
            command:
                AdminCommand::CreateAdmin {
                    tenant,
                    email,
                    password,
                    name,
                },
        } => cli::create_admin(settings, &tenant, &email, password, &name).await,
        Command::Admin {
            command: AdminCommand::SeedDemo { tenant },
        } => cli::seed_demo(settings, &tenant).await,
        Command::Admin {
            command: AdminCommand::SeedCatalogue { tenant, count },
        } => cli::seed_catalogue(settings, &tenant, count).await,
        Command::Openapi => Ok(()),
    };
    telemetry.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "clawrent failed");
            eprintln!("clawrent: {error:#}");
            ExitCode::FAILURE
        }
    }
}
