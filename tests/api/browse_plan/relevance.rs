//! A broad relevance search walked by cursor: the ranked window once, then an empty last page.

use super::seed::seed;
use crate::helpers::*;

/// Relevance pages go by offset; following `nextCursor` past the offset cap must not serve the
/// same page forever.
#[tokio::test]
async fn walking_a_broad_relevance_search_covers_the_ranked_window_once() {
    // Arrange: every seeded listing matches "seeded", far more than the ranked window.
    let app = spawn_app().await;
    seed(&app, 10_500).await;
    let viewer = app.signup().await;
    let window = clawrent_api::marketplace::repo::RELEVANCE_WINDOW as usize;

    // Act: walk the relevance order by cursor, 100 at a time.
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/api/marketplace/browse?search=seeded&limit=100".to_owned();
    let mut pages = 0;
    loop {
        let page = app.get(&path, &viewer.auth()).await.expect(200).body;
        let page_ids = ids(&page);
        assert!(
            page_ids.iter().all(|id| !seen.contains(id)),
            "page {pages} repeats rows"
        );
        seen.extend(page_ids);
        pages += 1;
        assert!(pages <= window / 100 + 1, "the walk does not end");
        match page["nextCursor"].as_str() {
            Some(next) => {
                path = format!("/api/marketplace/browse?search=seeded&limit=100&cursor={next}")
            }
            None => break,
        }
    }

    // Assert: exactly the window, each row once; a page number past it is empty and final.
    assert_eq!(seen.len(), window);
    let past = app
        .get(
            "/api/marketplace/browse?search=seeded&page=11&limit=100",
            &viewer.auth(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(ids(&past).len(), 0);
    assert!(past["nextCursor"].is_null());
}
