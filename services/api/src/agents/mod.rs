//! Agents: the registry, provider profiles and their review lifecycle, agent tokens, activation.

pub mod admin_routes;
pub mod domain;
pub mod lifecycle;
pub mod presence_reconcile;
pub mod profile_repo;
pub mod rental;
pub mod repo;
pub mod revision_repo;
pub mod routes;
pub mod service;
pub mod serving;
pub mod serving_routes;
pub mod socket;
pub mod terms;
pub mod views;
