//! The error envelope (`{"error": CODE, "message": ...}`) for every way a request can be wrong:
//!
//! - `routing`: unknown routes and wrong methods;
//! - `body`, `content`: malformed JSON, wrong types and missing fields; bodies too large, content
//!   types refused or accepted, unknown fields ignored;
//! - `query`: invalid paging;
//! - `hostile`: deep nesting, control characters, huge strings, hostile headers and paths;
//! - `request_ids`: the `X-Request-Id` of every response;
//! - `credentials`: malformed, expired, tampered or foreign tokens, and the previous JWT secret;
//! - `support`: raw senders, the envelope assertion and token tampering.

mod body;
mod content;
mod credentials;
mod hostile;
mod query;
mod request_ids;
mod routing;
mod support;
