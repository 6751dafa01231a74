//! Rental sessions over REST: renting, approving, ending and settling, messages, time, events.

mod concurrency;
mod events;
mod flow;
mod isolation;
mod messages;
mod renting;
mod support;
mod time;
