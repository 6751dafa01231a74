//! A NUL character (Postgres text cannot hold one) is a 400 `VALIDATION_ERROR` at the edge
//! wherever it comes in through the URL: `%00` in any path segment or query parameter the served
//! document lists. The refused requests change no row; percent-encoded lookalikes pass.

use super::support::assert_envelope;
use crate::helpers::*;
use reqwest::Method;
use serde_json::Value;

const A_UUID: &str = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

/// Who may call a path: the operator for the platform API, an admin for the admin API, else a user.
fn principal_for<'a>(path: &str, user: &'a TestUser, admin: &'a TestUser) -> Option<&'a TestUser> {
    if path.starts_with("/api/platform/") {
        None
    } else if path.starts_with("/api/admin/") {
        Some(admin)
    } else {
        Some(user)
    }
}

fn auth_for(path: &str, user: &TestUser, admin: &TestUser) -> Auth {
    principal_for(path, user, admin).map_or_else(Auth::operator, TestUser::auth)
}

/// Every (method, path with `%00` in one parameter) the served document allows: each path
/// parameter in turn, and each query parameter in turn (the others filled with a valid UUID).
fn nul_cases_from_document(document: &Value) -> Vec<(Method, String)> {
    let mut cases = Vec::new();
    for (template, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let Ok(method) = method.to_ascii_uppercase().parse::<Method>() else {
                continue;
            };
            let params = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let named = |place: &str| -> Vec<String> {
                params
                    .iter()
                    .filter(|p| p["in"] == place)
                    .filter_map(|p| p["name"].as_str().map(str::to_owned))
                    .collect()
            };
            let fill = |nul_in: Option<&str>| {
                named("path").iter().fold(template.clone(), |path, name| {
                    let value = if nul_in == Some(name.as_str()) {
                        "a%00"
                    } else {
                        A_UUID
                    };
                    path.replace(&format!("{{{name}}}"), value)
                })
            };
            for name in named("path") {
                cases.push((method.clone(), fill(Some(&name))));
            }
            for name in named("query") {
                cases.push((method.clone(), format!("{}?{name}=%00", fill(None))));
            }
        }
    }
    cases
}

#[tokio::test]
async fn a_nul_in_any_path_or_query_parameter_is_a_400_and_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let admin = app.default_admin().await;
    let document = app
        .get("/api/openapi.json", &Auth::none())
        .await
        .expect(200)
        .body;
    let mut cases: Vec<(Method, String)> = [
        "/api/marketplace/browse?search=%00",
        "/api/marketplace/browse?category=a%00",
        "/api/marketplace/browse?currency=%00",
        "/api/marketplace/browse?sort=%00",
        "/api/marketplace/browse?cursor=%00",
        "/api/marketplace/browse?search=ok&category=a%00b",
        "/api/marketplace/agents/a%00",
        "/api/agents/%00",
        "/api/favorites/%00",
        "/api/admin/wallets/%00",
        "/api/platform/tenants/%00",
        "/api/billing/wallet?currency=%00",
        "/api/billing/wallet/transactions?cursor=%00",
        "/api/no-such-route/%00",
    ]
    .iter()
    .map(|p| (Method::GET, (*p).to_owned()))
    .collect();
    cases.push((Method::POST, "/api/favorites/%00".to_owned()));
    cases.push((Method::DELETE, format!("/api/auth/api-keys/{A_UUID}%00")));
    let derived = nul_cases_from_document(&document);
    assert!(
        derived.len() >= 40,
        "the document lists the parameters: {derived:?}"
    );
    cases.extend(derived);
    let before = app.snapshot().await;

    // Act
    let mut answers = Vec::new();
    for (method, path) in &cases {
        let auth = auth_for(path, &user, &admin);
        let reply = match method {
            &Method::POST | &Method::PATCH => {
                app.send_raw_json(method.clone(), path, &auth, "{}").await
            }
            _ => {
                read(
                    app.request(method.clone(), path, &auth)
                        .send()
                        .await
                        .expect("request"),
                )
                .await
            }
        };
        answers.push(reply);
    }
    let after = app.snapshot().await;

    // Assert
    println!("{} NUL requests", cases.len());
    for ((method, path), reply) in cases.iter().zip(&answers) {
        assert_envelope(reply, 400, "VALIDATION_ERROR", &format!("{method} {path}"));
    }
    assert_eq!(before, after, "a refused request changed rows");
}

#[tokio::test]
async fn percent_encoded_lookalikes_of_nul_are_not_refused_as_nul() {
    // Arrange: `%2500` is the text "%00", `100` merely contains "00"
    let app = spawn_app().await;
    let user = app.signup().await;
    let cases = [
        ("/api/marketplace/browse?search=%2500", 200, None),
        ("/api/marketplace/browse?search=100", 200, None),
        ("/api/marketplace/agents/a%2500", 404, Some("NOT_FOUND")),
        ("/api/marketplace/agents/a%20b", 404, Some("NOT_FOUND")),
    ];

    for (path, status, code) in cases {
        // Act
        let reply = app.get(path, &user.auth()).await;

        // Assert
        match code {
            Some(code) => assert_envelope(&reply, status, code, path),
            None => assert_eq!(reply.status.as_u16(), status, "{path}: {}", reply.text),
        }
    }
}
