//! The browse queries stay index-driven at catalogue scale: a test of the query PLAN that
//! `marketplace::repo` builds (the exact SQL that serves requests), never of timing.
//!
//! - `scale`: one seed of two hundred thousand listings, the plans of every sort, filter and
//!   cursor, then the same catalogue through HTTP (exact and windowed totals, deep pages);
//! - `relevance`: a walk by cursor through a broad relevance search covers the ranked window once;
//! - `seed`: the bulk seed of listings in the default tenant;
//! - `explain`: the browse query's plan and the readers of its nodes.

mod explain;
mod relevance;
mod scale;
mod seed;
