//! Who may call what: every operation of the served OpenAPI document, called by every kind of
//! principal (`principal_table`), as one table per area. A refused call must leave the database
//! exactly as it was and must not reveal anything about its target; `coverage` fails when an
//! operation has no row in any table (the money table is `billing::principals`).
//!
//! - `world`: the principals, built once per table test;
//! - `agent_matrix`: the runner for tables whose target is a fresh agent: `agents`,
//!   `admin_review`, `marketplace`;
//! - `session_matrix`: the runner for the table whose target is a fresh session (or, for
//!   renting, a fresh rentable agent) with the owner as one participant: `sessions`, its
//!   fixtures in `session_fixture`;
//! - `matrix`: the runner for the other tables: `accounts` (me, API keys), `open` (no credential
//!   needed: login, register, send-verification, health), `platform` (the operator's API);
//! - `refusals`: two refusals stated one by one;
//! - `credentials`: which credentials each kind of principal can mint, and what they can do;
//! - `coverage`: every documented operation has a row.

mod accounts;
mod admin_review;
mod agent_matrix;
mod agents;
mod coverage;
mod credentials;
mod marketplace;
mod matrix;
mod open;
mod platform;
mod refusals;
mod session_fixture;
mod session_matrix;
mod sessions;
mod world;
