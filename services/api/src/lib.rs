//! ClawRent-compatible, multi-tenant agent marketplace backend.

pub mod accounts;
pub mod agents;
pub mod auth;
pub mod billing;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod kv;
pub mod mail;
pub mod marketplace;
pub mod openapi;
pub mod ratelimit;
pub mod realtime;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tenancy;
pub mod time_format;
