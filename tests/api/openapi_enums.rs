//! Every enum schema in the served OpenAPI document lists exactly the strings serde puts on the
//! wire, and (for the enums the API reads) serde accepts each listed string back.

use crate::helpers::{Auth, spawn_app};
use clawrent_api::accounts::domain::UserRole;
use clawrent_api::agents::domain::{
    AgentRoles, ApprovalMode, HostingType, OnlineStatus, PricingModel, ProfileStatus,
    RevisionStatus, SlotAssignmentMode, TransparencyLevel,
};
use clawrent_api::billing::domain::TxType;
use clawrent_api::billing::views::TopupStatus;
use clawrent_api::health::ServiceState;
use clawrent_api::sessions::domain::SessionStatus;
use clawrent_api::tenancy::domain::TenantStatus;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;

/// What serde writes for each variant, in declaration order.
fn written<T: Serialize>(variants: &[T]) -> Vec<String> {
    variants
        .iter()
        .map(|v| match serde_json::to_value(v).expect("serialize") {
            Value::String(s) => s,
            other => panic!("a unit variant serialized as {other}, not a string"),
        })
        .collect()
}

/// `written`, after checking that serde reads every documented string back into the variant
/// that writes it (the enums that requests carry).
fn round_trips<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    variants: &[T],
    documented: &[String],
) -> Vec<String> {
    for text in documented {
        let parsed: T = serde_json::from_value(Value::String(text.clone()))
            .unwrap_or_else(|e| panic!("the document lists {text:?}, which serde rejects: {e}"));
        let back = serde_json::to_value(&parsed).expect("serialize");
        assert_eq!(
            back,
            Value::String(text.clone()),
            "{text:?} reads as {parsed:?}"
        );
    }
    written(variants)
}

#[tokio::test]
async fn every_enum_in_the_served_document_lists_the_strings_serde_writes_and_reads() {
    let app = spawn_app().await;
    let doc = app
        .get("/api/openapi.json", &Auth::none())
        .await
        .expect(200)
        .body;
    let documented: BTreeMap<String, Vec<String>> = doc["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .iter()
        .filter_map(|(name, schema)| {
            let values = schema.get("enum")?.as_array()?;
            let values = values
                .iter()
                .map(|v| v.as_str().expect("string enum value").to_owned())
                .collect();
            Some((name.clone(), values))
        })
        .collect();
    let doc_of = |name: &str| -> Vec<String> {
        documented
            .get(name)
            .unwrap_or_else(|| panic!("the document has no enum schema {name}"))
            .clone()
    };

    // Every enum the document names, with the variants Rust has. A new enum schema without a
    // row here fails the coverage assertion below.
    let wire: Vec<(&str, Vec<String>)> = vec![
        (
            "AgentRoles",
            round_trips(AgentRoles::VARIANTS, &doc_of("AgentRoles")),
        ),
        (
            "ApprovalMode",
            round_trips(ApprovalMode::VARIANTS, &doc_of("ApprovalMode")),
        ),
        (
            "HostingType",
            round_trips(HostingType::VARIANTS, &doc_of("HostingType")),
        ),
        (
            "OnlineStatus",
            round_trips(OnlineStatus::VARIANTS, &doc_of("OnlineStatus")),
        ),
        (
            "PricingModel",
            round_trips(PricingModel::VARIANTS, &doc_of("PricingModel")),
        ),
        (
            "ProfileStatus",
            round_trips(ProfileStatus::VARIANTS, &doc_of("ProfileStatus")),
        ),
        (
            "RevisionStatus",
            round_trips(RevisionStatus::VARIANTS, &doc_of("RevisionStatus")),
        ),
        (
            "SessionStatus",
            round_trips(SessionStatus::VARIANTS, &doc_of("SessionStatus")),
        ),
        (
            "SlotAssignmentMode",
            round_trips(SlotAssignmentMode::VARIANTS, &doc_of("SlotAssignmentMode")),
        ),
        (
            "TransparencyLevel",
            round_trips(TransparencyLevel::VARIANTS, &doc_of("TransparencyLevel")),
        ),
        ("TxType", round_trips(TxType::VARIANTS, &doc_of("TxType"))),
        // Response-only enums (Serialize, no Deserialize): every variant, listed by hand.
        (
            "ServiceState",
            written(&[ServiceState::Up, ServiceState::Down]),
        ),
        (
            "TenantStatus",
            written(&[TenantStatus::Active, TenantStatus::Suspended]),
        ),
        ("TopupStatus", written(&[TopupStatus::Completed])),
        (
            "UserRole",
            written(&[
                UserRole::Consumer,
                UserRole::Provider,
                UserRole::Both,
                UserRole::Admin,
            ]),
        ),
    ];

    let mut mismatches = Vec::new();
    for (name, serde_values) in &wire {
        let listed = doc_of(name);
        println!("{name}: document {listed:?}, serde {serde_values:?}");
        if &listed != serde_values {
            mismatches.push(format!(
                "{name}: document {listed:?} but serde {serde_values:?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));

    let mut covered: Vec<&str> = wire.iter().map(|(name, _)| *name).collect();
    covered.sort_unstable();
    let in_document: Vec<&str> = documented.keys().map(String::as_str).collect();
    assert_eq!(
        in_document, covered,
        "an enum schema in the document has no row in this test (or a row has no schema)"
    );
}
