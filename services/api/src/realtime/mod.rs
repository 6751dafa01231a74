//! Realtime: presence now; WebSockets, the hub and the Redis bus come with the sessions issue.

pub mod presence;
