//! The marketplace: browse and search active agents, agent detail, favourites.

pub mod cursor;
pub mod listing;
pub mod repo;
pub mod routes;
pub mod service;
