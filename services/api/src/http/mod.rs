//! HTTP plumbing shared by every context: extractors, middleware, fallbacks, pagination, the edge
//! guards (NUL bytes, CORS, security headers) and JSON bodies for the HTTP layer's own errors.

pub mod allow;
pub mod client_ip;
pub mod cors;
pub mod extract;
pub mod fallback;
pub mod framework_errors;
pub mod guard;
pub mod middleware;
pub mod pagination;
pub mod responses;
pub mod seal;
