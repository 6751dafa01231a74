//! Edge hardening, black-box: NUL bytes refused before SQL, signed browse cursors, JSON bodies on
//! the HTTP layer's own errors, `Allow` on 405, security headers and opt-in CORS.

pub mod support;

mod allow;
mod cors;
mod cursors;
mod headers;
mod nul;
mod nul_bodies;
mod optional_bodies;
mod raw_http;
