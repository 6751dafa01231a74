//! Login refusals that reveal nothing about the account, and the credentials `me` needs.

use crate::helpers::*;

#[tokio::test]
async fn login_with_a_wrong_password_or_an_unknown_email_is_401_with_the_same_answer() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let wrong = app
        .login(&user.email, "not the password at all", &Auth::none())
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
    let unknown = app
        .login(&unique_email("ghost"), PASSWORD, &Auth::none())
        .await
        .expect_error(401, "INVALID_CREDENTIALS");
    assert_eq!(
        wrong.text, unknown.text,
        "unknown emails must be indistinguishable from wrong passwords"
    );
}

#[tokio::test]
async fn me_requires_credentials() {
    let app = spawn_app().await;
    app.me(&Auth::none())
        .await
        .expect_error(401, "UNAUTHORIZED");
    app.me(&Auth::bearer("not-a-token"))
        .await
        .expect_error(401, "INVALID_TOKEN");
    app.me(&Auth::api_key("clr_doesnotexist"))
        .await
        .expect_error(401, "INVALID_TOKEN");
    app.me(&Auth::bearer(
        "agt_clawrent_0123456789abcdef0123456789abcdef",
    ))
    .await
    .expect_error(401, "INVALID_TOKEN");
}
