//! List pages as the tests read them: the ids on a page, and marketplace browse paths and pages
//! with their query form-encoded as the clients encode it.

use super::{Auth, TestApp};
use serde_json::Value;

pub const BROWSE: &str = "/api/marketplace/browse";

/// `/api/marketplace/browse?...` with the pairs form-encoded exactly as `URLSearchParams` does.
pub fn browse_path(pairs: &[(&str, &str)]) -> String {
    let url = reqwest::Url::parse_with_params("http://localhost/api/marketplace/browse", pairs)
        .expect("a valid URL");
    match url.query() {
        Some(query) if !query.is_empty() => format!("{BROWSE}?{query}"),
        _ => BROWSE.to_owned(),
    }
}

/// A browse page that must succeed.
pub async fn browse(app: &TestApp, auth: &Auth, pairs: &[(&str, &str)]) -> Value {
    app.get(&browse_path(pairs), auth).await.expect(200).body
}

/// The `id` of each item in a list page's `data`, in order.
pub fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|item| item["id"].as_str().expect("item id").to_owned())
        .collect()
}
