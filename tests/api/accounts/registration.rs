//! The register flow end to end with a code from a real SMTP server, and an email that is already
//! registered.

use super::user_rows;
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn the_full_register_flow_works_with_a_code_from_a_real_smtp_server() {
    let app = spawn_app().await;
    let email = unique_email("ada");

    let sent = app
        .send_verification(&email, &Auth::none())
        .await
        .expect(200);
    assert_eq!(sent.body["success"], true);
    assert_eq!(sent.body["expiresIn"], 600);
    let mail = smtp().messages_to(&email).await;
    assert_eq!(mail.len(), 1, "exactly one mail");
    let code = smtp().latest_code(&email).await;
    assert!(
        code.chars().all(|c| c.is_ascii_digit()) && code.len() == 6,
        "{code}"
    );

    let reply = app
        .register(&email, PASSWORD, &code, &Auth::none())
        .await
        .expect(201);
    let token = reply.body["token"].as_str().expect("token").to_owned();
    let api_key = reply.body["apiKey"].as_str().expect("apiKey").to_owned();
    assert!(api_key.starts_with("clr_"));
    assert_eq!(reply.body["user"]["email"], email.as_str());
    assert_eq!(reply.body["user"]["name"], "Test User");
    let id = reply.body["user"]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        uuid::Uuid::parse_str(&id).expect("uuid").get_version_num(),
        7
    );

    for auth in [
        Auth::bearer(&token),
        Auth::api_key(&api_key),
        Auth::bearer(&api_key),
    ] {
        let me = app.me(&auth).await.expect(200);
        assert_eq!(me.body["id"], id.as_str());
        assert_eq!(me.body["email"], email.as_str());
        assert_eq!(me.body["role"], "consumer");
        assert_eq!(me.body["emailVerified"], true);
        assert_eq!(me.body["tenant"]["slug"], "default");
    }

    let login = app
        .login(&email.to_uppercase(), PASSWORD, &Auth::none())
        .await
        .expect(200);
    assert_eq!(login.body["user"]["id"], id.as_str());
    app.me(&Auth::bearer(login.body["token"].as_str().expect("token")))
        .await
        .expect(200);

    let (hash, verifications): (String, i64) = sqlx::query_as(
        "SELECT password_hash, (SELECT count(*) FROM email_verifications) FROM users WHERE id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.db)
    .await
    .expect("row");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert_eq!(verifications, 0, "the code is consumed");
}

#[tokio::test]
async fn a_registered_email_cannot_get_a_code_or_register_again() {
    let app = spawn_app().await;
    let user = app.signup().await;
    app.send_verification(&user.email, &Auth::none())
        .await
        .expect_error(409, "EMAIL_ALREADY_REGISTERED");
    app.send_verification(&user.email.to_uppercase(), &Auth::none())
        .await
        .expect_error(409, "EMAIL_ALREADY_REGISTERED");

    // The account appears between sending the code and registering (here: an admin bootstrap).
    let email = unique_email("race");
    app.send_verification(&email, &Auth::none())
        .await
        .expect(200);
    let code = smtp().latest_code(&email).await;
    let admin = json!({ "email": email, "password": PASSWORD, "name": "Admin" });
    app.post(
        "/api/platform/tenants/default/admins",
        &Auth::operator(),
        &admin,
    )
    .await
    .expect(201);
    app.register(&email, PASSWORD, &code, &Auth::none())
        .await
        .expect_error(409, "EMAIL_ALREADY_REGISTERED");
    assert_eq!(user_rows(&app, &email).await, 1);
}
