//! A NUL character in a JSON body (`\u0000` in a string or a key) is a 400 `VALIDATION_ERROR`
//! before any handler runs, and changes no row; an escaped backslash followed by the text `u0000`
//! is ordinary text and is stored as sent.

use super::support::assert_envelope;
use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

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
