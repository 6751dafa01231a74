//! A NUL character (Postgres text cannot hold one) is a 400 `VALIDATION_ERROR` at the edge,
//! wherever it comes in: `%00` in any path segment or query parameter the served document lists,
//! `\u0000` in a JSON string or key. The refused requests change no row. An escaped backslash
//! followed by the text `u0000` is ordinary text and is accepted.

use super::support::assert_envelope;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

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

/// A body case: a name, the method, the path, who sends it and the JSON text.
type BodyCase = (&'static str, Method, String, Auth, String);

#[tokio::test]
async fn a_nul_in_a_json_string_or_key_is_a_400_and_changes_nothing() {
    // Arrange: a user, a provider's draft and pending agents, the default tenant's admin
    let app = spawn_app().await;
    let user = app.signup().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let draft = app
        .create_agent(&provider, &unique_slug("draft"), json!({}))
        .await;
    let pending = app
        .create_agent(&provider, &unique_slug("pending"), json!({}))
        .await;
    app.publish(&provider, &pending, json!({}))
        .await
        .expect(200);
    let email = unique_email("nul");
    let post = |name, path: &str, auth: Auth, body: &str| -> BodyCase {
        (name, Method::POST, path.to_owned(), auth, body.to_owned())
    };
    let patch = |name, path: &str, auth: Auth, body: &str| -> BodyCase {
        (name, Method::PATCH, path.to_owned(), auth, body.to_owned())
    };
    let agent_body = |name: &str, slug: &str, description: &str| {
        format!(r#"{{"name":"{name}","slug":"{slug}","description":"{description}"}}"#)
    };
    let slug = unique_slug("nul");
    let cases: Vec<BodyCase> = vec![
        post(
            "send-verification email",
            "/api/auth/send-verification",
            Auth::none(),
            r#"{"email":"a\u0000@example.com"}"#,
        ),
        post(
            "register name",
            "/api/auth/register",
            Auth::none(),
            &format!(
                r#"{{"email":"{email}","password":"{PASSWORD}","name":"Te\u0000st","verificationCode":"123456"}}"#
            ),
        ),
        post(
            "login email",
            "/api/auth/login",
            Auth::none(),
            &format!(
                r#"{{"email":"{}\u0000","password":"{PASSWORD}"}}"#,
                user.email
            ),
        ),
        post(
            "api-key name",
            "/api/auth/api-keys",
            user.auth(),
            r#"{"name":"key\u0000"}"#,
        ),
        post(
            "api-key: NUL in a key",
            "/api/auth/api-keys",
            user.auth(),
            r#"{"na\u0000me":"key"}"#,
        ),
        post(
            "agent name",
            "/api/agents",
            provider.auth(),
            &agent_body("Agent\\u0000x", &slug, "An agent that helps with tests"),
        ),
        post(
            "agent description",
            "/api/agents",
            provider.auth(),
            &agent_body("Agent x", &slug, "An agent that helps\\u0000 with tests"),
        ),
        post(
            "agent slug",
            "/api/agents",
            provider.auth(),
            &agent_body(
                "Agent x",
                &format!("{slug}\\u0000"),
                "An agent that helps with tests",
            ),
        ),
        post(
            "agent capability tag",
            "/api/agents",
            provider.auth(),
            &format!(
                r#"{{"name":"Agent x","slug":"{slug}","description":"An agent that helps with tests","capabilities":[{{"category":"testing","name":"T","description":"d","tags":["r\u0000"]}}]}}"#
            ),
        ),
        post(
            "agent: NUL as a whole key",
            "/api/agents",
            provider.auth(),
            &format!(
                r#"{{"name":"Agent x","slug":"{slug}","description":"An agent that helps with tests","\u0000":1}}"#
            ),
        ),
        patch(
            "agent update description",
            &format!("/api/agents/{draft}"),
            provider.auth(),
            r#"{"description":"Changed\u0000 description of the agent"}"#,
        ),
        patch(
            "agent online status",
            &format!("/api/agents/{draft}/status"),
            provider.auth(),
            r#"{"onlineStatus":"online\u0000"}"#,
        ),
        post(
            "publish endpoint",
            &format!("/api/agents/{draft}/publish"),
            provider.auth(),
            r#"{"endpoint":"https://agent.example.com/\u0000"}"#,
        ),
        post(
            "publish currency",
            &format!("/api/agents/{draft}/publish"),
            provider.auth(),
            r#"{"currency":"US\u0000D"}"#,
        ),
        post(
            "publish price",
            &format!("/api/agents/{draft}/publish"),
            provider.auth(),
            r#"{"priceAmount":"5\u0000"}"#,
        ),
        post(
            "topup amount",
            "/api/billing/wallet/topup",
            user.auth(),
            r#"{"amount":"10\u0000"}"#,
        ),
        post(
            "topup currency, keyed",
            "/api/billing/wallet/topup",
            user.auth()
                .with("idempotency-key", "nul-topup-1".to_owned()),
            r#"{"amount":"10.00","currency":"USD\u0000"}"#,
        ),
        post(
            "tenant slug",
            "/api/platform/tenants",
            Auth::operator(),
            r#"{"slug":"nul\u0000","name":"Nul"}"#,
        ),
        post(
            "tenant name",
            "/api/platform/tenants",
            Auth::operator(),
            r#"{"slug":"nul-name","name":"N\u0000ul"}"#,
        ),
        post(
            "tenant hostnames",
            "/api/platform/tenants",
            Auth::operator(),
            r#"{"slug":"nul-host","name":"Nul","hostnames":["nul\u0000.example.com"]}"#,
        ),
        patch(
            "tenant update name",
            "/api/platform/tenants/default",
            Auth::operator(),
            r#"{"name":"Default\u0000"}"#,
        ),
        post(
            "tenant admin name",
            "/api/platform/tenants/default/admins",
            Auth::operator(),
            &format!(r#"{{"email":"{email}","password":"{PASSWORD}","name":"Ad\u0000min"}}"#),
        ),
        post(
            "review reason",
            &format!("/api/admin/providers/{pending}/reject"),
            admin.auth(),
            r#"{"reason":"Not\u0000 good enough"}"#,
        ),
        post(
            "wallet adjustment reason",
            &format!("/api/admin/wallets/{}/adjustments", user.id),
            admin.auth(),
            r#"{"type":"credit","amount":"5.00","reason":"Goodwill\u0000"}"#,
        ),
    ];
    let before = app.snapshot().await;

    // Act
    let mut answers = Vec::new();
    for (name, method, path, auth, body) in &cases {
        assert!(
            body.contains("\\u0000"),
            "{name}: the case must carry an escaped NUL: {body}"
        );
        answers.push(app.send_raw_json(method.clone(), path, auth, body).await);
    }
    let after = app.snapshot().await;

    // Assert
    for ((name, ..), reply) in cases.iter().zip(&answers) {
        assert_envelope(reply, 400, "VALIDATION_ERROR", name);
        assert!(
            reply.text.contains("NUL"),
            "{name}: not refused for the NUL: {}",
            reply.text
        );
    }
    assert_eq!(before, after, "a refused body changed rows");
}

#[tokio::test]
async fn an_escaped_backslash_before_u0000_is_text_and_is_accepted() {
    // Arrange: `\\u0000` in JSON is a backslash and the five characters `u0000`
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let draft = app
        .create_agent(&provider, &unique_slug("draft"), json!({}))
        .await;
    let pending = app
        .create_agent(&provider, &unique_slug("pending"), json!({}))
        .await;
    app.publish(&provider, &pending, json!({}))
        .await
        .expect(200);
    let slug = unique_slug("text");
    let tenant = format!("bs-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let cases: Vec<(&str, Method, String, Auth, String, &str)> = vec![
        (
            "api-key name",
            Method::POST,
            "/api/auth/api-keys".to_owned(),
            provider.auth(),
            r#"{"name":"key\\u0000"}"#.to_owned(),
            "name",
        ),
        (
            "agent description",
            Method::POST,
            "/api/agents".to_owned(),
            provider.auth(),
            format!(
                r#"{{"name":"Agent x","slug":"{slug}","description":"An agent \\u0000 that helps"}}"#
            ),
            "description",
        ),
        (
            "agent update description",
            Method::PATCH,
            format!("/api/agents/{draft}"),
            provider.auth(),
            r#"{"description":"Changed \\u0000 description of the agent"}"#.to_owned(),
            "description",
        ),
        (
            "tenant name",
            Method::POST,
            "/api/platform/tenants".to_owned(),
            Auth::operator(),
            format!(r#"{{"slug":"{tenant}","name":"Tenant \\u0000"}}"#),
            "name",
        ),
        (
            "review reason",
            Method::POST,
            format!("/api/admin/providers/{pending}/reject"),
            admin.auth(),
            r#"{"reason":"Not good \\u0000 enough"}"#.to_owned(),
            "",
        ),
    ];

    for (name, method, path, auth, body, field) in cases {
        // Act
        let reply = app.send_raw_json(method, &path, &auth, &body).await;

        // Assert: accepted, and the text is stored as sent (a backslash, then u0000)
        assert!(
            reply.status.is_success(),
            "{name}: {} {}",
            reply.status,
            reply.text
        );
        if !field.is_empty() {
            let stored = reply.body[field].as_str().unwrap_or_default();
            assert!(stored.contains("\\u0000"), "{name}: {field} is {stored:?}");
        }
    }
}
