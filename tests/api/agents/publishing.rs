//! Publishing (the provider profile): the default terms, the CLI body, every documented term,
//! invalid terms that change nothing, and resubmitting while pending.

use super::support::{
    action_path, assert_field_error, browse_slugs, cli_terms, profile_count, stored_status, view,
};
use crate::helpers::*;
use serde_json::{Value, json};

fn assert_default_terms(profile: &Value, why: &str) {
    let expected = [
        ("pricingModel", json!("per_session")),
        ("priceAmount", json!("1.00")),
        ("currency", json!("CNY")),
        ("hostingType", json!("self_hosted")),
        ("approvalMode", json!("manual")),
        ("transparencyLevel", json!("moderate")),
        ("maxConcurrentSessions", json!(5)),
        ("maxConsumerSlots", json!(1)),
    ];
    for (key, value) in expected {
        assert_eq!(profile[key], value, "{why}: {key} in {profile}");
    }
}

#[tokio::test]
async fn publishing_without_a_body_or_content_type_submits_the_default_terms() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "no-body", json!({})).await;
    let second = app.create_agent(&owner, "empty-object", json!({})).await;

    // Act
    let bodyless = app
        .post_empty(&action_path(&id, "publish"), &owner.auth())
        .await;
    let empty_object = app.publish(&owner, &second, json!({})).await;

    // Assert
    let body = bodyless.expect(200).body;
    assert_eq!(body["status"], "pending_review");
    assert_eq!(body["roles"], "consumer", "not a provider until approved");
    let profile = &body["providerProfile"];
    assert_eq!(profile["status"], "pending_review");
    assert_eq!(profile["agentId"], id.as_str());
    assert_default_terms(profile, "no body");
    let body = empty_object.expect(200).body;
    assert_eq!(body["status"], "pending_review");
    assert_default_terms(&body["providerProfile"], "empty object");
    assert_eq!(
        stored_status(&app, &id).await.as_deref(),
        Some("pending_review")
    );
    assert!(
        !browse_slugs(&app, &owner.auth(), "")
            .await
            .contains(&"no-body".to_owned()),
        "a pending agent is not in the marketplace"
    );
}

#[tokio::test]
async fn applying_as_provider_with_the_cli_body_returns_the_full_profile() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "cli-apply", json!({})).await;

    // Act
    let reply = app
        .post(
            &action_path(&id, "apply-provider"),
            &owner.auth(),
            &cli_terms(),
        )
        .await;

    // Assert
    let body = reply.expect(200).body;
    assert_eq!(body["status"], "pending_review");
    let profile = &body["providerProfile"];
    assert_default_terms(profile, "CLI body");
    assert_eq!(profile["id"], id.as_str());
    assert_eq!(profile["agentId"], id.as_str());
    assert_eq!(profile["status"], "pending_review");
    assert_eq!(profile["slotAssignmentMode"], "auto");
    assert_eq!(profile["allowSharedConsumer"], false);
    assert_eq!(profile["verificationLevel"], "unverified");
    assert_eq!(profile["totalSessions"], 0);
    assert_eq!(profile["ratingCount"], 0);
    assert_eq!(profile["avgRating"], "0.00");
    assert_eq!(profile["completionRate"], "0.0000");
    for key in ["submittedAt", "createdAt", "updatedAt"] {
        assert_millis_utc(&profile[key], key);
    }
    for absent in ["reviewReason", "reviewedAt", "endpoint", "healthCheckUrl"] {
        assert!(profile.get(absent).is_none(), "{absent} in {profile}");
    }
    assert_eq!(view(&app, &owner, &id).await["providerProfile"], *profile);
}

#[tokio::test]
async fn publishing_accepts_every_documented_term() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "custom-terms", json!({})).await;
    let terms = json!({
        "pricingModel": "per_minute",
        "priceAmount": "0.0125",
        "currency": "USD",
        "hostingType": "platform_hosted",
        "approvalMode": "auto",
        "transparencyLevel": "transparent",
        "maxConcurrentSessions": 1000,
        "maxConsumerSlots": 100,
        "slotAssignmentMode": "manual",
        "allowSharedConsumer": true,
        "endpoint": "https://agent.example.com/v1",
        "healthCheckUrl": "http://agent.example.com:8080/health",
    });

    // Act
    let reply = app.publish(&owner, &id, terms.clone()).await;

    // Assert
    let body = reply.expect(200).body;
    assert_eq!(body["serveHosting"], "platform");
    let profile = &body["providerProfile"];
    for (key, value) in terms.as_object().expect("object") {
        assert_eq!(&profile[key.as_str()], value, "{key} in {profile}");
    }
}

