//! Input no handler accepts, refused at the edge before routing: more than one `Host` header
//! (RFC 9112 §3.2 requires a 400: the tenant is chosen by Host, so an ambiguous one must not be
//! guessed), and a NUL character anywhere in the path or the query string (percent-encoded as
//! `%00`; raw NULs never parse). Postgres text cannot
//! hold NUL, so letting one through turns a client's mistake into a server error wherever the
//! string reaches SQL. JSON bodies are checked in `extract::parse_json`.

use crate::error::{ApiError, ErrorCode};
use actix_web::http::Uri;
use actix_web::http::header::{HOST, HeaderMap};

pub fn refuse_hostile_request(uri: &Uri, headers: &HeaderMap) -> Result<(), ApiError> {
    if headers.get_all(HOST).count() > 1 {
        return Err(ApiError::new(
            ErrorCode::MalformedRequest,
            "The request has more than one Host header",
        ));
    }
    refuse_nul_in_uri(uri)
}

pub fn refuse_nul_in_uri(uri: &Uri) -> Result<(), ApiError> {
    let has_nul = |text: &str| text.as_bytes().windows(3).any(|w| w == b"%00");
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        return Err(ApiError::validation(
            "The path or query string contains a NUL character (%00), which no parameter accepts",
        ));
    }
    Ok(())
}

/// Whether JSON text holds an escaped NUL (`\u0000`) inside a string. A backslash always starts an
/// escape of exactly one item, so skipping escapes pairwise tells `\\u0000` (a backslash and the
/// text `u0000`) from `\u0000`.
pub fn json_has_escaped_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1) == Some(&b'u') && bytes.get(i + 2..i + 6) == Some(b"0000") {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Where in a JSON document the first string (or key) holding a NUL is, in the path notation of
/// the body parser's messages (`name`, `items[0].title`); `.` for the document itself.
pub fn nul_path(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => Some(".".to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item).map(|rest| join(&format!("[{i}]"), &rest))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                Some(key.replace('\0', "\\u0000"))
            } else {
                nul_path(item).map(|rest| join(key, &rest))
            }
        }),
        _ => None,
    }
}

fn join(head: &str, rest: &str) -> String {
    match rest {
        "." => head.to_owned(),
        _ if rest.starts_with('[') => format!("{head}{rest}"),
        _ => format!("{head}.{rest}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_in_path_or_query_is_refused_and_lookalikes_are_not() {
        for (uri, refused) in [
            ("/api/marketplace/browse?search=%00", true),
            ("/api/marketplace/browse?category=a%00b&x=1", true),
            ("/api/marketplace/agents/a%00", true),
            ("/api/marketplace/browse?search=%2500", false),
            ("/api/marketplace/browse?search=100", false),
            ("/api/marketplace/agents/a%20b", false),
        ] {
            let uri: Uri = uri.parse().expect("uri");
            assert_eq!(refuse_nul_in_uri(&uri).is_err(), refused, "{uri}");
        }
    }

    #[test]
    fn the_path_of_a_nul_names_the_field() {
        use serde_json::json;
        assert_eq!(
            nul_path(&json!({"name": "a\u{0}"})).as_deref(),
            Some("name")
        );
        assert_eq!(
            nul_path(&json!({"items": [{"t": "ok"}, {"t": "\u{0}"}]})).as_deref(),
            Some("items[1].t")
        );
        assert_eq!(nul_path(&json!(["\u{0}"])).as_deref(), Some("[0]"));
        assert_eq!(nul_path(&json!("\u{0}")).as_deref(), Some("."));
        assert_eq!(nul_path(&json!({"name": "fine"})), None);
    }

    #[test]
    fn escaped_nul_is_found_only_as_an_escape() {
        for (json, found) in [
            (r#"{"name":"a\u0000"}"#, true),
            (r#"{"a\u0000":1}"#, true),
            (r#"{"name":"a\\u0000"}"#, false),
            (r#"{"name":"a\\\u0000"}"#, true),
            (r#"{"name":"u0000 \u00001"}"#, true),
            (r#"{"name":"\u0001"}"#, false),
            (r#"{"name":"plain"}"#, false),
        ] {
            assert_eq!(json_has_escaped_nul(json.as_bytes()), found, "{json}");
        }
    }
}
