//! Agents: the registry, provider profiles and their review lifecycle, agent tokens, activation.

pub mod admin_routes;
pub mod domain;
pub mod repo;
pub mod routes;
pub mod service;
pub mod views;
