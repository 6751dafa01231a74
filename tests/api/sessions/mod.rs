//! Rental sessions over REST: renting, approving, ending and settling, messages, time, events.

mod concurrency;
mod events;
mod flow;
mod isolation;
mod messages;
mod renting;
pub(crate) mod support;
mod time;
