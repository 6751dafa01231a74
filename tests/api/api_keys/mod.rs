//! API keys (`/api/auth/api-keys`), black-box:
//!
//! - `creation`: a new key, its default or given name, and the names refused;
//! - `listing`: the caller's live keys without secrets, newest first, by page;
//! - `revocation`: revoking one's own key (also with itself), and the ids refused;
//! - `authentication`: a key as a credential (header or Bearer), wrong keys, the endpoints
//!   without one, another tenant, `last_used_at`, and a key outliving the JWT;
//! - `support`: the paths, the key list and the key rows the topic modules read.

mod authentication;
mod creation;
mod listing;
mod revocation;
mod support;
