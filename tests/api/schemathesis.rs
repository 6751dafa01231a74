//! Schemathesis (property-based testing from the OpenAPI document) against the real app: every
//! documented operation, with generated valid and invalid input, as each kind of caller. Any
//! server error or response that the served document does not describe fails the test.
//!
//! Configuration (the checks, the dictionaries of real ids):
//! tests/schemathesis/schemathesis.toml; docs/testing.md explains the choices.

use crate::helpers::{OPERATOR_TOKEN, TestApp, TestUser, spawn_app, workspace_root};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Fixed, so a failure reproduces with the printed command.
const SEED: &str = "20261201";

/// Test cases per operation and phase; `CLAWRENT_SCHEMATHESIS_MAX_EXAMPLES` overrides it for a
/// deeper run by hand.
const MAX_EXAMPLES: &str = "12";

async fn schemathesis() -> PathBuf {
    let bin = match std::env::var("CLAWRENT_TEST_PYTHON") {
        Ok(python) => Path::new(&python).with_file_name("schemathesis"),
        Err(_) => workspace_root().join(".tools/venv/bin/schemathesis"),
    };
    assert!(
        tokio::fs::try_exists(&bin).await.unwrap_or(false),
        "{} is missing: run deploy/test-tools.sh (make test does)",
        bin.display()
    );
    bin
}

/// One caller: a name for the report, the Authorization header, and the operations it runs.
struct Caller {
    name: &'static str,
    bearer: Option<String>,
    /// Extra `schemathesis run` filter arguments.
    filter: &'static [&'static str],
}

/// A fresh directory with the configuration and the dictionaries of ids from this app's data.
async fn config_dir(agent: &str, slug: &str, users: &[&TestUser]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "clawrent-schemathesis-{}",
        uuid::Uuid::now_v7().simple()
    ));
    tokio::fs::create_dir_all(&dir).await.expect("temp dir");
    tokio::fs::copy(
        workspace_root().join("tests/schemathesis/schemathesis.toml"),
        dir.join("schemathesis.toml"),
    )
    .await
    .expect("copy tests/schemathesis/schemathesis.toml");
    let dict =
        |values: &[&str]| -> String { values.iter().map(|v| format!("\"{v}\"\n")).collect() };
    let user_ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    tokio::fs::write(dir.join("agents.dict"), dict(&[agent]))
        .await
        .expect("agents.dict");
    tokio::fs::write(dir.join("users.dict"), dict(&user_ids))
        .await
        .expect("users.dict");
    tokio::fs::write(dir.join("slugs.dict"), dict(&[slug, "default"]))
        .await
        .expect("slugs.dict");
    dir
}

/// Runs schemathesis once as `caller`; returns its exit success and full output.
async fn run(app: &TestApp, dir: &Path, caller: &Caller) -> (bool, String) {
    let max_examples = std::env::var("CLAWRENT_SCHEMATHESIS_MAX_EXAMPLES")
        .unwrap_or_else(|_| MAX_EXAMPLES.to_owned());
    let mut args: Vec<String> = [
        "--config-file",
        "schemathesis.toml",
        "--no-color",
        "run",
        &format!("{}/api/openapi.json", app.address),
        "--max-examples",
        &max_examples,
        "--seed",
        SEED,
        "--output-truncate",
        "false",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(caller.filter.iter().map(|s| (*s).to_owned()));
    let mut shown = args.join(" ");
    if let Some(token) = &caller.bearer {
        args.push("--header".to_owned());
        args.push(format!("Authorization: Bearer {token}"));
        shown.push_str(" --header 'Authorization: Bearer <token>'");
    }
    let started = Instant::now();
    let output = tokio::process::Command::new(schemathesis().await)
        .args(&args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .output()
        .await
        .expect("run schemathesis");
    println!(
        "schemathesis as {}: {} in {:.1?} (cd {} && schemathesis {shown})",
        caller.name,
        output.status,
        started.elapsed(),
        dir.display(),
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_or_undocumented_response_for_any_caller() {
    // Arrange: a consumer with money, a listed agent with its provider, the tenant admin.
    let app = spawn_app().await;
    let consumer = app.signup().await;
    app.topup(&consumer.auth(), "50.00").await.expect(200);
    let listed = app.listed_agent().await;
    let dir = config_dir(
        &listed.id,
        &listed.slug,
        &[&consumer, &listed.provider, &listed.admin],
    )
    .await;
    let callers = [
        Caller {
            name: "anonymous",
            bearer: None,
            filter: &[],
        },
        Caller {
            name: "consumer",
            bearer: Some(consumer.token.clone()),
            filter: &[],
        },
        Caller {
            name: "provider",
            bearer: Some(listed.provider.token.clone()),
            filter: &["--include-tag", "agents"],
        },
        Caller {
            name: "admin",
            bearer: Some(listed.admin.token.clone()),
            filter: &[],
        },
        Caller {
            name: "platform operator",
            bearer: Some(OPERATOR_TOKEN.to_owned()),
            filter: &["--include-tag", "platform"],
        },
    ];

    // Act
    let started = Instant::now();
    let mut failed = Vec::new();
    for caller in &callers {
        let (ok, output) = run(&app, &dir, caller).await;
        if !ok {
            failed.push(format!(
                "===== schemathesis as {} failed =====\n{output}",
                caller.name
            ));
        }
    }
    println!("schemathesis: all runs in {:.1?}", started.elapsed());

    // Assert
    if failed.is_empty() {
        let _ = tokio::fs::remove_dir_all(&dir).await;
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
