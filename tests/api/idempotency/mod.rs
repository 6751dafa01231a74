//! `Idempotency-Key` on the money-moving POSTs (top-up, admin adjustment): a repeat replays the
//! first response byte for byte and moves no money; the same key with another request is 422;
//! keys belong to one user; malformed keys are 400; client errors are stored and replayed;
//! concurrent repeats wait for the first; an expired key works again.

mod concurrency_and_expiry;
mod replays;
mod requests;
mod support;
