//! A path that exists, called with a method it does not take, is 405 `METHOD_NOT_ALLOWED` with an
//! `Allow` header listing exactly the methods the served OpenAPI document gives that path.

use super::support::assert_envelope;
use crate::helpers::*;
use reqwest::Method;
use serde_json::Value;

const A_UUID: &str = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const METHODS: [&str; 5] = ["DELETE", "GET", "PATCH", "POST", "PUT"];

/// Each documented path with its `{params}` filled, and its methods (sorted, upper case).
fn documented(document: &Value) -> Vec<(String, String, Vec<String>)> {
    document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(template, item)| {
            let concrete = template
                .split('/')
                .map(|s| if s.starts_with('{') { A_UUID } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let mut methods: Vec<String> = item
                .as_object()
                .expect("path item")
                .keys()
                .map(|m| m.to_ascii_uppercase())
                .filter(|m| METHODS.contains(&m.as_str()))
                .collect();
            methods.sort();
            (template.clone(), concrete, methods)
        })
        .collect()
}

/// Whether `template` matches `path` (a `{param}` segment matches any non-empty segment).
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
}

async fn send(app: &TestApp, method: &str, path: &str) -> Reply {
    let method: Method = method.parse().expect("method");
    read(
        app.request(method, path, &Auth::none())
            .send()
            .await
            .expect("request"),
    )
    .await
}

#[tokio::test]
async fn a_wrong_method_is_a_405_listing_the_methods_the_path_takes() {
    // Arrange
    let app = spawn_app().await;
    let token = format!("/api/agents/{A_UUID}/token");
    let cases = [
        ("PUT", "/api/auth/me", "GET"),
        ("GET", token.as_str(), "DELETE, POST"),
        ("DELETE", "/api/marketplace/browse", "GET"),
        ("PUT", "/api/platform/tenants", "GET, POST"),
        ("DELETE", "/api/agents/my", "GET"),
        ("PUT", "/api/agents/my", "GET"),
        ("POST", "/api/agents/me/agent", "GET"),
    ];

    for (method, path, allow) in cases {
        // Act
        let reply = send(&app, method, path).await;

        // Assert
        let case = format!("{method} {path}");
        assert_envelope(&reply, 405, "METHOD_NOT_ALLOWED", &case);
        assert_eq!(reply.header("allow"), Some(allow), "{case}");
    }
}

#[tokio::test]
async fn patch_on_my_agents_is_a_405_allowing_get_not_a_patch_of_an_agent_named_my() {
    // /api/agents/my takes GET only; /api/agents/{id} takes PATCH, but "my" is the literal path,
    // as it is for GET (which lists my agents rather than looking up an agent "my")
    let app = spawn_app().await;
    let user = app.signup().await;

    let reply = app
        .patch(
            "/api/agents/my",
            &user.auth(),
            &serde_json::json!({ "name": "x" }),
        )
        .await;

    assert_envelope(&reply, 405, "METHOD_NOT_ALLOWED", "PATCH /api/agents/my");
    assert_eq!(reply.header("allow"), Some("GET"));
}

#[tokio::test]
async fn every_documented_path_answers_an_undocumented_method_with_its_documented_allow() {
    // Arrange: paths a more literal sibling shadows (/api/agents/my under /api/agents/{id}) are
    // left out: the concrete path there matches two templates
    let app = spawn_app().await;
    let document = app
        .get("/api/openapi.json", &Auth::none())
        .await
        .expect(200)
        .body;
    let paths = documented(&document);
    let mut cases = Vec::new();
    for (template, concrete, methods) in &paths {
        let shadowed = paths
            .iter()
            .filter(|(other, ..)| matches(other, concrete))
            .count()
            > 1;
        if shadowed {
            println!("skipped (shadowed): {template}");
            continue;
        }
        for method in METHODS.iter().filter(|m| !methods.iter().any(|d| d == *m)) {
            cases.push((
                template.clone(),
                concrete.clone(),
                *method,
                methods.join(", "),
            ));
        }
    }
    assert!(
        cases.len() > 100,
        "the document lists the paths: {}",
        cases.len()
    );

    // Act
    let mut answers = Vec::new();
    for (_, concrete, method, _) in &cases {
        answers.push(send(&app, method, concrete).await);
    }

    // Assert
    let wrong: Vec<String> = cases
        .iter()
        .zip(&answers)
        .filter(|((.., allow), reply)| {
            reply.status.as_u16() != 405
                || reply.body["error"] != "METHOD_NOT_ALLOWED"
                || reply.header("allow") != Some(allow.as_str())
        })
        .map(|((template, _, method, allow), reply)| {
            format!(
                "{method} {template}: {} Allow {:?} (documented {allow}) {}",
                reply.status,
                reply.header("allow"),
                reply.text
            )
        })
        .collect();
    println!("{} undocumented (path, method) pairs", cases.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
