use crate::helpers::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TENANTS: &str = "/api/platform/tenants";
const OTHER_PASSWORD: &str = "a different passphrase 4711";

fn tenant_path(slug: &str) -> String {
    format!("{TENANTS}/{slug}")
}

fn admins_path(slug: &str) -> String {
    format!("{TENANTS}/{slug}/admins")
}

/// A slug no other test uses.
fn fresh_slug(tag: &str) -> String {
    format!("{tag}-{}", &uuid::Uuid::now_v7().simple().to_string()[20..])
}

/// A hostname no other test uses.
fn fresh_host(tag: &str) -> String {
    format!(
        "{tag}-{}.example.test",
        &uuid::Uuid::now_v7().simple().to_string()[20..]
    )
}

/// `2026-07-13T00:00:00.000Z`: milliseconds and Z.
fn assert_millis_utc(value: &Value, what: &str) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value}"));
    assert_eq!(text.len(), 24, "{what}: {text}");
    assert_eq!(text.as_bytes()[19], b'.', "{what}: {text}");
    assert!(text.ends_with('Z'), "{what}: {text}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        "{what}: {text}"
    );
}

async fn tenant_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM tenants").await
}

async fn users_with_email(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .expect("count users")
}

/// Registers `email` with `password` in the tenant `slug` through the real mail flow.
async fn register_in(app: &TestApp, slug: &str, email: &str, password: &str) -> Reply {
    app.send_verification(email, &Auth::none().tenant(slug))
        .await
        .expect(200);
    let code = smtp().latest_code(email);
    app.register(email, password, &code, &Auth::none().tenant(slug))
        .await
}

/// The tenant as the operator reads it back.
async fn read_tenant(app: &TestApp, slug: &str) -> Value {
    app.get(&tenant_path(slug), &Auth::operator())
        .await
        .expect(200)
        .body
}

/// Creates a tenant with hostnames and returns its slug.
async fn create_tenant_with_hosts(app: &TestApp, tag: &str, hostnames: &[&str]) -> String {
    let slug = fresh_slug(tag);
    let body = json!({ "slug": slug, "name": format!("Tenant {tag}"), "hostnames": hostnames });
    app.post(TENANTS, &Auth::operator(), &body)
        .await
        .expect(201);
    slug
}

// ---------------------------------------------------------------------------------------------
// Operator authentication
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_platform_api_without_authorization_is_401_unauthorized() {
    // Arrange
    let app = spawn_app().await;
    let before = tenant_count(&app).await;
    let create = json!({ "slug": fresh_slug("anon"), "name": "Anon" });
    let admin = json!({ "email": unique_email("anon"), "password": PASSWORD, "name": "Anon" });

    // Act
    let replies = [
        ("list", app.get(TENANTS, &Auth::none()).await),
        ("create", app.post(TENANTS, &Auth::none(), &create).await),
        ("get", app.get(&tenant_path("default"), &Auth::none()).await),
        (
            "patch",
            app.patch(
                &tenant_path("default"),
                &Auth::none(),
                &json!({ "name": "Hijacked" }),
            )
            .await,
        ),
        (
            "admins",
            app.post(&admins_path("default"), &Auth::none(), &admin)
                .await,
        ),
    ];

    // Assert
    for (endpoint, reply) in replies {
        assert_eq!(reply.status.as_u16(), 401, "{endpoint}: {}", reply.text);
        assert_eq!(
            reply.body["error"], "UNAUTHORIZED",
            "{endpoint}: {}",
            reply.text
        );
    }
    assert_eq!(tenant_count(&app).await, before, "no tenant was created");
    assert_eq!(
        read_tenant(&app, "default").await["name"],
        "Default marketplace",
        "the default tenant was not renamed"
    );
    assert_eq!(
        users_with_email(&app, admin["email"].as_str().expect("email")).await,
        0,
        "no admin was created"
    );
}

#[tokio::test]
async fn a_wrong_operator_token_is_401_invalid_token() {
    // Arrange
    let app = spawn_app().await;
    let before = tenant_count(&app).await;
    let cases: Vec<(&str, String)> = vec![
        (
            "another token",
            "Bearer not-the-operator-token-0123456789".to_owned(),
        ),
        (
            "the token with a suffix",
            format!("Bearer {OPERATOR_TOKEN}x"),
        ),
        (
            "a prefix of the token",
            format!("Bearer {}", &OPERATOR_TOKEN[..OPERATOR_TOKEN.len() - 1]),
        ),
        ("an empty bearer", "Bearer ".to_owned()),
        (
            "the token under another scheme",
            format!("Basic {OPERATOR_TOKEN}"),
        ),
        ("the bare token without a scheme", OPERATOR_TOKEN.to_owned()),
    ];

    for (why, header) in cases {
        // Act
        let auth = Auth::none().with("authorization", header);
        let listed = app.get(TENANTS, &auth).await;
        let created = app
            .post(
                TENANTS,
                &auth,
                &json!({ "slug": fresh_slug("bad"), "name": "Bad" }),
            )
            .await;

        // Assert
        listed.expect_error(401, "INVALID_TOKEN");
        let created = created.expect_error(401, "INVALID_TOKEN");
        assert!(
            !created.text.contains(OPERATOR_TOKEN),
            "{why}: the error must not echo the token"
        );
    }
    assert_eq!(tenant_count(&app).await, before, "no tenant was created");
}

#[tokio::test]
async fn a_users_jwt_or_api_key_is_not_an_operator_credential() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let admin = app.admin_in("default").await;
    let before = tenant_count(&app).await;
    let cases = [
        ("a consumer's JWT", Auth::bearer(&user.token)),
        ("a tenant admin's JWT", Auth::bearer(&admin.token)),
        ("an API key as bearer", Auth::bearer(&user.api_key)),
    ];

    for (why, auth) in cases {
        // Act
        let reply = app
            .post(
                TENANTS,
                &auth,
                &json!({ "slug": fresh_slug("user"), "name": "By a user" }),
            )
            .await;

        // Assert
        assert_eq!(reply.status.as_u16(), 401, "{why}: {}", reply.text);
        assert_eq!(
            reply.body["error"], "INVALID_TOKEN",
            "{why}: {}",
            reply.text
        );
    }
    assert_eq!(tenant_count(&app).await, before, "no tenant was created");
}

#[tokio::test]
async fn the_platform_api_is_403_disabled_when_no_operator_token_is_configured() {
    // Arrange
    let app = spawn_app_with(&[("PLATFORM_OPERATOR_TOKEN", "")]).await;
    let before = tenant_count(&app).await;

    // Act
    let with_token = app
        .post(
            TENANTS,
            &Auth::operator(),
            &json!({ "slug": fresh_slug("off"), "name": "Off" }),
        )
        .await;
    let without_token = app.get(TENANTS, &Auth::none()).await;
    let empty_bearer = app
        .get(
            TENANTS,
            &Auth::none().with("authorization", "Bearer ".to_owned()),
        )
        .await;

    // Assert
    with_token.expect_error(403, "PLATFORM_API_DISABLED");
    without_token.expect_error(403, "PLATFORM_API_DISABLED");
    empty_bearer.expect_error(403, "PLATFORM_API_DISABLED");
    assert_eq!(tenant_count(&app).await, before, "no tenant was created");
}

