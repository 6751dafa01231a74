//! The methods each path takes, read from the served OpenAPI document, for the `Allow` header of
//! 405 answers (RFC 9110 §15.5.6). Among templates matching a path, the most literal ones win, as
//! in routing (`/api/agents/my` is not `/api/agents/{id}`).

use serde_json::Value;

#[derive(Debug, Default)]
pub struct RouteMethods {
    routes: Vec<(Vec<String>, Vec<String>)>,
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

impl RouteMethods {
    pub fn from_document(document: &Value) -> Self {
        let routes = document["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .map(|(template, item)| {
                        let segments = template.split('/').map(str::to_owned).collect();
                        let methods = METHODS
                            .iter()
                            .filter(|m| item.get(**m).is_some())
                            .map(|m| m.to_ascii_uppercase())
                            .collect();
                        (segments, methods)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self { routes }
    }

    /// The `Allow` value for `path`, or `None` when no documented template matches it.
    pub fn allowed(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('/').collect();
        let literal_matches = |template: &[String]| -> Option<usize> {
            if template.len() != segments.len() {
                return None;
            }
            let mut literals = 0;
            for (t, s) in template.iter().zip(&segments) {
                if t.starts_with('{') && t.ends_with('}') {
                    if s.is_empty() {
                        return None;
                    }
                } else if t == s {
                    literals += 1;
                } else {
                    return None;
                }
            }
            Some(literals)
        };
        let scored: Vec<(usize, &Vec<String>)> = self
            .routes
            .iter()
            .filter_map(|(template, methods)| literal_matches(template).map(|n| (n, methods)))
            .collect();
        let best = scored.iter().map(|(n, _)| *n).max()?;
        let mut methods: Vec<&str> = scored
            .iter()
            .filter(|(n, _)| *n == best)
            .flat_map(|(_, m)| m.iter().map(String::as_str))
            .collect();
        methods.sort_unstable();
        methods.dedup();
        Some(methods.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literal_templates_win_and_methods_are_listed() {
        let document = json!({"paths": {
            "/api/agents/my": {"get": {}},
            "/api/agents/{id}": {"get": {}, "patch": {}},
            "/api/agents/{id}/token": {"post": {}, "delete": {}},
        }});
        let routes = RouteMethods::from_document(&document);
        assert_eq!(routes.allowed("/api/agents/my").as_deref(), Some("GET"));
        assert_eq!(
            routes.allowed("/api/agents/abc").as_deref(),
            Some("GET, PATCH")
        );
        assert_eq!(
            routes.allowed("/api/agents/abc/token").as_deref(),
            Some("DELETE, POST")
        );
        assert_eq!(routes.allowed("/api/agents//token"), None);
        assert_eq!(routes.allowed("/api/nothing"), None);
    }
}
