//! Operator seeding, run from the CLI: the demo marketplace (`admin seed-demo`) and a bulk
//! catalogue for benchmarks (`admin seed-catalogue`). Not request paths: they write through the
//! contexts' repositories directly, in bulk.

pub mod catalogue;
pub mod demo;