#[tokio::test]
async fn the_operator_bearer_scheme_is_case_insensitive() {
    // RFC 9110 §11.1: the auth scheme is a case-insensitive token; user credentials already accept
    // `bearer`, so the operator token must too.
    let app = spawn_app().await;
    for scheme in ["bearer", "BEARER"] {
        let auth = Auth::none().with("authorization", format!("{scheme} {OPERATOR_TOKEN}"));
        let reply = app.get(TENANTS, &auth).await;
        assert_eq!(
            reply.status.as_u16(),
            200,
            "scheme {scheme:?}: {}",
            reply.text
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Creating, listing and reading tenants
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_tenant_returns_201_with_its_defaults() {
    // Arrange
    let app = spawn_app().await;
    let slug = fresh_slug("acme");

    // Act
    let reply = app
        .post(
            TENANTS,
            &Auth::operator(),
            &json!({ "slug": slug, "name": "  Acme agents  " }),
        )
        .await;

    // Assert
    let body = reply.expect(201).body;
    let id = body["id"].as_str().expect("id");
    let id = uuid::Uuid::parse_str(id).expect("id is a UUID");
    assert_eq!(body["slug"], slug.as_str());
    assert_eq!(body["name"], "Acme agents", "the name is trimmed");
    assert_eq!(body["status"], "active");
    assert_eq!(
        body["feeRate"], "0.1500",
        "the fee rate is a 4-decimal string"
    );
    assert_eq!(body["currencies"], json!(["CNY", "USD"]));
    assert_eq!(body["hostnames"], json!([]));
    assert_eq!(body["isDefault"], false);
    assert_millis_utc(&body["createdAt"], "createdAt");
    assert_millis_utc(&body["updatedAt"], "updatedAt");
    let stored: (String, String, bool) =
        sqlx::query_as("SELECT slug, name, is_default FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .expect("the tenant row exists");
    assert_eq!(stored, (slug.clone(), "Acme agents".to_owned(), false));
    assert_eq!(
        read_tenant(&app, &slug).await,
        body,
        "reading it back gives the same view"
    );
}

#[tokio::test]
async fn creating_a_tenant_stores_fee_rate_currencies_and_normalised_hostnames() {
    // Arrange
    let app = spawn_app().await;
    let slug = fresh_slug("shop");
    let host = fresh_host("shop");
    let body = json!({
        "slug": slug,
        "name": "Shop",
        "feeRate": "0.05",
        "currencies": ["USD", "EUR", "USD"],
        "hostnames": [host.to_uppercase(), format!("www.{host}."), host],
    });

    // Act
    let reply = app
        .post(TENANTS, &Auth::operator(), &body)
        .await
        .expect(201);

    // Assert
    assert_eq!(reply.body["feeRate"], "0.0500");
    assert_eq!(
        reply.body["currencies"],
        json!(["USD", "EUR"]),
        "duplicates are dropped, order kept"
    );
    assert_eq!(
        reply.body["hostnames"],
        json!([host.clone(), format!("www.{host}")]),
        "lowercased, trailing dot dropped, deduplicated, sorted"
    );
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT h.hostname FROM tenant_hostnames h JOIN tenants t ON t.id = h.tenant_id WHERE t.slug = $1 ORDER BY 1",
    )
    .bind(&slug)
    .fetch_all(&app.db)
    .await
    .expect("hostnames");
    assert_eq!(stored, vec![host.clone(), format!("www.{host}")]);
}

#[tokio::test]
async fn a_zero_fee_rate_is_accepted_and_shown_with_four_decimals() {
    // Every other rate reads back with 4 decimals ("0.1500", "0.0500"); zero must not be the
    // odd one out ("0"), or clients that compare or parse fixed-scale strings break.
    let app = spawn_app().await;
    let slug = fresh_slug("free");
    let created = app
        .post(
            TENANTS,
            &Auth::operator(),
            &json!({ "slug": slug, "name": "Free", "feeRate": "0" }),
        )
        .await;
    assert_eq!(created.expect(201).body["feeRate"], "0.0000");
    let patched = app
        .patch(
            &tenant_path(&slug),
            &Auth::operator(),
            &json!({ "feeRate": "0.0" }),
        )
        .await;
    assert_eq!(patched.expect(200).body["feeRate"], "0.0000");
    assert_eq!(read_tenant(&app, &slug).await["feeRate"], "0.0000");
}

#[tokio::test]
async fn a_duplicate_slug_is_409_conflict_and_creates_nothing() {
    // Arrange
    let app = spawn_app().await;
    let slug = app.create_tenant("dup").await;
    let before = tenant_count(&app).await;

    // Act
    let again = app
        .post(
            TENANTS,
            &Auth::operator(),
            &json!({ "slug": slug, "name": "Second" }),
        )
        .await;
    let default = app
        .post(
            TENANTS,
            &Auth::operator(),
            &json!({ "slug": "default", "name": "Another default" }),
        )
        .await;

    // Assert
    let again = again.expect_error(409, "CONFLICT");
    assert_eq!(again.body["details"]["field"], "slug", "{}", again.text);
    default.expect_error(409, "CONFLICT");
    assert_eq!(tenant_count(&app).await, before, "no tenant was created");
    assert_eq!(
        read_tenant(&app, &slug).await["name"],
        "Tenant dup",
        "the first tenant is unchanged"
    );
}

#[tokio::test]
async fn invalid_tenant_fields_are_400_validation_error_and_create_nothing() {
    // Arrange
    let app = spawn_app().await;
    let before = tenant_count(&app).await;
    let ok = |patch: Value| {
        let mut body = json!({ "slug": fresh_slug("bad"), "name": "Valid name" });
        for (k, v) in patch.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let many_hosts: Vec<String> = (0..21).map(|i| format!("h{i}.example.test")).collect();
    let many_codes: Vec<String> = (0..17u8)
        .map(|i| format!("A{}{}", char::from(b'A' + i), 'X'))
        .collect();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("empty slug", ok(json!({ "slug": "" })), "slug"),
        ("uppercase slug", ok(json!({ "slug": "Acme" })), "slug"),
        (
            "slug with a leading hyphen",
            ok(json!({ "slug": "-acme" })),
            "slug",
        ),
        (
            "slug with a trailing hyphen",
            ok(json!({ "slug": "acme-" })),
            "slug",
        ),
        ("slug with a space", ok(json!({ "slug": "ac me" })), "slug"),
        (
            "slug with an underscore",
            ok(json!({ "slug": "ac_me" })),
            "slug",
        ),
        (
            "slug of 51 characters",
            ok(json!({ "slug": "a".repeat(51) })),
            "slug",
        ),
        ("slug as a number", ok(json!({ "slug": 5 })), "slug"),
        ("empty name", ok(json!({ "name": "" })), "name"),
        ("blank name", ok(json!({ "name": "   " })), "name"),
        (
            "name of 101 characters",
            ok(json!({ "name": "n".repeat(101) })),
            "name",
        ),
        (
            "name with a control character",
            ok(json!({ "name": "bad\u{0007}name" })),
            "name",
        ),
        (
            "name with NUL",
            ok(json!({ "name": "bad\u{0000}name" })),
            "name",
        ),
        ("fee rate of 1", ok(json!({ "feeRate": "1" })), "feeRate"),
        (
            "negative fee rate",
            ok(json!({ "feeRate": "-0.1" })),
            "feeRate",
        ),
        (
            "fee rate with 5 decimals",
            ok(json!({ "feeRate": "0.12345" })),
            "feeRate",
        ),
        (
            "fee rate as a JSON number",
            ok(json!({ "feeRate": 0.1 })),
            "feeRate",
        ),
        (
            "fee rate that is not a number",
            ok(json!({ "feeRate": "abc" })),
            "feeRate",
        ),
        ("empty fee rate", ok(json!({ "feeRate": "" })), "feeRate"),
        (
            "no currencies",
            ok(json!({ "currencies": [] })),
            "currencies",
        ),
        (
            "lowercase currency",
            ok(json!({ "currencies": ["usd"] })),
            "currencies",
        ),
        (
            "four-letter currency",
            ok(json!({ "currencies": ["USDT"] })),
            "currencies",
        ),
        (
            "17 currencies",
            ok(json!({ "currencies": many_codes })),
            "currencies",
        ),
        (
            "currencies as a string",
            ok(json!({ "currencies": "USD" })),
            "currencies",
        ),
        (
            "hostname with a space",
            ok(json!({ "hostnames": ["bad host"] })),
            "hostnames",
        ),
        (
            "hostname with a leading hyphen",
            ok(json!({ "hostnames": ["-x.example.test"] })),
            "hostnames",
        ),
        (
            "hostname with an empty label",
            ok(json!({ "hostnames": ["a..example.test"] })),
            "hostnames",
        ),
        (
            "empty hostname",
            ok(json!({ "hostnames": [""] })),
            "hostnames",
        ),
        (
            "hostname with a port",
            ok(json!({ "hostnames": ["shop.example.test:8080"] })),
            "hostnames",
        ),
        (
            "21 hostnames",
            ok(json!({ "hostnames": many_hosts })),
            "hostnames",
        ),
        (
            "localhost (it would capture the default tenant's local traffic)",
            ok(json!({ "hostnames": ["localhost"] })),
            "hostnames",
        ),
        (
            "a subdomain of localhost",
            ok(json!({ "hostnames": ["shop.localhost"] })),
            "hostnames",
        ),
        (
            "an IPv4 literal",
            ok(json!({ "hostnames": ["127.0.0.1"] })),
            "hostnames",
        ),
        (
            "an IPv6 literal",
            ok(json!({ "hostnames": ["[::1]"] })),
            "hostnames",
        ),
        (
            "a single-label name (a Kubernetes Service name)",
            ok(json!({ "hostnames": ["clawrent"] })),
            "hostnames",
        ),
        (
            "hostnames as a string",
            ok(json!({ "hostnames": "shop.example.test" })),
            "hostnames",
        ),
    ];

    for (why, body, field) in cases {
        // Act
        let reply = app.post(TENANTS, &Auth::operator(), &body).await;

        // Assert
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(
            reply.body["error"], "VALIDATION_ERROR",
            "{why}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["details"]["field"], field,
            "{why}: {}",
            reply.text
        );
        let message = reply.body["message"].as_str().expect("message");
        assert!(
            message.contains(field),
            "{why}: the message names {field}: {message}"
        );
    }
    assert_eq!(tenant_count(&app).await, before, "no tenant was created");
    assert_eq!(
        app.count("SELECT count(*) FROM tenant_hostnames").await,
        0,
        "no hostname was stored"
    );
}

#[tokio::test]
async fn missing_required_tenant_fields_are_400_naming_them() {
    let app = spawn_app().await;
    let before = tenant_count(&app).await;
    let cases = [
        ("no slug", json!({ "name": "No slug" }), "slug"),
        ("no name", json!({ "slug": fresh_slug("noname") }), "name"),
    ];
    for (why, body, field) in cases {
        let reply = app.post(TENANTS, &Auth::operator(), &body).await;
        let reply = reply.expect_error(400, "VALIDATION_ERROR");
        let message = reply.body["message"].as_str().expect("message");
        assert!(message.contains(field), "{why}: {message}");
    }
    assert_eq!(tenant_count(&app).await, before, "no tenant was created");
}

#[tokio::test]
async fn a_hostname_taken_by_another_tenant_is_409_on_create_and_creates_nothing() {
    // Arrange
    let app = spawn_app().await;
    let host = fresh_host("taken");
    let owner = create_tenant_with_hosts(&app, "owner", &[host.as_str()]).await;
    let before = tenant_count(&app).await;
    let slug = fresh_slug("thief");

    // Act
    let body = json!({ "slug": slug, "name": "Thief", "hostnames": [format!("free.{host}"), host.to_uppercase()] });
    let reply = app.post(TENANTS, &Auth::operator(), &body).await;

    // Assert
    let reply = reply.expect_error(409, "CONFLICT");
    assert_eq!(
        reply.body["details"]["field"], "hostnames",
        "{}",
        reply.text
    );
    assert_eq!(
        tenant_count(&app).await,
        before,
        "the tenant row was rolled back"
    );
    app.get(&tenant_path(&slug), &Auth::operator())
        .await
        .expect_error(404, "NOT_FOUND");
    assert_eq!(
        read_tenant(&app, &owner).await["hostnames"],
        json!([host]),
        "the owner keeps its hostname"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM tenant_hostnames").await,
        1,
        "the free hostname was not stored either"
    );
}

#[tokio::test]
async fn listing_tenants_pages_through_all_of_them_including_default() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("lista").await;
    let b = app.create_tenant("listb").await;
    let total = tenant_count(&app).await;
    assert_eq!(total, 3, "default plus two");

    // Act
    let all = app
        .get(&format!("{TENANTS}?limit=100"), &Auth::operator())
        .await
        .expect(200)
        .body;
    let first = app
        .get(&format!("{TENANTS}?page=1&limit=2"), &Auth::operator())
        .await
        .expect(200)
        .body;
    let second = app
        .get(&format!("{TENANTS}?page=2&limit=2"), &Auth::operator())
        .await
        .expect(200)
        .body;
    let beyond = app
        .get(&format!("{TENANTS}?page=3&limit=2"), &Auth::operator())
        .await
        .expect(200)
        .body;
    let defaults = app.get(TENANTS, &Auth::operator()).await.expect(200).body;

    // Assert
    let slugs = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|t| t["slug"].as_str().expect("slug").to_owned())
            .collect()
    };
    assert_eq!(
        slugs(&all),
        vec!["default".to_owned(), a.clone(), b.clone()],
        "creation order"
    );
    assert_eq!(
        (
            all["total"].as_i64(),
            all["page"].as_u64(),
            all["limit"].as_u64()
        ),
        (Some(total), Some(1), Some(100))
    );
    let default = &all["data"][0];
    assert_eq!(default["isDefault"], true);
    assert_eq!(default["status"], "active");
    assert_eq!(slugs(&first), vec!["default".to_owned(), a]);
    assert_eq!(
        (
            first["total"].as_i64(),
            first["page"].as_u64(),
            first["limit"].as_u64()
        ),
        (Some(3), Some(1), Some(2))
    );
    assert_eq!(slugs(&second), vec![b]);
    assert_eq!(
        (second["total"].as_i64(), second["page"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(slugs(&beyond), Vec::<String>::new());
    assert_eq!(beyond["total"], 3);
    assert_eq!(
        (defaults["page"].as_u64(), defaults["limit"].as_u64()),
        (Some(1), Some(20)),
        "defaults"
    );
}

#[tokio::test]
async fn invalid_paging_on_the_tenant_list_is_400() {
    let app = spawn_app().await;
    let cases = [
        ("limit above 100", "?limit=101", "limit"),
        ("limit zero", "?limit=0", "limit"),
        ("page zero", "?page=0", "page"),
    ];
    for (why, query, field) in cases {
        let reply = app
            .get(&format!("{TENANTS}{query}"), &Auth::operator())
            .await;
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(
            reply.body["error"], "VALIDATION_ERROR",
            "{why}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["details"]["field"], field,
            "{why}: {}",
            reply.text
        );
    }
    let reply = app
        .get(&format!("{TENANTS}?limit=abc"), &Auth::operator())
        .await;
    reply.expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn an_unknown_or_malformed_slug_is_404_not_found() {
    let app = spawn_app().await;
    let long = "a".repeat(300);
    let cases = [
        ("unknown", "no-such-tenant"),
        ("uppercase", "DEFAULT"),
        ("too long", long.as_str()),
        ("encoded space", "de%20fault"),
    ];
    for (why, slug) in cases {
        let reply = app.get(&tenant_path(slug), &Auth::operator()).await;
        assert_eq!(reply.status.as_u16(), 404, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], "NOT_FOUND", "{why}: {}", reply.text);
    }
    // A NUL never reaches routing: it is refused at the edge for every path.
    let reply = app.get(&tenant_path("%00"), &Auth::operator()).await;
    reply.expect_error(400, "VALIDATION_ERROR");
}

// ---------------------------------------------------------------------------------------------
// Updating tenants
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn patching_a_tenant_changes_only_the_given_fields() {
    // Arrange
    let app = spawn_app().await;
    let host = fresh_host("old");
    let slug = create_tenant_with_hosts(&app, "patch", &[host.as_str()]).await;
    let created = read_tenant(&app, &slug).await;

    // Act
    let renamed = app
        .patch(
            &tenant_path(&slug),
            &Auth::operator(),
            &json!({ "name": "Renamed" }),
        )
        .await
        .expect(200)
        .body;

    // Assert: only the name changed
    assert_eq!(renamed["name"], "Renamed");
    for field in [
        "id",
        "slug",
        "status",
        "feeRate",
        "currencies",
        "hostnames",
        "isDefault",
        "createdAt",
    ] {
        assert_eq!(
            renamed[field], created[field],
            "{field} is unchanged by a name-only patch"
        );
    }
    assert!(
        renamed["updatedAt"].as_str() >= created["updatedAt"].as_str(),
        "updatedAt moves forward"
    );

    // Act
    let new_host = fresh_host("new");
    let body =
        json!({ "feeRate": "0.2", "currencies": ["EUR"], "hostnames": [new_host.to_uppercase()] });
    let patched = app
        .patch(&tenant_path(&slug), &Auth::operator(), &body)
        .await
        .expect(200)
        .body;

    // Assert
    assert_eq!(patched["name"], "Renamed");
    assert_eq!(patched["feeRate"], "0.2000");
    assert_eq!(patched["currencies"], json!(["EUR"]));
    assert_eq!(
        patched["hostnames"],
        json!([new_host.clone()]),
        "hostnames are replaced, not appended"
    );
    assert_eq!(
        read_tenant(&app, &slug).await,
        patched,
        "the change is persisted"
    );
    assert_millis_utc(&patched["updatedAt"], "updatedAt");

    // Act: an empty list removes every hostname
    let cleared = app
        .patch(
            &tenant_path(&slug),
            &Auth::operator(),
            &json!({ "hostnames": [] }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cleared["hostnames"], json!([]));
    assert_eq!(app.count("SELECT count(*) FROM tenant_hostnames").await, 0);
}

#[tokio::test]
async fn invalid_patch_fields_are_400_and_change_nothing() {
    // Arrange
    let app = spawn_app().await;
    let host = fresh_host("keep");
    let slug = create_tenant_with_hosts(&app, "keep", &[host.as_str()]).await;
    let before = read_tenant(&app, &slug).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("empty name", json!({ "name": "" }), "name"),
        (
            "name of 101 characters",
            json!({ "name": "n".repeat(101) }),
            "name",
        ),
        ("fee rate of 1", json!({ "feeRate": "1" }), "feeRate"),
        ("negative fee rate", json!({ "feeRate": "-0.1" }), "feeRate"),
        (
            "fee rate with 5 decimals",
            json!({ "feeRate": "0.12345" }),
            "feeRate",
        ),
        (
            "fee rate as a JSON number",
            json!({ "feeRate": 0.1 }),
            "feeRate",
        ),
        ("no currencies", json!({ "currencies": [] }), "currencies"),
        (
            "lowercase currency",
            json!({ "currencies": ["eur"] }),
            "currencies",
        ),
        (
            "invalid hostname",
            json!({ "hostnames": ["bad host"] }),
            "hostnames",
        ),
        ("unknown status", json!({ "status": "paused" }), "status"),
        (
            "status in capitals",
            json!({ "status": "SUSPENDED" }),
            "status",
        ),
        (
            "valid name but invalid fee rate",
            json!({ "name": "Changed", "feeRate": "2" }),
            "feeRate",
        ),
    ];

    for (why, body, field) in cases {
        // Act
        let reply = app
            .patch(&tenant_path(&slug), &Auth::operator(), &body)
            .await;

        // Assert
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(
            reply.body["error"], "VALIDATION_ERROR",
            "{why}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["details"]["field"], field,
            "{why}: {}",
            reply.text
        );
        assert_eq!(
            read_tenant(&app, &slug).await,
            before,
            "{why}: nothing changed"
        );
    }
}

#[tokio::test]
async fn a_hostname_used_by_another_tenant_is_409_on_patch_and_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let theirs = fresh_host("theirs");
    let mine = fresh_host("mine");
    let owner = create_tenant_with_hosts(&app, "owner", &[theirs.as_str()]).await;
    let slug = create_tenant_with_hosts(&app, "other", &[mine.as_str()]).await;
    let before = read_tenant(&app, &slug).await;

    // Act
    let body = json!({ "name": "Should not stick", "hostnames": [mine.clone(), theirs.clone()] });
    let reply = app
        .patch(&tenant_path(&slug), &Auth::operator(), &body)
        .await;

    // Assert
    let reply = reply.expect_error(409, "CONFLICT");
    assert_eq!(
        reply.body["details"]["field"], "hostnames",
        "{}",
        reply.text
    );
    assert_eq!(
        read_tenant(&app, &slug).await,
        before,
        "the whole patch was rolled back"
    );
    assert_eq!(
        read_tenant(&app, &owner).await["hostnames"],
        json!([theirs]),
        "the owner keeps its hostname"
    );
}

#[tokio::test]
async fn suspending_the_default_tenant_is_409_conflict() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let before = read_tenant(&app, "default").await;

    // Act
    let reply = app
        .patch(
            &tenant_path("default"),
            &Auth::operator(),
            &json!({ "status": "suspended", "name": "Gone" }),
        )
        .await;

    // Assert
    reply.expect_error(409, "CONFLICT");
    assert_eq!(
        read_tenant(&app, "default").await,
        before,
        "the default tenant is unchanged"
    );
    app.me(&user.auth()).await.expect(200);
}

#[tokio::test]
async fn patching_an_unknown_tenant_is_404_not_found() {
    let app = spawn_app().await;
    let before = tenant_count(&app).await;
    let reply = app
        .patch(
            &tenant_path("no-such-tenant"),
            &Auth::operator(),
            &json!({ "name": "Ghost" }),
        )
        .await;
    reply.expect_error(404, "NOT_FOUND");
    assert_eq!(tenant_count(&app).await, before);
}

// ---------------------------------------------------------------------------------------------
// Routing a request to its tenant
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_x_tenant_header_selects_the_tenant() {
    // Arrange
    let app = spawn_app().await;
    let slug = app.create_tenant("acme").await;
    let user = app.signup_in(Some(&slug)).await;
    let tenant_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1")
        .bind(&slug)
        .fetch_one(&app.db)
        .await
        .expect("tenant id");

    // Act
    let me = app
        .me(&Auth::bearer(&user.token).tenant(&slug))
        .await
        .expect(200)
        .body;
    let padded = app
        .me(&Auth::bearer(&user.token).with("x-tenant", format!("  {slug} ")))
        .await;

    // Assert
    assert_eq!(me["tenant"]["slug"], slug.as_str());
    assert_eq!(me["tenant"]["id"], tenant_id.to_string());
    assert_eq!(me["tenant"]["name"], "Tenant acme");
    assert_eq!(
        padded.expect(200).body["tenant"]["slug"],
        slug.as_str(),
        "the header value is trimmed"
    );
    let stored: uuid::Uuid = sqlx::query_scalar("SELECT tenant_id FROM users WHERE id = $1::uuid")
        .bind(&user.id)
        .fetch_one(&app.db)
        .await
        .expect("user row");
    assert_eq!(
        stored, tenant_id,
        "the user was registered in the X-Tenant tenant"
    );
}

#[tokio::test]
async fn an_unknown_x_tenant_is_404_tenant_not_found() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let email = unique_email("nowhere");
    let cases: Vec<(&str, String)> = vec![
        ("unknown slug", "no-such-tenant".to_owned()),
        ("uppercase slug", "DEFAULT".to_owned()),
        ("slug with a space", "de fault".to_owned()),
        ("empty value", String::new()),
        ("very long value", "a".repeat(5_000)),
    ];

    for (why, value) in cases {
        // Act
        let me = app
            .me(&Auth::bearer(&user.token).with("x-tenant", value.clone()))
            .await;
        let sent = app
            .send_verification(&email, &Auth::none().with("x-tenant", value))
            .await;

        // Assert
        assert_eq!(me.status.as_u16(), 404, "{why}: {}", me.text);
        assert_eq!(me.body["error"], "TENANT_NOT_FOUND", "{why}: {}", me.text);
        assert_eq!(sent.status.as_u16(), 404, "{why}: {}", sent.text);
        assert_eq!(
            sent.body["error"], "TENANT_NOT_FOUND",
            "{why}: {}",
            sent.text
        );
    }
    assert!(smtp().messages_to(&email).is_empty(), "no mail was sent");
    assert_eq!(
        app.count("SELECT count(*) FROM email_verifications").await,
        0,
        "no code was stored"
    );
}

