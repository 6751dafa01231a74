//! Rental sessions: a consumer rents an agent (a hold on their wallet), the provider approves,
//! both exchange messages, and ending settles the bill. Events go out through the outbox.

pub mod domain;
pub mod events;
pub mod message_repo;
pub mod messages;
pub mod repo;
pub mod routes;
pub mod service;
pub mod socket;
mod socket_traffic;
pub mod sweeper;
pub mod token;
pub mod transitions;
pub mod views;
