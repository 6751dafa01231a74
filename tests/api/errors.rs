use crate::helpers::*;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

const LOGIN: &str = "/api/auth/login";
const KEYS: &str = "/api/auth/api-keys";
const OTHER_SECRET: &str = "another-secret-that-is-long-enough-01234";
const HARNESS_SECRET: &str = "test-secret-that-is-long-enough-0123456789";
/// base64url of `{"alg":"none","typ":"JWT"}`.
const ALG_NONE_HEADER: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";

/// Sends `body` as is, with `content_type` when given (reqwest adds none by itself).
async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: &Auth,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Reply {
    let mut builder = app.request(method, path, auth);
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    read(builder.body(body).send().await.expect("request")).await
}

async fn post_json_text(
    app: &TestApp,
    path: &str,
    auth: &Auth,
    body: impl Into<reqwest::Body>,
) -> Reply {
    send_raw(
        app,
        Method::POST,
        path,
        auth,
        Some("application/json"),
        body,
    )
    .await
}

/// The error envelope: JSON, the status, the code, a message, and nothing but error/message/details.
fn assert_envelope(reply: &Reply, status: u16, code: &str, why: &str) {
    assert_eq!(reply.status.as_u16(), status, "{why}: {}", reply.text);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "{why}: content-type {:?}",
        reply.header("content-type")
    );
    let object = reply
        .body
        .as_object()
        .unwrap_or_else(|| panic!("{why}: not a JSON object: {}", reply.text));
    assert_eq!(
        object.get("error").and_then(Value::as_str),
        Some(code),
        "{why}: {}",
        reply.text
    );
    assert!(
        object
            .get("message")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.is_empty()),
        "{why}: {}",
        reply.text
    );
    for key in object.keys() {
        assert!(
            ["error", "message", "details"].contains(&key.as_str()),
            "{why}: unexpected key {key}: {}",
            reply.text
        );
    }
}

fn message(reply: &Reply) -> &str {
    reply.body["message"].as_str().unwrap_or_default()
}

/// `token` with one character of the given part (0 header, 1 payload, 2 signature) changed.
fn tamper(token: &str, part: usize) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let first = parts[part].remove(0);
    parts[part].insert(0, if first == 'A' { 'B' } else { 'A' });
    parts.join(".")
}

// ---------------------------------------------------------------------------------------------
// Routing errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_route_is_404_route_not_found() {
    let app = spawn_app().await;
    let cases = [
        ("unknown API path", Method::GET, "/api/nope"),
        ("unknown path outside /api", Method::GET, "/nope"),
        ("POST to an unknown path", Method::POST, "/api/nope"),
        ("an extra segment", Method::GET, "/api/auth/me/extra"),
        ("a prefix of a route", Method::GET, "/api/auth"),
        ("a case variant", Method::GET, "/API/HEALTH"),
    ];
    for (why, method, path) in cases {
        let reply = send_raw(
            &app,
            method,
            path,
            &Auth::none(),
            Some("application/json"),
            "{}",
        )
        .await;
        assert_envelope(&reply, 404, "ROUTE_NOT_FOUND", why);
    }
}

#[tokio::test]
async fn a_wrong_method_on_an_existing_path_is_405_method_not_allowed() {
    let app = spawn_app().await;
    let key_path = format!("{KEYS}/{}", uuid::Uuid::now_v7());
    let cases = [
        ("GET on login", Method::GET, LOGIN),
        ("DELETE on me", Method::DELETE, "/api/auth/me"),
        ("PUT on tenants", Method::PUT, "/api/platform/tenants"),
        ("PATCH on api-keys", Method::PATCH, KEYS),
        ("GET on one api key", Method::GET, key_path.as_str()),
        ("POST on health", Method::POST, "/api/health"),
    ];
    for (why, method, path) in cases {
        let reply = send_raw(&app, method, path, &Auth::none(), None, "").await;
        assert_envelope(&reply, 405, "METHOD_NOT_ALLOWED", why);
    }
}