#[tokio::test]
async fn a_tenant_hostname_in_the_host_header_selects_the_tenant() {
    // Arrange
    let app = spawn_app().await;
    let host = fresh_host("acme");
    let slug = create_tenant_with_hosts(&app, "acme", &[host.as_str()]).await;
    let email = unique_email("byhost");
    let by_host = |value: String| Auth::none().with("host", value);

    // Act: register entirely through the Host header
    app.send_verification(&email, &by_host(host.clone()))
        .await
        .expect(200);
    let code = smtp().latest_code(&email);
    let registered = app
        .register(&email, PASSWORD, &code, &by_host(host.clone()))
        .await
        .expect(201);
    let token = registered.body["token"].as_str().expect("token").to_owned();

    // Assert
    let tenant_of_user: String = sqlx::query_scalar(
        "SELECT t.slug FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.email = $1",
    )
    .bind(&email)
    .fetch_one(&app.db)
    .await
    .expect("user row");
    assert_eq!(
        tenant_of_user, slug,
        "the user belongs to the Host's tenant"
    );
    for (why, value) in [
        ("plain", host.clone()),
        ("with a port", format!("{host}:8080")),
        ("in capitals", host.to_uppercase()),
    ] {
        let me = app
            .me(&by_host(value).with("authorization", format!("Bearer {token}")))
            .await;
        assert_eq!(me.status.as_u16(), 200, "{why}: {}", me.text);
        assert_eq!(me.body["tenant"]["slug"], slug.as_str(), "{why}");
    }
    app.me(&Auth::bearer(&token))
        .await
        .expect_error(401, "INVALID_TOKEN");
}

