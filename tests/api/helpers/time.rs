//! Timestamps as the API writes them.

use serde_json::Value;

/// Asserts the wire format of every timestamp, `2026-07-13T00:00:00.000Z`: UTC, milliseconds, `Z`.
pub fn assert_millis_utc(value: &Value, what: &str) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value}"));
    assert_eq!(text.len(), 24, "{what}: {text}");
    assert_eq!(text.as_bytes()[19], b'.', "{what}: {text}");
    assert!(text.ends_with('Z'), "{what}: {text}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        "{what}: {text}"
    );
}