#[tokio::test]
async fn invalid_provider_terms_are_400_and_leave_the_profile_unchanged() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let published = app.create_agent(&owner, "published", json!({})).await;
    app.publish(&owner, &published, json!({ "priceAmount": "2.50" }))
        .await
        .expect(200);
    let draft = app.create_agent(&owner, "still-draft", json!({})).await;
    let before = view(&app, &owner, &published).await;
    let cases: Vec<(&str, &str, Value)> = vec![
        ("price as a JSON number", "priceAmount", json!(1.5)),
        ("negative price", "priceAmount", json!("-1")),
        ("five decimals", "priceAmount", json!("1.23456")),
        ("not a number", "priceAmount", json!("abc")),
        ("NaN", "priceAmount", json!("NaN")),
        ("empty price", "priceAmount", json!("")),
        (
            "currency not accepted by the tenant",
            "currency",
            json!("EUR"),
        ),
        ("unknown pricing model", "pricingModel", json!("hourly")),
        ("0 concurrent sessions", "maxConcurrentSessions", json!(0)),
        (
            "1001 concurrent sessions",
            "maxConcurrentSessions",
            json!(1001),
        ),
        ("ftp endpoint", "endpoint", json!("ftp://x")),
        ("endpoint not a URL", "endpoint", json!("not a url")),
        (
            "javascript health check",
            "healthCheckUrl",
            json!("javascript:alert(1)"),
        ),
        (
            "price above one million",
            "priceAmount",
            json!("1000000.01"),
        ),
        ("exponent price", "priceAmount", json!("1e3")),
        (
            "uppercase pricing model",
            "pricingModel",
            json!("PER_SESSION"),
        ),
        ("lowercase currency", "currency", json!("cny")),
        ("unknown hosting type", "hostingType", json!("cloud")),
        (
            "shared-types approval mode",
            "approvalMode",
            json!("auto_rules"),
        ),
        (
            "unknown transparency level",
            "transparencyLevel",
            json!("full"),
        ),
        ("sessions as a string", "maxConcurrentSessions", json!("5")),
        ("fractional sessions", "maxConcurrentSessions", json!(2.5)),
        ("0 consumer slots", "maxConsumerSlots", json!(0)),
        ("101 consumer slots", "maxConsumerSlots", json!(101)),
        (
            "unknown slot assignment mode",
            "slotAssignmentMode",
            json!("random"),
        ),
    ];
    for (why, field, value) in cases {
        let terms = json!({ field: value });
        for action in ["publish", "apply-provider"] {
            // Act
            let resubmit = app
                .post(&action_path(&published, action), &owner.auth(), &terms)
                .await;
            let first = app
                .post(&action_path(&draft, action), &owner.auth(), &terms)
                .await;

            // Assert
            assert_field_error(&resubmit, &format!("{why} ({action}, resubmission)"), field);
            assert_field_error(
                &first,
                &format!("{why} ({action}, first submission)"),
                field,
            );
            assert_eq!(
                view(&app, &owner, &published).await,
                before,
                "{why} ({action}): the profile is unchanged"
            );
            assert_eq!(
                stored_status(&app, &draft).await,
                None,
                "{why} ({action}): no profile is created"
            );
        }
    }
}

#[tokio::test]
async fn resubmitting_while_pending_stays_pending_and_keeps_terms_not_sent() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "resubmit", json!({})).await;
    app.publish(
        &owner,
        &id,
        json!({ "pricingModel": "per_minute", "priceAmount": "2.50", "currency": "USD", "endpoint": "https://a.example.com" }),
    )
    .await
    .expect(200);

    // Act
    let reply = app
        .publish(&owner, &id, json!({ "priceAmount": "3.00" }))
        .await;

    // Assert
    let body = reply.expect(200).body;
    assert_eq!(body["status"], "pending_review");
    let profile = &body["providerProfile"];
    assert_eq!(profile["priceAmount"], "3.00", "the sent term changed");
    assert_eq!(profile["pricingModel"], "per_minute", "kept");
    assert_eq!(profile["currency"], "USD", "kept");
    assert_eq!(profile["endpoint"], "https://a.example.com", "kept");
    assert_eq!(profile["maxConcurrentSessions"], 5, "kept (default)");
    assert_eq!(view(&app, &owner, &id).await["providerProfile"], *profile);
    assert_eq!(profile_count(&app).await, 1, "still one profile");
}
