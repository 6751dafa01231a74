//! Money: wallets, the double-entry ledger, session holds and settlement, admin adjustments,
//! and the ledger's invariant audits. See docs/billing.md.

pub mod admin_routes;
pub mod audit_repo;
pub mod domain;
pub mod hold_repo;
pub mod holds;
pub mod ledger;
pub mod public_ids;
pub mod repo;
pub mod routes;
pub mod service;
pub mod views;
pub mod wallets;
