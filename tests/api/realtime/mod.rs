//! WebSockets: `/ws/agent` (presence, control events, close codes), across two replicas.

mod agent;
mod session;
mod support;
