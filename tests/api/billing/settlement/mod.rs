//! Settlement arithmetic through the hold/settle/void service, checked against the wallets
//! (HTTP), the settlements table, the platform-fee postings and the admin ledger verification:
//! the hold by pricing model, the charge by usage (capped at the hold, with the caps from the
//! config), and the fee rounded half to even at 4 decimals. Each case is one table row run by
//! `run_case`; what a hold does outside a clean settlement is in `settlement_holds`.
//!
//! - `pricing`: flat, per-minute and per-token prices, and the hold caps from the config;
//! - `rounding`: the fee rounded half to even at 4 decimals, at 50 % and at the default 15 %;
//! - `case`: one case (terms, usage, expected hold and split) and `run_case`, which checks it.

mod case;
mod pricing;
mod rounding;