// ---------------------------------------------------------------------------------------------
// Body errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_is_400_invalid_json() {
    let app = spawn_app().await;
    let cases = [
        ("truncated object", r#"{"email": "#),
        (
            "unquoted key",
            r#"{email: "a@example.com", "password": "x"}"#,
        ),
        ("single quotes", "{'email': 'a@example.com'}"),
        (
            "trailing comma",
            r#"{"email": "a@example.com", "password": "x",}"#,
        ),
        (
            "trailing garbage",
            r#"{"email": "a@example.com", "password": "x"} x"#,
        ),
        (
            "two objects",
            r#"{"email": "a@example.com", "password": "x"}{}"#,
        ),
        ("not JSON at all", "email=a@example.com&password=x"),
        (
            "invalid UTF-8 escape",
            r#"{"email": "\ud800", "password": "x"}"#,
        ),
    ];
    for (why, body) in cases {
        let reply = post_json_text(&app, LOGIN, &Auth::none(), body).await;
        assert_envelope(&reply, 400, "INVALID_JSON", why);
    }
}

#[tokio::test]
async fn invalid_utf8_in_the_body_is_400() {
    let app = spawn_app().await;
    let body: Vec<u8> = b"{\"email\": \"a\xff@example.com\", \"password\": \"x\"}".to_vec();
    let reply = post_json_text(&app, LOGIN, &Auth::none(), body).await;
    assert_envelope(&reply, 400, "INVALID_JSON", "invalid UTF-8");
}

