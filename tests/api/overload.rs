//! Overload: a flood of wrong logins from one address gets a quick 503 OVERLOADED with
//! Retry-After instead of queueing password hashes in front of everyone else.
//!
//! The test plays the trusted proxy: the app trusts loopback (the default TRUSTED_PROXIES), so the
//! `X-Forwarded-For` it sends names the client. Latencies are printed, never asserted.

use crate::helpers::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

const FLOOD_IP: &str = "203.0.113.66";
const USER_IP: &str = "198.51.100.7";
/// Concurrent flooding connections, each sending wrong logins until the real user is done (at
/// most `FLOOD_ROUNDS` each, to bound the load on a shared machine).
const FLOOD_CONNECTIONS: usize = 60;
const FLOOD_ROUNDS: usize = 20;
const USER_LOGINS: usize = 5;

fn from(ip: &str) -> Auth {
    Auth::none().with("x-forwarded-for", format!("10.9.8.7, {ip}"))
}

fn summary(mut millis: Vec<u128>) -> String {
    if millis.is_empty() {
        return "n=0".to_owned();
    }
    millis.sort_unstable();
    let at = |q: usize| millis[(millis.len() - 1) * q / 100];
    format!(
        "n={} p50={}ms p90={}ms max={}ms",
        millis.len(),
        at(50),
        at(90),
        at(100)
    )
}

#[tokio::test]
async fn a_flood_from_one_address_is_shed_while_another_address_logs_in() {
    // The per-IP login limit is lifted so that the hashing queue, not the rate limiter, answers the
    // flood. The wait for a slot is long: the 2 s default is covered by the hasher's unit test, and
    // here only the per-client cap may refuse anyone, however slow this machine is.
    let app = spawn_app_with(&[
        ("TRUST_PROXY_HEADERS", "true"),
        ("RATE_LIMIT_LOGIN_IP", "100000/15m"),
        ("PASSWORD_HASH_CONCURRENCY", "2"),
        ("PASSWORD_HASH_PER_CLIENT", "2"),
        ("PASSWORD_HASH_MAX_WAIT", "60s"),
    ])
    .await;
    let user = app.signup().await;
    let app = Arc::new(app);
    let done = Arc::new(AtomicBool::new(false));

    let flood: Vec<_> = (0..FLOOD_CONNECTIONS)
        .map(|_| {
            let (app, done) = (Arc::clone(&app), Arc::clone(&done));
            tokio::spawn(async move {
                let mut replies = Vec::new();
                for _ in 0..FLOOD_ROUNDS {
                    let started = Instant::now();
                    let reply = app
                        .login(&unique_email("guess"), "wrong password 1", &from(FLOOD_IP))
                        .await;
                    replies.push((reply, started.elapsed()));
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                }
                replies
            })
        })
        .collect();

    let mut user_millis = Vec::new();
    for attempt in 0..USER_LOGINS {
        let started = Instant::now();
        let reply = app.login(&user.email, &user.password, &from(USER_IP)).await;
        user_millis.push(started.elapsed().as_millis());
        assert_eq!(
            reply.status.as_u16(),
            200,
            "real login {attempt} was refused during the flood: {}",
            reply.text
        );
    }
    done.store(true, Ordering::Relaxed);

    let mut shed = Vec::new();
    let mut hashed = Vec::new();
    for task in flood {
        for (reply, took) in task.await.expect("flood task") {
            match reply.status.as_u16() {
                503 => {
                    let reply = reply.expect_error(503, "OVERLOADED");
                    let retry: u64 = reply
                        .header("retry-after")
                        .expect("Retry-After on 503")
                        .parse()
                        .expect("whole seconds");
                    assert!(retry >= 1, "{retry}");
                    shed.push(took.as_millis());
                }
                _ => {
                    reply.expect_error(401, "INVALID_CREDENTIALS");
                    hashed.push(took.as_millis());
                }
            }
        }
    }
    println!("real user logins: {}", summary(user_millis));
    println!("flood answered 503 OVERLOADED: {}", summary(shed.clone()));
    println!(
        "flood answered 401 after a hash: {}",
        summary(hashed.clone())
    );
    assert!(!shed.is_empty(), "the flood was never shed");
    assert!(
        shed.len() > hashed.len(),
        "most of the flood should be shed: {} shed, {} hashed",
        shed.len(),
        hashed.len()
    );
}
