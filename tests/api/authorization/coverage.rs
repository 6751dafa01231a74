//! Coverage by construction: every operation the served OpenAPI document lists has a row in some
//! authorization matrix, and every row names an operation the document lists. Each matrix
//! exposes the (method, path) of the same rows its test runs (`operations()`); a path matches a
//! template when they agree segment by segment, any `{parameter}` matching any `{parameter}`
//! (the tables name the target `{id}`, `{slug}`, `{user}`; the document `{agentId}` ...), and a
//! row's query string is ignored.

use crate::helpers::*;
use reqwest::Method;
use serde_json::Value;

/// Every (method, path) that some matrix runs.
fn matrix_rows() -> Vec<(Method, &'static str)> {
    [
        super::agents::operations(),
        super::admin_review::operations(),
        super::marketplace::operations(),
        super::accounts::operations(),
        super::open::operations(),
        super::platform::operations(),
        crate::billing::principals::operations(),
    ]
    .concat()
}

/// `/api/agents/{id}?limit=1` and `/api/agents/{agentId}` both become `/api/agents/{}`.
fn shape(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every (METHOD, template) of an OpenAPI document.
fn operations(document: &Value) -> Vec<(String, String)> {
    let paths = document["paths"]
        .as_object()
        .expect("the document has paths");
    paths
        .iter()
        .flat_map(|(template, item)| {
            METHODS
                .into_iter()
                .filter(|m| item.get(*m).is_some())
                .map(|m| (m.to_uppercase(), template.clone()))
        })
        .collect()
}

/// The document's operations that no row covers, and the rows the document does not list.
fn gaps(document: &Value, rows: &[(Method, &str)]) -> (Vec<String>, Vec<String>) {
    let listed = operations(document);
    let covered: Vec<(String, String)> = rows
        .iter()
        .map(|(method, path)| (method.to_string(), shape(path)))
        .collect();
    let uncovered = listed
        .iter()
        .filter(|(m, t)| !covered.contains(&(m.clone(), shape(t))))
        .map(|(m, t)| format!("{m} {t}"))
        .collect();
    let unknown = rows
        .iter()
        .filter(|(m, p)| {
            !listed
                .iter()
                .any(|(lm, lt)| *lm == m.to_string() && shape(lt) == shape(p))
        })
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    (uncovered, unknown)
}

#[tokio::test]
async fn every_operation_of_the_served_document_has_a_row_in_an_authorization_matrix() {
    // Arrange
    let app = spawn_app().await;
    let document = app
        .get("/api/openapi.json", &Auth::none())
        .await
        .expect(200)
        .body;
    let rows = matrix_rows();

    // Act
    let (uncovered, unknown) = gaps(&document, &rows);

    // Assert
    let listed = operations(&document).len();
    println!(
        "{listed} operations in the document, {} matrix rows",
        rows.len()
    );
    assert!(listed > 40, "the document lists {listed} operations");
    assert!(
        uncovered.is_empty(),
        "operations with no row in any authorization matrix:\n{}",
        uncovered.join("\n")
    );
    assert!(
        unknown.is_empty(),
        "rows naming an operation the document does not list:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn an_operation_without_a_row_is_named_and_a_row_without_an_operation_too() {
    // Arrange: a document of two operations, and rows that cover one of them plus a stray one.
    let document = serde_json::json!({ "paths": {
        "/api/agents/{agentId}": { "get": {}, "delete": {} },
    }});
    let rows = [
        (Method::GET, "/api/agents/{id}?limit=5"),
        (Method::POST, "/api/agents/{id}"),
    ];

    // Act
    let (uncovered, unknown) = gaps(&document, &rows);

    // Assert
    assert_eq!(uncovered, ["DELETE /api/agents/{agentId}"]);
    assert_eq!(unknown, ["POST /api/agents/{id}"]);
}
