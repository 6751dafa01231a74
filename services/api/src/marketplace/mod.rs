//! The marketplace: browse and search active agents, agent detail, favourites.

pub mod browse_sql;
pub mod cursor;
pub mod listing;
pub mod repo;
pub mod routes;
pub mod service;
