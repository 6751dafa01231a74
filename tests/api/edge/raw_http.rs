//! The HTTP layer's own errors (answered before any handler runs) carry the JSON envelope, a JSON
//! Content-Type and a Content-Length that matches the body. Spoken over a raw tokio TcpStream,
//! since no HTTP client sends these requests.

use super::support::raw_exchange;
use crate::helpers::{spawn_app, spawn_app_with};

fn get_with(path: &str, extra_headers: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra_headers}\r\n").into_bytes()
}

#[tokio::test]
async fn malformed_and_oversized_requests_get_json_errors_and_a_closed_connection() {
    // Arrange
    let app = spawn_app().await;
    let long_url = format!("/api/health?pad={}", "a".repeat(100 * 1024));
    let many_headers: String = (0..200)
        .map(|i| format!("x-filler-{i}: {}\r\n", "b".repeat(1000)))
        .collect();
    // A URL over the parser's 64 KiB buffer does not parse at all: 400, as docs/errors.md says.
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "two Host headers",
            get_with("/api/health", "Host: other.example\r\n"),
            400,
            "MALFORMED_REQUEST",
        ),
        (
            "a 100 KB URL",
            get_with(&long_url, ""),
            400,
            "MALFORMED_REQUEST",
        ),
        (
            "200 headers of 1000 bytes",
            get_with("/api/health", &many_headers),
            431,
            "HEADERS_TOO_LARGE",
        ),
        (
            "a request line that is not HTTP",
            b"THIS IS NOT HTTP\r\n\r\n".to_vec(),
            400,
            "MALFORMED_REQUEST",
        ),
    ];

    // Act
    let mut answers = Vec::new();
    for (case, request, _, _) in &cases {
        answers.push(raw_exchange(app.port, request.clone(), true).await);
        println!("{case}: {}", answers.last().expect("answer").status_line);
    }

    // Assert
    for ((case, _, status, code), answer) in cases.iter().zip(&answers) {
        answer.assert_json_error(*status, code, case);
        assert_eq!(
            answer.header("x-content-type-options"),
            Some("nosniff"),
            "{case}"
        );
        assert!(answer.closed, "{case}: the connection stays open");
    }
}

#[tokio::test]
async fn a_request_head_that_never_completes_is_a_json_408() {
    // Arrange: a request line and one header, then nothing (the head timeout is 5 s)
    let app = spawn_app().await;
    let partial = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nx-waiting: ".to_vec();

    // Act
    let started = std::time::Instant::now();
    let answer = raw_exchange(app.port, partial, true).await;
    println!("head timeout answered after {:?}", started.elapsed());

    // Assert
    answer.assert_json_error(408, "REQUEST_TIMEOUT", "stalled head");
    assert!(answer.closed, "the connection stays open after a 408");
}

#[tokio::test]
async fn a_body_that_stalls_is_a_json_408_and_the_connection_is_closed() {
    // Arrange: the body timeout is 1 s; 10 of 100 declared bytes are sent, then nothing
    let app = spawn_app_with(&[("REQUEST_BODY_TIMEOUT", "1s")]).await;
    let request = b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
        content-type: application/json\r\ncontent-length: 100\r\n\r\n{\"email\":"
        .to_vec();

    // Act
    let started = std::time::Instant::now();
    let answer = raw_exchange(app.port, request, true).await;
    println!("body timeout answered after {:?}", started.elapsed());

    // Assert
    answer.assert_json_error(408, "REQUEST_TIMEOUT", "stalled body");
    assert!(answer.closed, "the connection stays open after a 408");
}

#[tokio::test]
async fn a_complete_request_on_the_same_raw_path_is_answered_normally() {
    // Control for the table above: the raw client and a well-formed request give a 200.
    let app = spawn_app().await;

    let answer = raw_exchange(
        app.port,
        get_with("/api/health", "connection: close\r\n"),
        true,
    )
    .await;

    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
}
