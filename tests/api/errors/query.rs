//! Query errors: invalid paging, naming the parameter.

use super::support::{KEYS, assert_envelope, message};
use crate::helpers::*;

#[tokio::test]
async fn invalid_paging_is_400_validation_error() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let cases = [
        ("limit above 100", "limit=101"),
        ("limit zero", "limit=0"),
        ("page zero", "page=0"),
        ("limit not a number", "limit=abc"),
        ("negative page", "page=-1"),
        ("fractional limit", "limit=1.5"),
        ("limit beyond u32", "limit=99999999999"),
        ("empty limit", "limit="),
    ];
    for (why, query) in cases {
        let reply = app.get(&format!("{KEYS}?{query}"), &user.auth()).await;
        assert_envelope(&reply, 400, "VALIDATION_ERROR", why);
    }
    let reply = app
        .get(&format!("{KEYS}?limit=100&page=1&unknown=1"), &user.auth())
        .await;
    assert_eq!(
        reply.expect(200).body["limit"],
        100,
        "unknown parameters are ignored"
    );
}

#[tokio::test]
async fn a_paging_error_names_the_parameter() {
    // docs/errors.md: VALIDATION_ERROR's `message` names the field.
    let app = spawn_app().await;
    let user = app.signup().await;
    let cases = [
        ("limit above 100", "limit=101", "limit"),
        ("page zero", "page=0", "page"),
        ("limit not a number", "limit=abc", "limit"),
        ("page not a number", "page=two", "page"),
        ("negative limit", "limit=-5", "limit"),
    ];
    for (why, query, field) in cases {
        let reply = app.get(&format!("{KEYS}?{query}"), &user.auth()).await;
        assert_envelope(&reply, 400, "VALIDATION_ERROR", why);
        assert!(
            message(&reply).contains(field),
            "{why}: the message must name {field}: {}",
            reply.text
        );
    }
}