#[tokio::test]
async fn json_that_is_not_an_object_is_400_validation_error() {
    let app = spawn_app().await;
    let cases = [
        (
            "an array",
            r#"[{"email": "a@example.com", "password": "x"}]"#,
        ),
        ("an empty array", "[]"),
        ("a string", r#""a@example.com""#),
        ("a number", "42"),
        ("null", "null"),
        ("a boolean", "true"),
    ];
    for (why, body) in cases {
        let reply = post_json_text(&app, LOGIN, &Auth::none(), body).await;
        assert_envelope(&reply, 400, "VALIDATION_ERROR", why);
    }
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_400_naming_the_field() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let register = |code: Value| json!({ "email": unique_email("typed"), "password": PASSWORD, "name": "A", "verificationCode": code });
    let cases: Vec<(&str, &str, Auth, Value, &str)> = vec![
        (
            "email as a number",
            LOGIN,
            Auth::none(),
            json!({ "email": 5, "password": "x" }),
            "email",
        ),
        (
            "password as a boolean",
            LOGIN,
            Auth::none(),
            json!({ "email": "a@example.com", "password": true }),
            "password",
        ),
        (
            "email as an object",
            "/api/auth/send-verification",
            Auth::none(),
            json!({ "email": { "a": 1 } }),
            "email",
        ),
        (
            "verificationCode as a number",
            "/api/auth/register",
            Auth::none(),
            register(json!(123_456)),
            "verificationCode",
        ),
        (
            "key name as a number",
            KEYS,
            user.auth(),
            json!({ "name": 5 }),
            "name",
        ),
        (
            "tenant name as null",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": "typed", "name": null }),
            "name",
        ),
    ];

    for (why, path, auth, body, field) in cases {
        // Act
        let reply = app.post(path, &auth, &body).await;

        // Assert
        assert_envelope(&reply, 400, "VALIDATION_ERROR", why);
        assert!(
            message(&reply).starts_with(&format!("{field}:")),
            "{why}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["details"]["field"], field,
            "{why}: {}",
            reply.text
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM tenants").await,
        1,
        "no tenant was created"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM api_keys").await,
        1,
        "no key was created"
    );
}

#[tokio::test]
async fn a_wrong_type_inside_an_array_names_the_element() {
    let app = spawn_app().await;
    let body = json!({ "slug": "arr", "name": "Arr", "currencies": ["USD", 7] });
    let reply = app
        .post("/api/platform/tenants", &Auth::operator(), &body)
        .await;
    assert_envelope(&reply, 400, "VALIDATION_ERROR", "number in currencies");
    assert_eq!(
        reply.body["details"]["field"], "currencies[1]",
        "{}",
        reply.text
    );
    assert!(
        message(&reply).starts_with("currencies[1]:"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn a_missing_required_field_is_400_naming_it() {
    let app = spawn_app().await;
    let cases = [
        (
            "login without password",
            LOGIN,
            json!({ "email": "a@example.com" }),
            "password",
        ),
        (
            "login without email",
            LOGIN,
            json!({ "password": "x" }),
            "email",
        ),
        ("empty object on login", LOGIN, json!({}), "email"),
        (
            "send-verification without email",
            "/api/auth/send-verification",
            json!({}),
            "email",
        ),
        (
            "register without code",
            "/api/auth/register",
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "A" }),
            "verificationCode",
        ),
    ];
    for (why, path, body, field) in cases {
        let reply = app.post(path, &Auth::none(), &body).await;
        assert_envelope(&reply, 400, "VALIDATION_ERROR", why);
        assert!(
            message(&reply).contains(&format!("`{field}`")),
            "{why}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn an_empty_body_on_a_required_body_endpoint_is_400_invalid_json() {
    let app = spawn_app().await;
    let cases = [
        ("login, no body, no Content-Type", LOGIN, None, ""),
        (
            "login, no body, JSON Content-Type",
            LOGIN,
            Some("application/json"),
            "",
        ),
        (
            "login, whitespace body",
            LOGIN,
            Some("application/json"),
            " \n\t ",
        ),
        ("register, no body", "/api/auth/register", None, ""),
        (
            "send-verification, no body",
            "/api/auth/send-verification",
            None,
            "",
        ),
    ];
    for (why, path, content_type, body) in cases {
        let reply = send_raw(&app, Method::POST, path, &Auth::none(), content_type, body).await;
        assert_envelope(&reply, 400, "INVALID_JSON", why);
    }
    let reply = app
        .post_empty("/api/platform/tenants", &Auth::operator())
        .await;
    assert_envelope(&reply, 400, "INVALID_JSON", "create tenant without a body");
    assert_eq!(app.count("SELECT count(*) FROM tenants").await, 1);
}

#[tokio::test]
async fn a_body_over_max_body_bytes_is_413_payload_too_large() {
    // Arrange
    let app = spawn_app_with(&[("MAX_BODY_BYTES", "2048")]).await;
    let user = app.signup().await;
    let big = json!({ "email": "a@example.com", "password": "x", "padding": "p".repeat(4096) })
        .to_string();
    let big_key = json!({ "name": "big", "padding": "p".repeat(4096) }).to_string();
    let fits = json!({ "email": "nobody@example.com", "password": "whatever-password", "padding": "p".repeat(1900) }).to_string();
    assert!(fits.len() < 2048 && big.len() > 4096);

    // Act
    let login = post_json_text(&app, LOGIN, &Auth::none(), big).await;
    let key = post_json_text(&app, KEYS, &user.auth(), big_key).await;
    let under_limit = post_json_text(&app, LOGIN, &Auth::none(), fits).await;

    // Assert
    assert_envelope(&login, 413, "PAYLOAD_TOO_LARGE", "login");
    assert_envelope(&key, 413, "PAYLOAD_TOO_LARGE", "optional body");
    assert_envelope(
        &under_limit,
        401,
        "INVALID_CREDENTIALS",
        "a body under the limit is read",
    );
    assert_eq!(
        app.count("SELECT count(*) FROM api_keys").await,
        1,
        "no key was created"
    );
    app.get("/api/health", &Auth::none()).await.expect(200);
}

/// One raw HTTP/1.1 exchange over TCP (for framing reqwest cannot produce); returns the response.
async fn raw_http(app: &TestApp, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    stream.write_all(request).await.expect("write");
    let mut response = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut response),
    )
    .await;
    assert!(
        read.is_ok(),
        "the server did not finish answering: {}",
        String::from_utf8_lossy(&response)
    );
    String::from_utf8_lossy(&response).into_owned()
}

fn chunked_login(body: &str) -> Vec<u8> {
    let mut request = format!(
        "POST {LOGIN} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    for chunk in body.as_bytes().chunks(512) {
        request.push_str(&format!(
            "{:x}\r\n{}\r\n",
            chunk.len(),
            String::from_utf8_lossy(chunk)
        ));
    }
    request.push_str("0\r\n\r\n");
    request.into_bytes()
}

#[tokio::test]
async fn a_chunked_body_over_max_body_bytes_is_413_without_content_length() {
    // Arrange
    let app = spawn_app_with(&[("MAX_BODY_BYTES", "2048")]).await;
    let big = json!({ "email": "a@example.com", "password": "x", "padding": "p".repeat(4096) })
        .to_string();
    let small =
        json!({ "email": "nobody@example.com", "password": "whatever-password" }).to_string();

    // Act
    let too_large = raw_http(&app, &chunked_login(&big)).await;
    let fits = raw_http(&app, &chunked_login(&small)).await;

    // Assert
    assert!(too_large.starts_with("HTTP/1.1 413"), "{too_large}");
    assert!(
        too_large.contains(r#""error":"PAYLOAD_TOO_LARGE""#),
        "{too_large}"
    );
    assert!(
        too_large.to_ascii_lowercase().contains("x-request-id:"),
        "{too_large}"
    );
    assert!(
        fits.starts_with("HTTP/1.1 401"),
        "a chunked body under the limit is read: {fits}"
    );
    assert!(fits.contains(r#""error":"INVALID_CREDENTIALS""#), "{fits}");
}

#[tokio::test]
async fn a_non_json_content_type_with_a_body_is_415() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let login = json!({ "email": user.email, "password": user.password }).to_string();
    let cases = [
        ("text/plain on login", LOGIN, "text/plain"),
        ("form on login", LOGIN, "application/x-www-form-urlencoded"),
        (
            "multipart on login",
            LOGIN,
            "multipart/form-data; boundary=x",
        ),
        ("text/plain on api-keys", KEYS, "text/plain"),
        ("json-ish but not JSON", KEYS, "application/jsonp"),
    ];

    for (why, path, content_type) in cases {
        // Act
        let reply = send_raw(
            &app,
            Method::POST,
            path,
            &user.auth(),
            Some(content_type),
            login.clone(),
        )
        .await;

        // Assert
        assert_envelope(&reply, 415, "UNSUPPORTED_MEDIA_TYPE", why);
    }
    assert_eq!(
        app.count("SELECT count(*) FROM api_keys").await,
        1,
        "no key was created"
    );
}

#[tokio::test]
async fn json_content_types_with_parameters_or_a_json_suffix_are_accepted() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let cases = [
        (
            "charset parameter",
            "application/json; charset=utf-8",
            "charset",
        ),
        ("upper case", "Application/JSON", "upper"),
        ("+json suffix", "application/merge-patch+json", "suffix"),
    ];
    for (why, content_type, name) in cases {
        let body = json!({ "name": name }).to_string();
        let reply = send_raw(
            &app,
            Method::POST,
            KEYS,
            &user.auth(),
            Some(content_type),
            body,
        )
        .await;
        assert_eq!(reply.status.as_u16(), 201, "{why}: {}", reply.text);
        assert_eq!(reply.body["name"], name, "{why}");
    }
}

#[tokio::test]
async fn a_json_body_without_content_type_is_accepted() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;

    // Act
    let key = send_raw(
        &app,
        Method::POST,
        KEYS,
        &user.auth(),
        None,
        r#"{"name":"no-content-type"}"#,
    )
    .await;
    let login = send_raw(
        &app,
        Method::POST,
        LOGIN,
        &Auth::none(),
        None,
        json!({ "email": user.email, "password": user.password }).to_string(),
    )
    .await;

    // Assert
    assert_eq!(
        key.expect(201).body["name"],
        "no-content-type",
        "the body was read as JSON"
    );
    assert_eq!(login.expect(200).body["user"]["id"], user.id.as_str());
}

#[tokio::test]
async fn unknown_json_fields_are_ignored() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;

    // Act
    let body = json!({ "email": user.email, "password": user.password, "role": "admin", "nested": { "a": [1, 2] } });
    let login = app.post(LOGIN, &Auth::none(), &body).await;
    let key = app
        .post(
            KEYS,
            &user.auth(),
            &json!({ "name": "extra", "userId": uuid::Uuid::now_v7(), "admin": true }),
        )
        .await;

    // Assert
    let login = login.expect(200);
    assert_eq!(
        login.body["user"]["role"], "consumer",
        "an unknown role field grants nothing"
    );
    assert_eq!(key.expect(201).body["name"], "extra");
    assert_eq!(
        app.me(&user.auth()).await.expect(200).body["role"],
        "consumer"
    );
}

// ---------------------------------------------------------------------------------------------
// Query errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn invalid_paging_is_400_validation_error() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let cases = [
        ("limit above 100", "limit=101"),
        ("limit zero", "limit=0"),
        ("page zero", "page=0"),
        ("limit not a number", "limit=abc"),
        ("negative page", "page=-1"),
        ("fractional limit", "limit=1.5"),
        ("limit beyond u32", "limit=99999999999"),
        ("empty limit", "limit="),
    ];
    for (why, query) in cases {
        let reply = app.get(&format!("{KEYS}?{query}"), &user.auth()).await;
        assert_envelope(&reply, 400, "VALIDATION_ERROR", why);
    }
    let reply = app
        .get(&format!("{KEYS}?limit=100&page=1&unknown=1"), &user.auth())
        .await;
    assert_eq!(
        reply.expect(200).body["limit"],
        100,
        "unknown parameters are ignored"
    );
}

