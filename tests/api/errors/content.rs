//! Body size and content type: 413 with and without Content-Length, 415 for non-JSON types, the
//! JSON types and the missing type accepted, unknown fields ignored.

use super::support::{KEYS, LOGIN, assert_envelope, post_json_text, send_raw};
use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

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
