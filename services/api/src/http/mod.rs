//! HTTP plumbing shared by every context: extractors, middleware, fallbacks, pagination.

pub mod client_ip;
pub mod extract;
pub mod fallback;
pub mod middleware;
pub mod pagination;
