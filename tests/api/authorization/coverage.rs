//! Coverage by construction: every operation the served OpenAPI document lists has a row in some
//! authorization matrix, and every row names an operation the document lists. Each matrix
//! exposes the rows its test runs (`operations()`); a path matches a template when they agree
//! segment by segment, any `{parameter}` matching any `{parameter}` (the tables name the target
//! `{id}`, `{slug}`, `{user}`; the document `{agentId}` ...), and a row's query string is
//! ignored. The same rows are held against what the document says of each operation: every
//! status a table expects is a documented response, and an operation the document lists without
//! security answers an anonymous caller.

use crate::helpers::*;
use crate::principal_table::{Expect, Operation, PRINCIPALS};
use serde_json::Value;

/// Every row that some matrix runs.
fn matrix_rows() -> Vec<Operation> {
    [
        super::agents::operations(),
        super::admin_review::operations(),
        super::marketplace::operations(),
        super::accounts::operations(),
        super::open::operations(),
        super::platform::operations(),
        super::sessions::operations(),
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

/// Every (METHOD, template, operation object) of an OpenAPI document.
fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    let paths = document["paths"]
        .as_object()
        .expect("the document has paths");
    paths
        .iter()
        .flat_map(|(template, item)| {
            METHODS.into_iter().filter_map(|m| {
                item.get(m)
                    .map(|op| (m.to_uppercase(), template.clone(), op))
            })
        })
        .collect()
}

fn same(method: &str, template: &str, row: &Operation) -> bool {
    row.method.as_str() == method && shape(template) == shape(row.path)
}

/// The document's operations that no row covers, and the rows the document does not list.
fn gaps(document: &Value, rows: &[Operation]) -> (Vec<String>, Vec<String>) {
    let listed = operations(document);
    let uncovered = listed
        .iter()
        .filter(|(m, t, _)| !rows.iter().any(|row| same(m, t, row)))
        .map(|(m, t, _)| format!("{m} {t}"))
        .collect();
    let unknown = rows
        .iter()
        .filter(|row| !listed.iter().any(|(m, t, _)| same(m, t, row)))
        .map(|row| format!("{} {}", row.method, row.path))
        .collect();
    (uncovered, unknown)
}

/// Where a row disagrees with the document: a status it expects that the operation does not
/// document, or an anonymous expectation that contradicts the operation's security.
fn contradictions(document: &Value, rows: &[Operation]) -> Vec<String> {
    let mut found = Vec::new();
    for (method, template, op) in operations(document) {
        let open = op
            .get("security")
            .and_then(Value::as_array)
            .is_none_or(|s| s.is_empty());
        for row in rows.iter().filter(|row| same(&method, &template, row)) {
            for (who, expect) in PRINCIPALS.into_iter().zip(row.expect) {
                let status = expect.status().to_string();
                if op["responses"].get(&status).is_none() {
                    found.push(format!(
                        "{method} {template}: {who:?} expects {status}, not a documented response"
                    ));
                }
            }
            let anonymous_refused = matches!(row.expect[0], Expect::Denied(401, _));
            if open == anonymous_refused {
                found.push(format!(
                    "{method} {template}: documented security {}, but the anonymous caller expects {:?}",
                    if open { "none" } else { "required" },
                    row.expect[0]
                ));
            }
        }
    }
    found
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
    let contradicted = contradictions(&document, &rows);

    // Assert
    let listed = operations(&document).len();
    println!(
        "{listed} operations in the document; {} matrix rows x {} principals",
        rows.len(),
        PRINCIPALS.len()
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
    assert!(
        contradicted.is_empty(),
        "rows the document contradicts:\n{}",
        contradicted.join("\n")
    );
}

#[test]
fn an_operation_without_a_row_a_stray_row_and_an_undocumented_status_are_named() {
    use crate::principal_table::{ANON, N, OK};
    use reqwest::Method;
    // Arrange: a document of three operations; rows cover two of them, plus a stray one.
    let document = serde_json::json!({ "paths": {
        "/api/agents/{agentId}": {
            "get": { "security": [{ "bearer": [] }], "responses": { "200": {}, "401": {} } },
            "delete": { "security": [{ "bearer": [] }], "responses": { "200": {}, "401": {} } },
        },
        "/healthz": { "get": { "responses": { "200": {} } } },
    }});
    let mut get = [OK; N];
    get[0] = ANON;
    get[3] = Expect::Denied(403, "FORBIDDEN");
    let rows = [
        Operation {
            method: Method::GET,
            path: "/api/agents/{id}?limit=5",
            expect: get,
        },
        Operation {
            method: Method::POST,
            path: "/api/agents/{id}",
            expect: [OK; N],
        },
        Operation {
            method: Method::GET,
            path: "/healthz",
            expect: [ANON; N],
        },
    ];

    // Act
    let (uncovered, unknown) = gaps(&document, &rows);
    let contradicted = contradictions(&document, &rows);

    // Assert
    assert_eq!(uncovered, ["DELETE /api/agents/{agentId}"]);
    assert_eq!(unknown, ["POST /api/agents/{id}"]);
    assert!(
        contradicted
            .iter()
            .any(|c| c.starts_with("GET /api/agents/{agentId}: AgentToken expects 403")),
        "{contradicted:?}"
    );
    assert!(
        contradicted
            .iter()
            .any(|c| c.starts_with("GET /healthz: documented security none")),
        "{contradicted:?}"
    );
}