#[tokio::test]
async fn an_unknown_host_falls_back_to_the_default_tenant() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let cases = [
        ("unknown hostname", "nobody.example.test".to_owned()),
        (
            "unknown hostname with a port",
            "nobody.example.test:1234".to_owned(),
        ),
        ("invalid host", "bad_host!".to_owned()),
        ("loopback", "127.0.0.1".to_owned()),
    ];

    for (why, host) in cases {
        // Act
        let me = app.me(&Auth::bearer(&user.token).with("host", host)).await;

        // Assert
        assert_eq!(me.status.as_u16(), 200, "{why}: {}", me.text);
        assert_eq!(me.body["tenant"]["slug"], "default", "{why}");
        assert_eq!(me.body["id"], user.id.as_str(), "{why}");
    }
}

#[tokio::test]
async fn the_x_tenant_header_takes_precedence_over_the_host_header() {
    // Arrange
    let app = spawn_app().await;
    let host = fresh_host("hosted");
    let hosted = create_tenant_with_hosts(&app, "hosted", &[host.as_str()]).await;
    let other = app.create_tenant("other").await;
    let user = app.signup_in(Some(&other)).await;

    // Act
    let me = app
        .me(&Auth::bearer(&user.token)
            .tenant(&other)
            .with("host", host.clone()))
        .await;

    // Assert
    assert_eq!(me.expect(200).body["tenant"]["slug"], other.as_str());
    let via_host = app.me(&Auth::bearer(&user.token).with("host", host)).await;
    via_host.expect_error(401, "INVALID_TOKEN");
    assert_ne!(hosted, other);
}