#[tokio::test]
async fn a_paging_error_names_the_parameter() {
    // docs/errors.md: VALIDATION_ERROR's `message` names the field.
    let app = spawn_app().await;
    let user = app.signup().await;
    let cases = [
        ("limit above 100", "limit=101", "limit"),
        ("page zero", "page=0", "page"),
        ("limit not a number", "limit=abc", "limit"),
        ("page not a number", "page=two", "page"),
        ("negative limit", "limit=-5", "limit"),
    ];
    for (why, query, field) in cases {
        let reply = app.get(&format!("{KEYS}?{query}"), &user.auth()).await;
        assert_envelope(&reply, 400, "VALIDATION_ERROR", why);
        assert!(
            message(&reply).contains(field),
            "{why}: the message must name {field}: {}",
            reply.text
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile input
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deeply_nested_json_is_400_and_the_server_keeps_answering() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let arrays = "[".repeat(10_000);
    let objects = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let in_field = format!(r#"{{"email": {}, "password": "x"}}"#, "[".repeat(10_000));

    // Act
    let replies = [
        (
            "10 000 [ on login",
            post_json_text(&app, LOGIN, &Auth::none(), arrays.clone()).await,
        ),
        (
            "10 000 nested objects on login",
            post_json_text(&app, LOGIN, &Auth::none(), objects).await,
        ),
        (
            "nesting inside a field",
            post_json_text(&app, LOGIN, &Auth::none(), in_field).await,
        ),
        (
            "10 000 [ on an optional body",
            post_json_text(&app, KEYS, &user.auth(), arrays).await,
        ),
    ];

    // Assert
    for (why, reply) in replies {
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert!(
            ["INVALID_JSON", "VALIDATION_ERROR"]
                .contains(&reply.body["error"].as_str().unwrap_or_default()),
            "{why}: {}",
            reply.text
        );
    }
    app.get("/api/health", &Auth::none()).await.expect(200);
    app.login(&user.email, &user.password, &Auth::none())
        .await
        .expect(200);
}

#[tokio::test]
async fn control_characters_and_huge_strings_are_4xx_never_5xx() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let huge = "x".repeat(10_000);
    let huge_email = format!("{huge}@example.com");
    let register = |email: &str, name: &str, password: &str| json!({ "email": email, "password": password, "name": name, "verificationCode": "123456" });
    let cases: Vec<(&str, &str, Auth, Value)> = vec![
        (
            "NUL in a login email",
            LOGIN,
            Auth::none(),
            json!({ "email": "a\u{0000}@example.com", "password": "x" }),
        ),
        (
            "NUL in a login password",
            LOGIN,
            Auth::none(),
            json!({ "email": user.email, "password": "pass\u{0000}word" }),
        ),
        (
            "newline in a login email",
            LOGIN,
            Auth::none(),
            json!({ "email": "a@example.com\r\nBcc: x@y.z", "password": "x" }),
        ),
        (
            "huge login email",
            LOGIN,
            Auth::none(),
            json!({ "email": huge_email, "password": "x" }),
        ),
        (
            "huge login password",
            LOGIN,
            Auth::none(),
            json!({ "email": user.email, "password": huge }),
        ),
        (
            "header injection in send-verification",
            "/api/auth/send-verification",
            Auth::none(),
            json!({ "email": "a@example.com\r\nBcc: x@y.z" }),
        ),
        (
            "NUL in send-verification",
            "/api/auth/send-verification",
            Auth::none(),
            json!({ "email": "\u{0000}" }),
        ),
        (
            "huge send-verification email",
            "/api/auth/send-verification",
            Auth::none(),
            json!({ "email": huge_email }),
        ),
        (
            "NUL in a register name",
            "/api/auth/register",
            Auth::none(),
            register("n@example.com", "a\u{0000}b", PASSWORD),
        ),
        (
            "huge register name",
            "/api/auth/register",
            Auth::none(),
            register("n@example.com", &huge, PASSWORD),
        ),
        (
            "NUL in a register password",
            "/api/auth/register",
            Auth::none(),
            register("n@example.com", "Name", "correct\u{0000}horse battery"),
        ),
        (
            "huge register password",
            "/api/auth/register",
            Auth::none(),
            register("n@example.com", "Name", &huge),
        ),
        (
            "NUL in a key name",
            KEYS,
            user.auth(),
            json!({ "name": "\u{0000}" }),
        ),
        ("huge key name", KEYS, user.auth(), json!({ "name": huge })),
        (
            "NUL in a tenant name",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": "nul", "name": "\u{0000}" }),
        ),
        (
            "NUL in a tenant slug",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": "a\u{0000}b", "name": "N" }),
        ),
        (
            "huge tenant slug",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": huge, "name": "N" }),
        ),
        (
            "NUL in a hostname",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": "host", "name": "N", "hostnames": ["a\u{0000}.example.test"] }),
        ),
        (
            "huge hostname",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": "host", "name": "N", "hostnames": [huge] }),
        ),
        (
            "NUL in a currency",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": "cur", "name": "N", "currencies": ["U\u{0000}D"] }),
        ),
        (
            "NUL in a fee rate",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": "fee", "name": "N", "feeRate": "0.1\u{0000}" }),
        ),
        (
            "NUL in an admin email",
            "/api/platform/tenants/default/admins",
            Auth::operator(),
            json!({ "email": "a\u{0000}@example.com", "password": PASSWORD, "name": "N" }),
        ),
        (
            "NUL in an admin name",
            "/api/platform/tenants/default/admins",
            Auth::operator(),
            json!({ "email": "adm@example.com", "password": PASSWORD, "name": "\u{0000}" }),
        ),
    ];

    for (why, path, auth, body) in cases {
        // Act
        let reply = app.post(path, &auth, &body).await;

        // Assert
        assert!(
            reply.status.is_client_error(),
            "{why}: {} {}",
            reply.status,
            reply.text
        );
        assert!(
            reply.body["error"].is_string(),
            "{why}: the error envelope: {}",
            reply.text
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM tenants").await,
        1,
        "no tenant was created"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM users").await,
        1,
        "no user was created"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM api_keys").await,
        1,
        "no key was created"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM email_verifications").await,
        0,
        "no code was stored"
    );
}

#[tokio::test]
async fn hostile_headers_and_paths_are_4xx_never_5xx() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let huge = "a".repeat(10_000);
    let cases: Vec<(&str, Reply)> = vec![
        (
            "huge X-Tenant",
            app.me(&Auth::bearer(&user.token).with("x-tenant", huge.clone()))
                .await,
        ),
        (
            "huge x-api-key",
            app.me(&Auth::api_key(&format!("clr_{huge}"))).await,
        ),
        ("huge bearer", app.me(&Auth::bearer(&huge)).await),
        (
            "huge path id",
            app.delete(&format!("{KEYS}/{huge}"), &user.auth()).await,
        ),
        (
            "huge tenant slug in the path",
            app.get(&format!("/api/platform/tenants/{huge}"), &Auth::operator())
                .await,
        ),
        (
            "encoded NUL in the path",
            app.delete(&format!("{KEYS}/%00"), &user.auth()).await,
        ),
        (
            "huge query",
            app.get(&format!("{KEYS}?limit={huge}"), &user.auth()).await,
        ),
    ];
    for (why, reply) in cases {
        assert!(
            reply.status.is_client_error(),
            "{why}: {} {}",
            reply.status,
            reply.text
        );
        assert!(reply.body["error"].is_string(), "{why}: {}", reply.text);
    }
    let huge_host = app
        .me(&Auth::bearer(&user.token).with("host", huge.clone()))
        .await;
    assert_eq!(
        huge_host.expect(200).body["tenant"]["slug"],
        "default",
        "an invalid Host falls back to the default tenant"
    );
    let non_utf8 = HeaderValue::from_bytes(b"Bearer \xff\xfe").expect("opaque header value");
    let reply = read(
        app.request(Method::GET, "/api/auth/me", &Auth::none())
            .header("authorization", non_utf8)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_envelope(&reply, 401, "INVALID_TOKEN", "non-UTF-8 Authorization");
    let non_utf8 = HeaderValue::from_bytes(b"\xff\xfe").expect("opaque header value");
    let reply = read(
        app.request(Method::GET, "/api/auth/me", &Auth::none())
            .header("x-tenant", non_utf8)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_envelope(&reply, 404, "TENANT_NOT_FOUND", "non-UTF-8 X-Tenant");
}

// ---------------------------------------------------------------------------------------------
// Request ids
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_response_carries_an_x_request_id() {
    // Arrange
    let app = spawn_app_with(&[("MAX_BODY_BYTES", "2048")]).await;
    let user = app.signup().await;

    // Act
    let replies = [
        ("200 health", app.get("/api/health", &Auth::none()).await),
        ("200 me", app.me(&user.auth()).await),
        ("201 key", app.post_empty(KEYS, &user.auth()).await),
        (
            "400 invalid JSON",
            post_json_text(&app, LOGIN, &Auth::none(), "{").await,
        ),
        ("401 no credentials", app.me(&Auth::none()).await),
        ("404 route", app.get("/api/nope", &Auth::none()).await),
        (
            "404 tenant",
            app.me(&Auth::none().tenant("no-such-tenant")).await,
        ),
        ("405 method", app.get(LOGIN, &Auth::none()).await),
        (
            "413 too large",
            post_json_text(&app, LOGIN, &Auth::none(), "x".repeat(4096)).await,
        ),
        (
            "415 media type",
            send_raw(
                &app,
                Method::POST,
                LOGIN,
                &Auth::none(),
                Some("text/plain"),
                "hi",
            )
            .await,
        ),
        ("308 docs redirect", app.get("/docs", &Auth::none()).await),
    ];

    // Assert
    let mut seen = std::collections::HashSet::new();
    for (why, reply) in replies {
        let id = reply
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{why}: no x-request-id"));
        uuid::Uuid::parse_str(id)
            .unwrap_or_else(|_| panic!("{why}: a generated id is a UUID: {id}"));
        assert!(
            seen.insert(id.to_owned()),
            "{why}: ids are unique per request"
        );
    }
}

#[tokio::test]
async fn a_valid_client_request_id_is_echoed_and_an_invalid_one_replaced() {
    // Arrange
    let app = spawn_app().await;
    let sixty_four = "a".repeat(64);
    let echoed = [
        ("simple", "abc-123"),
        ("dots and underscores", "trace_1.2-x"),
        ("64 characters", sixty_four.as_str()),
    ];
    let too_long = "a".repeat(65);
    let replaced = [
        ("a space", "abc 123"),
        ("a slash", "abc/123"),
        ("65 characters", too_long.as_str()),
        ("a quote", "abc\"123"),
    ];

    for (why, id) in echoed {
        // Act
        let ok = app
            .get(
                "/api/health",
                &Auth::none().with("x-request-id", id.to_owned()),
            )
            .await;
        let error = app
            .get(
                "/api/nope",
                &Auth::none().with("x-request-id", id.to_owned()),
            )
            .await;

        // Assert
        assert_eq!(ok.header("x-request-id"), Some(id), "{why}");
        assert_eq!(error.header("x-request-id"), Some(id), "{why} on an error");
    }
    for (why, id) in replaced {
        let reply = app
            .get(
                "/api/health",
                &Auth::none().with("x-request-id", id.to_owned()),
            )
            .await;
        let got = reply.header("x-request-id").expect("x-request-id");
        assert_ne!(got, id, "{why}");
        assert!(uuid::Uuid::parse_str(got).is_ok(), "{why}: {got}");
    }
}

// ---------------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_authorization_headers_are_401_invalid_token() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let payload = user.token.split('.').nth(1).expect("payload");
    let cases: Vec<(&str, String)> = vec![
        ("Basic scheme", "Basic xxx".to_owned()),
        (
            "Basic scheme with a real token",
            format!("Basic {}", user.token),
        ),
        ("unknown scheme", format!("Token {}", user.token)),
        ("scheme only", "Bearer".to_owned()),
        ("empty token", "Bearer    ".to_owned()),
        ("garbage token", "Bearer garbage".to_owned()),
        ("three garbage parts", "Bearer a.b.c".to_owned()),
        ("token without a scheme", user.token.clone()),
        ("alg none", format!("Bearer {ALG_NONE_HEADER}.{payload}.")),
        (
            "tampered signature",
            format!("Bearer {}", tamper(&user.token, 2)),
        ),
        (
            "tampered payload",
            format!("Bearer {}", tamper(&user.token, 1)),
        ),
        (
            "tampered header",
            format!("Bearer {}", tamper(&user.token, 0)),
        ),
        (
            "signature dropped",
            format!("Bearer {}", user.token.rsplit_once('.').expect("parts").0),
        ),
        (
            "agent token",
            "Bearer agt_clawrent_0123456789abcdef".to_owned(),
        ),
    ];

    for (why, header) in cases {
        // Act
        let reply = app.me(&Auth::none().with("authorization", header)).await;

        // Assert
        assert_envelope(&reply, 401, "INVALID_TOKEN", why);
    }
    let none = app.me(&Auth::none()).await;
    assert_envelope(&none, 401, "UNAUTHORIZED", "no credentials at all");
    app.me(&user.auth()).await.expect(200);
}

#[tokio::test]
async fn a_bad_authorization_header_is_not_rescued_by_a_good_api_key() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let auth = Auth::api_key(&user.api_key).with("authorization", "Bearer garbage".to_owned());
    let reply = app.me(&auth).await;
    assert_envelope(
        &reply,
        401,
        "INVALID_TOKEN",
        "garbage bearer with a valid key",
    );
}

#[tokio::test]
async fn an_expired_jwt_is_401_invalid_token() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    app.clock.advance(chrono::Duration::days(29));
    app.me(&user.auth()).await.expect(200);

    // Act
    app.clock.advance(chrono::Duration::days(2));
    let reply = app.me(&user.auth()).await;

    // Assert
    assert_envelope(&reply, 401, "INVALID_TOKEN", "31 days old");
    let fresh = app
        .login(&user.email, &user.password, &Auth::none())
        .await
        .expect(200);
    let token = fresh.body["token"].as_str().expect("token");
    app.me(&Auth::bearer(token)).await.expect(200);
}

#[tokio::test]
async fn a_jwt_signed_with_another_secret_is_401() {
    // Arrange: a replica on the same database and Redis, but with another signing secret
    let app = spawn_app().await;
    let replica = spawn_replica(&app, &[("JWT_SECRET", OTHER_SECRET)]).await;
    let foreign = replica.signup().await;
    let local = app.signup().await;
    replica.me(&foreign.auth()).await.expect(200); // valid where it was issued

    // Act
    let foreign_on_app = app.me(&foreign.auth()).await;
    let local_on_replica = replica.me(&local.auth()).await;

    // Assert
    assert_envelope(
        &foreign_on_app,
        401,
        "INVALID_TOKEN",
        "replica token on app",
    );
    assert_envelope(
        &local_on_replica,
        401,
        "INVALID_TOKEN",
        "app token on replica",
    );
    app.me(&Auth::api_key(&foreign.api_key)).await.expect(200); // the user does exist on app
}

#[tokio::test]
async fn jwt_previous_secret_keeps_tokens_of_the_old_secret_valid() {
    // Arrange
    let app = spawn_app().await;
    let rotated = spawn_replica(
        &app,
        &[
            ("JWT_SECRET", OTHER_SECRET),
            ("JWT_PREVIOUS_SECRET", HARNESS_SECRET),
        ],
    )
    .await;
    let user = app.signup().await;

    // Act
    let old_token_on_rotated = rotated.me(&user.auth()).await;
    let login = rotated
        .login(&user.email, &user.password, &Auth::none())
        .await
        .expect(200);
    let new_token = login.body["token"].as_str().expect("token");

    // Assert
    assert_eq!(
        old_token_on_rotated.expect(200).body["id"],
        user.id.as_str()
    );
    assert_eq!(
        rotated.me(&Auth::bearer(new_token)).await.expect(200).body["id"],
        user.id.as_str()
    );
    let new_on_old = app.me(&Auth::bearer(new_token)).await;
    assert_envelope(
        &new_on_old,
        401,
        "INVALID_TOKEN",
        "a new-secret token on a replica that only knows the old one",
    );
}
