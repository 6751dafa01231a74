//! A newcomer's first run: the root points at the docs, list pages end the same way everywhere,
//! and `clawrent admin create-admin` keeps the password out of `ps` and shell history.

use crate::helpers::*;
use serde_json::{Value, json};
use std::process::Stdio;
use tokio::io::AsyncWriteExt as _;

#[tokio::test]
async fn the_root_redirects_to_the_interactive_docs() {
    let app = spawn_app().await;
    let root = app.get("/", &Auth::none()).await.expect(302);
    assert_eq!(root.header("location"), Some("/docs/"));
    // Where it points exists.
    app.get("/docs/", &Auth::none()).await.expect(200);
}

#[tokio::test]
async fn the_last_browse_page_has_no_next_cursor_key_like_the_transactions_list() {
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    for tag in ["first", "second"] {
        app.listed_agent_with(
            &provider,
            &admin,
            &unique_slug(tag),
            json!({ "priceAmount": "5.00" }),
        )
        .await;
    }
    let first = app
        .get("/api/marketplace/browse?limit=1", &provider.auth())
        .await
        .expect(200)
        .body;
    let cursor = first["nextCursor"]
        .as_str()
        .unwrap_or_else(|| panic!("a first page of two has a nextCursor: {first}"));
    let last = app
        .get(
            &format!("/api/marketplace/browse?limit=1&cursor={cursor}"),
            &provider.auth(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(last["data"].as_array().map(Vec::len), Some(1), "{last}");
    assert!(last.get("nextCursor").is_none(), "{last}");

    let transactions = app
        .get("/api/billing/wallet/transactions", &provider.auth())
        .await
        .expect(200)
        .body;
    assert!(transactions.get("nextCursor").is_none(), "{transactions}");
}

struct Case {
    name: &'static str,
    flag: bool,
    env: bool,
    stdin: &'static str,
    created: bool,
    stderr_has: &'static str,
}

#[tokio::test]
async fn create_admin_takes_the_password_from_the_environment_or_stdin_and_warns_about_the_flag() {
    let app = spawn_app().await;
    let url = app.state.settings.database_url.expose().to_owned();
    let password = "a long admin password from a safe place";
    let cases = [
        Case {
            name: "the first line of a piped standard input",
            flag: false,
            env: false,
            stdin: "a long admin password from a safe place\n",
            created: true,
            stderr_has: "",
        },
        Case {
            name: "CLAWRENT_ADMIN_PASSWORD, standard input unread",
            flag: false,
            env: true,
            stdin: "something else entirely\n",
            created: true,
            stderr_has: "",
        },
        Case {
            name: "the --password flag, with a warning",
            flag: true,
            env: false,
            stdin: "",
            created: true,
            stderr_has: "warning: --password is visible",
        },
        Case {
            name: "nothing at all",
            flag: false,
            env: false,
            stdin: "",
            created: false,
            stderr_has: "no password: set CLAWRENT_ADMIN_PASSWORD",
        },
    ];
    for case in cases {
        let email = unique_email("newcomer-admin");
        let mut command = tokio::process::Command::new(clawrent_binary());
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("DATABASE_URL", &url)
            .env("AUTO_MIGRATE", "false")
            .args(["admin", "create-admin", "--email", &email])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if case.flag {
            command.args(["--password", password]);
        }
        if case.env {
            command.env("CLAWRENT_ADMIN_PASSWORD", password);
        }
        let mut child = command.spawn().expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        // The process may exit before reading: a closed pipe is not this test's failure.
        let _ = stdin.write_all(case.stdin.as_bytes()).await;
        drop(stdin);
        let output = child.wait_with_output().await.expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.success(),
            case.created,
            "{}: {stderr}",
            case.name
        );
        assert!(stderr.contains(case.stderr_has), "{}: {stderr}", case.name);
        assert!(
            !stderr.contains(password),
            "{}: the password is echoed",
            case.name
        );
        let login = app.login(&email, password, &Auth::none()).await;
        if case.created {
            let body: Value = login.expect(200).body;
            assert_eq!(body["user"]["role"], "admin", "{}", case.name);
        } else {
            login.expect_error(401, "INVALID_CREDENTIALS");
        }
    }
}
