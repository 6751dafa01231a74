//! The browse query's plan (`EXPLAIN` of the exact SQL `marketplace::repo` runs) and the readers
//! of its nodes.

use super::seed::tenant;
use crate::helpers::TestApp;
use clawrent_api::marketplace::repo::{Filter, Position, Sort, explain_browse};
use serde_json::Value;

/// Every plan node, depth first.
pub fn nodes(plan: &Value) -> Vec<&Value> {
    let mut out = vec![plan];
    for child in plan["Plans"].as_array().into_iter().flatten() {
        out.extend(nodes(child));
    }
    out
}

pub fn root(explained: &Value) -> &Value {
    &explained[0]["Plan"]
}

/// `Node Type` (and the index or relation) of each node, for the report.
pub fn describe(explained: &Value) -> String {
    nodes(root(explained))
        .iter()
        .map(|n| {
            let kind = n["Node Type"].as_str().unwrap_or("?");
            match (n["Index Name"].as_str(), n["Relation Name"].as_str()) {
                (Some(index), _) => format!("{kind}({index})"),
                (None, Some(relation)) => format!("{kind}[{relation}]"),
                _ => kind.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" > ")
}

pub fn seq_scans_on_listings(explained: &Value) -> usize {
    nodes(root(explained))
        .iter()
        .filter(|n| n["Node Type"] == "Seq Scan" && n["Relation Name"] == "listings")
        .count()
}

/// A `Limit` that skips rows starts later than its input: an OFFSET costs the skipped rows
/// before the first row comes out. Without one the startup costs are equal.
pub fn skips_rows(explained: &Value) -> bool {
    nodes(root(explained)).iter().any(|n| {
        n["Node Type"] == "Limit"
            && n["Plans"][0]["Startup Cost"]
                .as_f64()
                .zip(n["Startup Cost"].as_f64())
                .is_some_and(|(input, limit)| limit > input + 0.01)
    })
}

pub async fn explain(
    app: &TestApp,
    filter: &Filter,
    sort: Sort,
    position: &Position,
    limit: i64,
) -> Value {
    let mut conn = app.db.acquire().await.expect("a connection");
    explain_browse(&mut conn, tenant(), filter, sort, position, limit)
        .await
        .expect("EXPLAIN the browse query")
}

pub fn search(text: &str) -> Filter {
    Filter {
        search: Some(text.to_owned()),
        ..Filter::default()
    }
}

/// A (key, id) from the middle of the data in the sort's order, as the cursor would carry it.
pub async fn middle_key(app: &TestApp, sort: Sort) -> (String, clawrent_api::ids::AgentId) {
    let sql = match sort {
        Sort::Newest => {
            "SELECT published_at::text, agent_id FROM listings
             ORDER BY published_at DESC, agent_id DESC OFFSET 100000 LIMIT 1"
        }
        Sort::PriceAsc | Sort::PriceDesc => {
            "SELECT price_amount::text, agent_id FROM listings ORDER BY price_amount, agent_id OFFSET 100000 LIMIT 1"
        }
        Sort::Popularity | Sort::Relevance => {
            "SELECT total_sessions::text, agent_id FROM listings
             ORDER BY total_sessions DESC, agent_id DESC OFFSET 100000 LIMIT 1"
        }
        Sort::Rating => {
            "SELECT avg_rating::text, agent_id FROM listings ORDER BY avg_rating DESC, agent_id DESC OFFSET 100000 LIMIT 1"
        }
    };
    sqlx::query_as(sql)
        .fetch_one(&app.db)
        .await
        .expect("a key from the middle")
}