#[tokio::test]
async fn with_allow_tenant_header_false_the_x_tenant_header_is_ignored() {
    // Arrange
    let app = spawn_app_with(&[("ALLOW_TENANT_HEADER", "false")]).await;
    let slug = app.create_tenant("ignored").await;
    let user = app.signup().await;

    // Act
    let named = app.me(&Auth::bearer(&user.token).tenant(&slug)).await;
    let unknown = app
        .me(&Auth::bearer(&user.token).tenant("no-such-tenant"))
        .await;

    // Assert
    assert_eq!(
        named.expect(200).body["tenant"]["slug"],
        "default",
        "the default tenant answers"
    );
    assert_eq!(
        unknown.expect(200).body["tenant"]["slug"],
        "default",
        "an unknown X-Tenant is not even looked at"
    );
    let signed_up: String = sqlx::query_scalar(
        "SELECT t.slug FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1::uuid",
    )
    .bind(&user.id)
    .fetch_one(&app.db)
    .await
    .expect("user row");
    assert_eq!(signed_up, "default");
}

#[tokio::test]
async fn with_allow_tenant_header_false_the_host_header_still_selects_the_tenant() {
    let app = spawn_app_with(&[("ALLOW_TENANT_HEADER", "false")]).await;
    let host = fresh_host("hostonly");
    let slug = create_tenant_with_hosts(&app, "hostonly", &[host.as_str()]).await;
    let email = unique_email("hostonly");
    app.send_verification(&email, &Auth::none().with("host", host.clone()))
        .await
        .expect(200);
    let code = smtp().latest_code(&email);
    let token = app
        .register(
            &email,
            PASSWORD,
            &code,
            &Auth::none().with("host", host.clone()),
        )
        .await
        .expect(201)
        .body["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let me = app
        .me(&Auth::bearer(&token).with("host", host))
        .await
        .expect(200);
    assert_eq!(me.body["tenant"]["slug"], slug.as_str());
}

#[tokio::test]
async fn changing_hostnames_reroutes_requests_at_once() {
    // Arrange
    let app = spawn_app().await;
    let host = fresh_host("moving");
    let first = create_tenant_with_hosts(&app, "first", &[host.as_str()]).await;
    let second = app.create_tenant("second").await;
    let user = app.signup().await;
    let via_host = || Auth::bearer(&user.token).with("host", host.clone());
    app.me(&via_host()).await.expect_error(401, "INVALID_TOKEN"); // routed to `first`, cached

    // Act / Assert: removing the hostname sends the Host to the default tenant again
    app.patch(
        &tenant_path(&first),
        &Auth::operator(),
        &json!({ "hostnames": [] }),
    )
    .await
    .expect(200);
    assert_eq!(
        app.me(&via_host()).await.expect(200).body["tenant"]["slug"],
        "default"
    );

    // Act / Assert: the freed hostname can move to another tenant and routes there at once
    let moved = app
        .patch(
            &tenant_path(&second),
            &Auth::operator(),
            &json!({ "hostnames": [host.clone()] }),
        )
        .await;
    assert_eq!(moved.expect(200).body["hostnames"], json!([host.clone()]));
    let in_second = app.signup_in(Some(&second)).await;
    let me = app
        .me(&Auth::bearer(&in_second.token).with("host", host.clone()))
        .await
        .expect(200);
    assert_eq!(me.body["tenant"]["slug"], second.as_str());
}

#[tokio::test]
async fn a_tenant_created_after_a_failed_lookup_resolves_at_once() {
    // Arrange: a miss for the slug is cached first
    let app = spawn_app().await;
    let slug = fresh_slug("late");
    let email = unique_email("late");
    app.send_verification(&email, &Auth::none().tenant(&slug))
        .await
        .expect_error(404, "TENANT_NOT_FOUND");

    // Act
    app.post(
        TENANTS,
        &Auth::operator(),
        &json!({ "slug": slug, "name": "Late" }),
    )
    .await
    .expect(201);
    let reply = app
        .send_verification(&email, &Auth::none().tenant(&slug))
        .await;

    // Assert
    assert_eq!(reply.expect(200).body["success"], true);
}

// ---------------------------------------------------------------------------------------------
// Isolation between tenants
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_token_from_one_tenant_is_401_in_another() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let user = app.signup_in(Some(&a)).await;

    // Act
    let in_b = app.me(&Auth::bearer(&user.token).tenant(&b)).await;
    let in_default = app.me(&Auth::bearer(&user.token)).await;
    let in_a = app.me(&Auth::bearer(&user.token).tenant(&a)).await;

    // Assert
    in_b.expect_error(401, "INVALID_TOKEN");
    in_default.expect_error(401, "INVALID_TOKEN");
    assert_eq!(
        in_a.expect(200).body["id"],
        user.id.as_str(),
        "the token still works at home"
    );
}

