//! Cross-origin access for browser clients, off unless CORS_ALLOWED_ORIGINS lists origins. The
//! API authenticates with headers (Bearer, x-api-key), never cookies, so credentials mode is not
//! offered and a listed origin gets exactly its own name back (never `*`).

use actix_web::http::Method;
use actix_web::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD,
    HeaderMap, HeaderValue, ORIGIN, VARY,
};

const ALLOW_METHODS: &str = "GET, POST, PATCH, DELETE";
const ALLOW_HEADERS: &str =
    "authorization, content-type, x-api-key, x-tenant, idempotency-key, x-request-id";
const EXPOSE_HEADERS: &str = "x-request-id, retry-after, idempotent-replayed, allow";
const MAX_AGE_SECONDS: &str = "600";

/// The request's `Origin` when it is one of `allowed`.
pub fn allowed_origin(headers: &HeaderMap, allowed: &[String]) -> Option<HeaderValue> {
    if allowed.is_empty() {
        return None;
    }
    let origin = headers.get(ORIGIN)?;
    let text = origin.to_str().ok()?.to_ascii_lowercase();
    allowed.contains(&text).then(|| origin.clone())
}

/// A CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(ORIGIN)
        && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

/// Headers of the answer to an allowed preflight.
pub fn preflight_headers(origin: HeaderValue, out: &mut HeaderMap) {
    out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    out.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOW_METHODS),
    );
    out.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    out.insert(
        ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE_SECONDS),
    );
    out.append(VARY, HeaderValue::from_static("Origin"));
}

/// Headers added to an actual response for an allowed origin.
pub fn response_headers(origin: HeaderValue, out: &mut HeaderMap) {
    out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    out.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
    out.append(VARY, HeaderValue::from_static("Origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ORIGIN, HeaderValue::from_str(origin).expect("header"));
        h
    }

    #[test]
    fn only_listed_origins_are_echoed() {
        let allowed = vec!["https://app.example.com".to_owned()];
        assert!(allowed_origin(&headers("https://app.example.com"), &allowed).is_some());
        assert!(allowed_origin(&headers("https://APP.example.com"), &allowed).is_some());
        assert!(allowed_origin(&headers("https://evil.example.com"), &allowed).is_none());
        assert!(allowed_origin(&headers("https://app.example.com.evil"), &allowed).is_none());
        assert!(allowed_origin(&headers("null"), &allowed).is_none());
        assert!(allowed_origin(&headers("https://app.example.com"), &[]).is_none());
        assert!(allowed_origin(&HeaderMap::new(), &allowed).is_none());
    }
}
