use super::*;
use crate::money::parse_price;
use ProfileStatus::*;
use ReviewAction::*;
use rust_decimal::Decimal;

#[test]
fn the_lifecycle_allows_exactly_these_transitions() {
    let at = |status, revision_pending| {
        Some(ReviewState {
            status,
            revision_pending,
        })
    };
    let mut states = vec![None];
    for status in ProfileStatus::VARIANTS {
        states.push(at(*status, false));
        states.push(at(*status, true));
    }
    let actions = [Submit, Approve, Reject, Suspend, Reinstate];
    let mut allowed = vec![(None, Submit, Outcome::Status(PendingReview))];
    for revision in [false, true] {
        allowed.extend([
            (
                at(PendingReview, revision),
                Submit,
                Outcome::Status(PendingReview),
            ),
            (
                at(Rejected, revision),
                Submit,
                Outcome::Status(PendingReview),
            ),
            (at(Active, revision), Submit, Outcome::Revise),
            (
                at(PendingReview, revision),
                Approve,
                Outcome::Status(Active),
            ),
            (
                at(PendingReview, revision),
                Reject,
                Outcome::Status(Rejected),
            ),
            (at(Active, revision), Suspend, Outcome::Status(Suspended)),
            (at(Suspended, revision), Reinstate, Outcome::Status(Active)),
        ]);
    }
    allowed.extend([
        (at(Active, true), Approve, Outcome::ApplyRevision),
        (at(Active, true), Reject, Outcome::RejectRevision),
    ]);
    for from in states {
        for action in actions {
            let expected = allowed
                .iter()
                .find(|(f, a, _)| *f == from && *a == action)
                .map(|(_, _, to)| *to);
            match (transition(from, action), expected) {
                (Ok(to), Some(want)) => assert_eq!(to, want, "{from:?} {action:?}"),
                (Err(e), None) => {
                    assert_eq!(e.code, crate::error::ErrorCode::Conflict);
                    if let Some(current) = from {
                        assert!(
                            e.message
                                .contains(&format!("'{}'", current.status.as_str())),
                            "{}",
                            e.message
                        );
                    }
                }
                (got, want) => panic!("{from:?} {action:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}

#[test]
fn approving_a_live_profile_without_a_revision_says_so() {
    let live = Some(ReviewState {
        status: Active,
        revision_pending: false,
    });
    for action in [Approve, Reject] {
        let err = transition(live, action).expect_err("nothing to review");
        assert!(err.message.contains("no revision"), "{}", err.message);
    }
}

#[test]
fn prices() {
    assert_eq!(parse_price("1.00").ok(), Some(Decimal::new(100, 2)));
    assert!(parse_price("0").is_ok());
    for bad in [
        "",
        "-1",
        "1.23456",
        "1e3",
        "abc",
        "1000000.01",
        " ",
        "NaN",
        "1,5",
    ] {
        assert!(parse_price(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn slugs_urls_and_permissions() {
    assert!(parse_slug("my-agent").is_ok());
    for bad in ["ab", "My-Agent", "-abc", "abc-", "a_b_c", &"a".repeat(51)] {
        assert!(parse_slug(bad).is_err(), "{bad}");
    }
    assert!(parse_url("endpoint", "https://agent.example.com/v1").is_ok());
    for bad in [
        "ftp://x",
        "https://",
        "javascript:alert(1)",
        "https://user@host",
        "https://a b",
    ] {
        assert!(parse_url("endpoint", bad).is_err(), "{bad}");
    }
    assert_eq!(
        parse_permissions(vec!["system.exec".into(), "system.exec".into()]).ok(),
        Some(vec!["system.exec".to_owned()])
    );
    assert!(parse_permissions(vec!["rm -rf".into()]).is_err());
}

#[test]
fn capabilities_are_validated_with_their_index() {
    let bad = vec![Capability {
        category: " ".into(),
        name: "x".into(),
        description: String::new(),
        tags: vec![],
    }];
    let err = parse_capabilities(bad).expect_err("empty category");
    assert!(
        err.message.starts_with("capabilities[0].category"),
        "{}",
        err.message
    );
}
