//! The marketplace as its users see it:
//!
//! - `shown`: what browse lists and which fields an item carries (never private ones);
//! - `filters`, `sorting`, `paging`: each filter with exact totals, typo-tolerant search, the
//!   online filter, invalid parameters, each sort, and walks by cursor or by page number;
//! - `cursors`: cursors refused by another query, another tenant, or tampering;
//! - `detail`: agent detail, and tenants that never see each other's agents;
//! - `favourites`: favouriting, listing and removing favourites;
//! - `support`: id sets, listed and hidden agents, and the walk (browse paths and pages are
//!   `helpers::paging`).

mod cursors;
mod detail;
mod favourites;
mod filters;
mod paging;
mod shown;
mod sorting;
mod support;