#[tokio::test]
async fn an_api_key_from_one_tenant_is_401_in_another() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let user = app.signup_in(Some(&a)).await;

    // Act
    let header_in_b = app.me(&Auth::api_key(&user.api_key).tenant(&b)).await;
    let bearer_in_b = app.me(&Auth::bearer(&user.api_key).tenant(&b)).await;
    let in_default = app.me(&Auth::api_key(&user.api_key)).await;
    let at_home = app.me(&Auth::api_key(&user.api_key).tenant(&a)).await;

    // Assert
    header_in_b.expect_error(401, "INVALID_TOKEN");
    bearer_in_b.expect_error(401, "INVALID_TOKEN");
    in_default.expect_error(401, "INVALID_TOKEN");
    assert_eq!(at_home.expect(200).body["id"], user.id.as_str());
}

#[tokio::test]
async fn the_same_email_registers_separately_in_two_tenants() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let email = unique_email("shared");

    // Act
    let in_a = register_in(&app, &a, &email, PASSWORD)
        .await
        .expect(201)
        .body;
    let in_b = register_in(&app, &b, &email, OTHER_PASSWORD)
        .await
        .expect(201)
        .body;

    // Assert
    let (id_a, id_b) = (
        in_a["user"]["id"].as_str().expect("id"),
        in_b["user"]["id"].as_str().expect("id"),
    );
    assert_ne!(id_a, id_b, "two different accounts");
    assert_eq!(users_with_email(&app, &email).await, 2);
    app.login(&email, PASSWORD, &Auth::none().tenant(&b))
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
    app.login(&email, OTHER_PASSWORD, &Auth::none().tenant(&a))
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
    let login_b = app
        .login(&email, OTHER_PASSWORD, &Auth::none().tenant(&b))
        .await
        .expect(200);
    assert_eq!(login_b.body["user"]["id"], id_b);
    let login_a = app
        .login(&email, PASSWORD, &Auth::none().tenant(&a))
        .await
        .expect(200);
    assert_eq!(login_a.body["user"]["id"], id_a);
    app.login(&email, PASSWORD, &Auth::none())
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn login_for_an_email_registered_only_in_another_tenant_is_401_invalid_credentials() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let user = app.signup_in(Some(&a)).await;

    // Act
    let in_b = app
        .login(&user.email, &user.password, &Auth::none().tenant(&b))
        .await;
    let in_default = app.login(&user.email, &user.password, &Auth::none()).await;

    // Assert
    in_b.expect_error(401, "INVALID_CREDENTIALS");
    in_default.expect_error(401, "INVALID_CREDENTIALS");
    app.login(&user.email, &user.password, &Auth::none().tenant(&a))
        .await
        .expect(200);
}

