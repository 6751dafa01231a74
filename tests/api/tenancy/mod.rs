//! Tenants: the platform API of the operator, and how every request finds its tenant.
//!
//! - `operator_auth`: the operator credential and what is not one;
//! - `creating`, `create_validation`, `listing`: creating tenants with their defaults, the input
//!   refused, listing with paging and reading one tenant;
//! - `updating`: patching a tenant, refused patches, the default tenant;
//! - `routing`: `X-Tenant` and `Host` routing, `ALLOW_TENANT_HEADER=false`, hostname changes;
//! - `isolation`: tokens, API keys, emails and logins that stay in their tenant;
//! - `suspension`: a suspended tenant answers 403, also on another replica;
//! - `admin_bootstrap`: creating or promoting a tenant's admin;
//! - `support`: the paths, unique slugs and hosts, counts and readers the modules share.

mod admin_bootstrap;
mod create_validation;
mod creating;
mod isolation;
mod listing;
mod operator_auth;
mod routing;
mod support;
mod suspension;
mod updating;
