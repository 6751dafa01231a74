//! Users, email verification, login and API keys.

pub mod api_keys;
pub mod domain;
pub mod repo;
pub mod routes;
pub mod service;
pub mod views;