#[tokio::test]
async fn send_verification_is_200_for_an_email_registered_only_in_another_tenant() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let user = app.signup_in(Some(&b)).await;

    // Act
    let in_a = app
        .send_verification(&user.email, &Auth::none().tenant(&a))
        .await;
    let in_b = app
        .send_verification(&user.email, &Auth::none().tenant(&b))
        .await;

    // Assert
    assert_eq!(in_a.expect(200).body["success"], true);
    in_b.expect_error(409, "EMAIL_ALREADY_REGISTERED");
    let pending: Vec<String> = sqlx::query_scalar(
        "SELECT t.slug FROM email_verifications v JOIN tenants t ON t.id = v.tenant_id WHERE v.email = $1",
    )
    .bind(&user.email)
    .fetch_all(&app.db)
    .await
    .expect("verifications");
    assert_eq!(pending, vec![a], "only tenant A has a pending code");
}

// ---------------------------------------------------------------------------------------------
// Suspension
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_suspended_tenant_answers_403_until_reactivated() {
    // Arrange
    let app = spawn_app().await;
    let host = fresh_host("sus");
    let slug = create_tenant_with_hosts(&app, "sus", &[host.as_str()]).await;
    let user = app.signup_in(Some(&slug)).await;
    let bystander = app.signup().await;
    app.me(&user.auth()).await.expect(200); // warms the tenant cache
    let newcomer = unique_email("newcomer");

    // Act
    let suspended = app
        .patch(
            &tenant_path(&slug),
            &Auth::operator(),
            &json!({ "status": "suspended" }),
        )
        .await;

    // Assert
    assert_eq!(suspended.expect(200).body["status"], "suspended");
    let replies = [
        ("me by token", app.me(&user.auth()).await),
        (
            "me by API key",
            app.me(&Auth::api_key(&user.api_key).tenant(&slug)).await,
        ),
        (
            "me by Host",
            app.me(&Auth::bearer(&user.token).with("host", host.clone()))
                .await,
        ),
        (
            "login",
            app.login(&user.email, &user.password, &Auth::none().tenant(&slug))
                .await,
        ),
        (
            "send-verification",
            app.send_verification(&newcomer, &Auth::none().tenant(&slug))
                .await,
        ),
    ];
    for (what, reply) in replies {
        assert_eq!(reply.status.as_u16(), 403, "{what}: {}", reply.text);
        assert_eq!(
            reply.body["error"], "TENANT_SUSPENDED",
            "{what}: {}",
            reply.text
        );
    }
    assert!(
        smtp().messages_to(&newcomer).is_empty(),
        "a suspended tenant sends no mail"
    );
    assert_eq!(
        read_tenant(&app, &slug).await["status"],
        "suspended",
        "the operator still sees it"
    );
    app.me(&bystander.auth()).await.expect(200); // other tenants are unaffected

    // Act
    let reactivated = app
        .patch(
            &tenant_path(&slug),
            &Auth::operator(),
            &json!({ "status": "active" }),
        )
        .await;

    // Assert
    assert_eq!(reactivated.expect(200).body["status"], "active");
    assert_eq!(
        app.me(&user.auth()).await.expect(200).body["id"],
        user.id.as_str(),
        "the old token works again"
    );
    app.login(&user.email, &user.password, &Auth::none().tenant(&slug))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_suspension_reaches_another_replica_within_the_cache_ttl() {
    // Arrange
    let app = spawn_app().await;
    let replica = spawn_replica(&app, &[]).await;
    let slug = app.create_tenant("spread").await;
    let user = app.signup_in(Some(&slug)).await;
    replica.me(&user.auth()).await.expect(200); // the replica caches the active tenant

    // Act
    app.patch(
        &tenant_path(&slug),
        &Auth::operator(),
        &json!({ "status": "suspended" }),
    )
    .await
    .expect(200);
    let started = Instant::now();

    // Assert: at once on the replica that took the PATCH, within the 5 s cache TTL on the other
    app.me(&user.auth())
        .await
        .expect_error(403, "TENANT_SUSPENDED");
    let mut last = replica.me(&user.auth()).await;
    while last.status.as_u16() == 200 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        last = replica.me(&user.auth()).await;
    }
    let last = last.expect_error(403, "TENANT_SUSPENDED");
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "took {:?}: {}",
        started.elapsed(),
        last.text
    );
}

