//! The provider lifecycle of an agent, end to end over HTTP:
//!
//! - `registering`, `editing`: creating an agent (field limits, slugs per tenant), listing,
//!   reading and editing one's own agents, and when an edit is allowed;
//! - `publishing`: applying as a provider with the default or the documented terms;
//! - `review`, `review_audit`: the admin decisions (approve, reject, suspend, reinstate), the
//!   transitions they refuse, their audit records and the review queue;
//! - `tokens`, `token_credential`: issuing and revoking an agent token, and what the token can
//!   do as a credential (`/api/me/agent`, acting as its owner, staying in its tenant);
//! - `activation`: going online, busy and offline, and what activation needs;
//! - `revisions`, `revision_review`: republishing an active agent (it stays live; the terms wait
//!   as its `pendingRevision`), who sees the revision, and the admin's decisions on it;
//! - `rereview`, `concurrency`, `corner_cases`: re-review after rejection, concurrent approvals,
//!   registrations and token issues, long reasons, duplicate permissions, malformed bodies;
//! - `support`: the paths, bodies, counts and assertions the topic modules share.

mod activation;
mod concurrency;
mod corner_cases;
mod editing;
mod publishing;
mod registering;
mod rereview;
mod review;
mod review_audit;
mod revision_review;
mod revisions;
mod support;
mod token_credential;
mod tokens;
