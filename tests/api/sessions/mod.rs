//! Rental sessions over REST: renting, approving, ending and settling, messages, time, events.

mod flow;
mod isolation;
pub(crate) mod support;
