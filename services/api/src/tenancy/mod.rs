//! Tenants (marketplaces): resolution per request, and the platform-operator API.

pub mod domain;
pub mod repo;
pub mod resolve;
pub mod routes;
pub mod service;
