//! The one way the tests build an HTTP client.

use std::time::Duration;

/// How long an idle pooled connection may be reused. It must stay shorter than the server's
/// keep-alive (actix's default, 5 s, `startup.rs`): past that the server closes the connection,
/// and a client that still holds it sends its next request into a closing socket and gets
/// `hyper::Error(IncompleteMessage)`. `clients::` is the regression test.
pub const CLIENT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// The HTTP client every test uses (through `TestApp::client`, or directly for the real binary):
/// redirects are answers to assert on, not to follow; idle connections expire before the server's.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(CLIENT_POOL_IDLE_TIMEOUT)
        .build()
        .expect("client")
}

/// Sends GET `url` with `client` on `runtime`, a current-thread runtime that nothing drives between
/// calls: like a test runtime stalled by a blocking call, its connection tasks cannot notice that
/// the server closed an idle connection. (`block_on` runs on the blocking pool, so the test's own
/// runtime is never stalled.)
async fn get_on(
    runtime: &std::sync::Arc<tokio::runtime::Runtime>,
    client: &reqwest::Client,
    url: &str,
) -> Result<u16, String> {
    let (runtime, client, url) = (runtime.clone(), client.clone(), url.to_owned());
    tokio::task::spawn_blocking(move || {
        runtime.block_on(async move {
            match client.get(url).send().await {
                Ok(response) => Ok(response.status().as_u16()),
                Err(error) => Err(format!("{error:?}")),
            }
        })
    })
    .await
    .expect("join")
}

/// The regression behind issue 9: a test blocked its runtime on a child process for longer than
/// the server's keep-alive, then sent its next request on the pooled connection the server had
/// closed meanwhile, and got `hyper::Error(IncompleteMessage)`. Here the client's runtime is
/// stalled for 6 s of tokio time (longer than the 5 s keep-alive on purpose; the wait races
/// nothing). The control case, a client without the idle timeout, shows the stall reproduces the
/// failure; `http_client()` must come through it.
#[tokio::test]
async fn a_request_after_a_stall_longer_than_the_server_keep_alive_succeeds() {
    let app = super::spawn_app().await;
    let url = format!("{}/api/health", app.address);
    let without_idle_timeout = reqwest::Client::builder().build().expect("client");
    let cases = [
        ("http_client()", http_client(), true),
        (
            "a client without pool_idle_timeout",
            without_idle_timeout,
            false,
        ),
    ];
    for (name, client, must_succeed) in cases {
        // Arrange: one request leaves a connection in the client's pool
        let runtime = std::sync::Arc::new(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
        );
        assert_eq!(get_on(&runtime, &client, &url).await, Ok(200), "{name}");

        // Act: the client's runtime stays stalled past the server's keep-alive, then reuses it
        tokio::time::sleep(Duration::from_secs(6)).await;
        let again = get_on(&runtime, &client, &url).await;
        println!("{name}: {again:?}");
        tokio::task::spawn_blocking(move || drop((runtime, client)))
            .await
            .expect("join");

        // Assert
        if must_succeed {
            assert_eq!(again, Ok(200), "{name}: the second request is answered");
        } else {
            assert!(
                again
                    .as_ref()
                    .is_err_and(|e| e.contains("IncompleteMessage")),
                "{name}: the stall no longer reproduces the bug, so this test proves nothing: {again:?}"
            );
        }
    }
}
