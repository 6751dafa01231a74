//! WebSockets: `/ws/agent` (presence, control events, close codes), across two replicas.

mod agent;
mod frames;
mod listing;
mod redis_restart;
mod session;
mod support;
