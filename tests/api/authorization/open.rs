//! The endpoints that need no credential (send-verification, register, login and the three
//! health endpoints) × every principal. "Allowed" means: the credential sent, valid or not, is
//! ignored, and every principal gets the answer an anonymous caller gets for the same body in
//! the same marketplace. The marketplace comes from `X-Tenant`, so the two principals of the
//! other marketplace (who send its slug) get that marketplace's answer: the owner's email is
//! unknown there, and a code mailed here is no code there.

use super::matrix::{Fixture, Row, covered, run};
use super::world::{World, world_on};
use crate::helpers::*;
use crate::principal_table::*;
use reqwest::Method;
use serde_json::json;

const EVERYONE: [Expect; N] = [OK; N];
/// Answered in the caller's marketplace: the two foreign principals send the other one.
fn here_or_there(here: Expect, there: Expect) -> [Expect; N] {
    PRINCIPALS.map(|who| match who {
        Who::ForeignUser | Who::ForeignAdmin => there,
        _ => here,
    })
}

fn rows() -> Vec<Row> {
    vec![
        Row::new(
            Method::POST,
            "/api/auth/send-verification",
            Fixture::FreshEmail,
            EVERYONE,
        )
        .body(|_, t| json!({ "email": t.email })),
        Row::new(
            Method::POST,
            "/api/auth/register",
            Fixture::VerifiedEmail,
            here_or_there(CREATED, Expect::Denied(400, "INVALID_VERIFICATION_CODE")),
        )
        .body(|_, t| {
            json!({ "email": t.email, "password": PASSWORD, "name": "Registered",
                    "verificationCode": t.code })
        })
        .shows(|_, t| Some(t.email.clone())),
        Row::new(
            Method::POST,
            "/api/auth/login",
            Fixture::Nothing,
            here_or_there(OK, Expect::Denied(401, "INVALID_CREDENTIALS")),
        )
        .body(|w: &World, _| json!({ "email": w.owner.email, "password": PASSWORD }))
        .shows(|w, _| Some(w.owner.id.clone()))
        .writes(false),
        Row::new(Method::GET, "/api/health", Fixture::Nothing, EVERYONE),
        Row::new(Method::GET, "/healthz", Fixture::Nothing, EVERYONE),
        Row::new(Method::GET, "/readyz", Fixture::Nothing, EVERYONE),
    ]
}

pub fn operations() -> Vec<Operation> {
    covered(&rows())
}

#[tokio::test]
async fn endpoints_without_authentication_answer_every_principal_alike() {
    // The owner logs in once per principal: the per-account login limit (10 per 15 minutes)
    // is raised so that the table tests authorization, not the limiter.
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_ACCOUNT", "100/15m")]).await;
    let w = world_on(app).await;
    run(&w, &rows()).await;
}