// ---------------------------------------------------------------------------------------------
// Admin bootstrap
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bootstrapping_an_admin_creates_a_user_who_logs_in_as_admin() {
    // Arrange
    let app = spawn_app().await;
    let slug = app.create_tenant("boot").await;
    let email = unique_email("boss");

    // Act
    let body = json!({ "email": email, "password": PASSWORD, "name": "The Boss" });
    let reply = app
        .post(&admins_path(&slug), &Auth::operator(), &body)
        .await;

    // Assert
    let reply = reply.expect(201);
    assert_eq!(reply.body["created"], true);
    assert_eq!(reply.body["user"]["email"], email.as_str());
    assert_eq!(reply.body["user"]["name"], "The Boss");
    assert_eq!(reply.body["user"]["role"], "admin");
    let login = app
        .login(&email, PASSWORD, &Auth::none().tenant(&slug))
        .await
        .expect(200);
    assert_eq!(login.body["user"]["id"], reply.body["user"]["id"]);
    let token = login.body["token"].as_str().expect("token");
    let me = app
        .me(&Auth::bearer(token).tenant(&slug))
        .await
        .expect(200)
        .body;
    assert_eq!(me["role"], "admin");
    assert_eq!(me["emailVerified"], true);
    assert_eq!(me["tenant"]["slug"], slug.as_str());
    app.login(&email, PASSWORD, &Auth::none())
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn bootstrapping_an_existing_user_promotes_them_and_keeps_their_password() {
    // Arrange
    let app = spawn_app().await;
    let slug = app.create_tenant("promo").await;
    let user = app.signup_in(Some(&slug)).await;
    assert_eq!(
        app.me(&user.auth()).await.expect(200).body["role"],
        "consumer"
    );

    // Act: a different password and an upper-cased email
    let body = json!({ "email": user.email.to_uppercase(), "password": OTHER_PASSWORD, "name": "Promoted" });
    let reply = app
        .post(&admins_path(&slug), &Auth::operator(), &body)
        .await;

    // Assert
    let reply = reply.expect(200);
    assert_eq!(reply.body["created"], false);
    assert_eq!(reply.body["user"]["id"], user.id.as_str());
    assert_eq!(reply.body["user"]["role"], "admin");
    assert_eq!(
        users_with_email(&app, &user.email).await,
        1,
        "no second account"
    );
    assert_eq!(
        app.me(&user.auth()).await.expect(200).body["role"],
        "admin",
        "the existing token sees the new role"
    );
    let login = app
        .login(&user.email, &user.password, &Auth::none().tenant(&slug))
        .await
        .expect(200);
    assert_eq!(login.body["user"]["role"], "admin");
    app.login(&user.email, OTHER_PASSWORD, &Auth::none().tenant(&slug))
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn invalid_admin_bootstrap_input_is_400_and_creates_nothing() {
    // Arrange
    let app = spawn_app().await;
    let slug = app.create_tenant("weak").await;
    let email = unique_email("weakadmin");
    let users_before = app.count("SELECT count(*) FROM users").await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "7-character password",
            json!({ "email": email, "password": "short12", "name": "A" }),
            "WEAK_PASSWORD",
        ),
        (
            "common password",
            json!({ "email": email, "password": "password123", "name": "A" }),
            "WEAK_PASSWORD",
        ),
        (
            "one repeated character",
            json!({ "email": email, "password": "aaaaaaaaaa", "name": "A" }),
            "WEAK_PASSWORD",
        ),
        (
            "130-character password",
            json!({ "email": email, "password": "x1".repeat(65), "name": "A" }),
            "WEAK_PASSWORD",
        ),
        (
            "password equal to the email",
            json!({ "email": email, "password": email, "name": "A" }),
            "WEAK_PASSWORD",
        ),
        (
            "invalid email",
            json!({ "email": "not-an-email", "password": PASSWORD, "name": "A" }),
            "VALIDATION_ERROR",
        ),
        (
            "blank name",
            json!({ "email": email, "password": PASSWORD, "name": "  " }),
            "VALIDATION_ERROR",
        ),
        (
            "name with a control character",
            json!({ "email": email, "password": PASSWORD, "name": "a\u{0007}" }),
            "VALIDATION_ERROR",
        ),
        (
            "missing password",
            json!({ "email": email, "name": "A" }),
            "VALIDATION_ERROR",
        ),
    ];

    for (why, body, code) in cases {
        // Act
        let reply = app
            .post(&admins_path(&slug), &Auth::operator(), &body)
            .await;

        // Assert
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], code, "{why}: {}", reply.text);
    }
    assert_eq!(
        app.count("SELECT count(*) FROM users").await,
        users_before,
        "no user was created"
    );
    assert_eq!(users_with_email(&app, &email).await, 0);
}

#[tokio::test]
async fn bootstrapping_an_admin_in_an_unknown_tenant_is_404() {
    let app = spawn_app().await;
    let email = unique_email("ghostadmin");
    let body = json!({ "email": email, "password": PASSWORD, "name": "Ghost" });
    for slug in ["no-such-tenant", "NOT-A-SLUG"] {
        let reply = app.post(&admins_path(slug), &Auth::operator(), &body).await;
        assert_eq!(reply.status.as_u16(), 404, "{slug}: {}", reply.text);
        assert_eq!(reply.body["error"], "NOT_FOUND", "{slug}: {}", reply.text);
    }
    assert_eq!(users_with_email(&app, &email).await, 0);
}

#[tokio::test]
async fn bootstrapping_an_admin_does_not_promote_the_same_email_in_another_tenant() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let consumer = app.signup_in(Some(&a)).await;

    // Act
    let body = json!({ "email": consumer.email, "password": OTHER_PASSWORD, "name": "Admin of B" });
    let reply = app.post(&admins_path(&b), &Auth::operator(), &body).await;

    // Assert
    let reply = reply.expect(201);
    assert_eq!(reply.body["created"], true, "a new account in B");
    assert_ne!(reply.body["user"]["id"], consumer.id.as_str());
    assert_eq!(
        app.me(&consumer.auth()).await.expect(200).body["role"],
        "consumer",
        "the account in A is untouched"
    );
    app.login(&consumer.email, OTHER_PASSWORD, &Auth::none().tenant(&b))
        .await
        .expect(200);
    app.login(&consumer.email, OTHER_PASSWORD, &Auth::none().tenant(&a))
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn an_admin_of_one_tenant_is_not_an_account_in_another() {
    // Arrange
    let app = spawn_app().await;
    let a = app.create_tenant("a").await;
    let b = app.create_tenant("b").await;
    let admin = app.admin_in(&a).await;

    // Act
    let login_b = app
        .login(&admin.email, PASSWORD, &Auth::none().tenant(&b))
        .await;
    let token_in_b = app.me(&Auth::bearer(&admin.token).tenant(&b)).await;

    // Assert
    login_b.expect_error(401, "INVALID_CREDENTIALS");
    token_in_b.expect_error(401, "INVALID_TOKEN");
    assert_eq!(
        app.me(&admin.auth()).await.expect(200).body["role"],
        "admin"
    );
}
