//! One black-box test binary: every test spawns the real app (port 0) against real Postgres,
//! Redis and SMTP, with its own database and Redis prefix, and talks HTTP to it.

mod helpers;
mod money_helpers;
mod principal_table;

mod accounts;
mod agents;
mod api_keys;
mod authorization;
mod billing;
mod browse_plan;
mod cli;
mod compat;
mod edge;
mod errors;
mod health;
mod idempotency;
mod marketplace;
mod newcomer;
mod openapi_enums;
mod overload;
mod pool_logs;
mod rate_limits;
mod realtime;
mod schemathesis;
mod sessions;
mod tenancy;
