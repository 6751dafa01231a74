//! Realtime: the replica's hub on one Redis pub/sub connection, agent presence, and the
//! WebSocket endpoints (`/ws/agent`; `/ws/session` comes next).

pub mod agent_socket;
pub mod channels;
pub mod hub;
pub mod presence;
pub mod pump;
pub mod reconcile;
pub mod session_socket;
mod session_traffic;
