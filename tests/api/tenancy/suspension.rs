//! Suspension: a suspended tenant answers 403 until reactivated, also on another replica.

use super::support::{create_tenant_with_hosts, fresh_host, read_tenant, tenant_path};
use crate::helpers::*;
use serde_json::json;

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
        smtp().messages_to(&newcomer).await.is_empty(),
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
async fn a_suspension_reaches_another_replica_when_its_cache_entry_expires() {
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
    let on_the_patching_replica = app.me(&user.auth()).await;
    let before_expiry = replica.me(&user.auth()).await;
    replica.clock.advance(chrono::Duration::milliseconds(5_001));
    let after_expiry = replica.me(&user.auth()).await;

    // Assert: at once where the PATCH landed; on the other replica after its 5 s cache TTL
    on_the_patching_replica.expect_error(403, "TENANT_SUSPENDED");
    before_expiry.expect(200);
    after_expiry.expect_error(403, "TENANT_SUSPENDED");
}
