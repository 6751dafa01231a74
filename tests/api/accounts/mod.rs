//! Registration with a mailed code (read from a real SMTP server), login, `me`, and each documented error.
//!
//! - `registration`: the whole flow from the mailed code to `me` and login, and an email that is
//!   already registered;
//! - `codes`: verification codes stored hashed, wrong, locked, expired, missing and resent;
//! - `validation`: weak passwords, malformed emails, and invalid or missing fields;
//! - `login`: one answer for a wrong password and an unknown email, and what `me` needs;
//! - `resend`: asking again within the cooldown (200, no mail, `resendAfter`);
//! - `existing_email`: registering an email that has an account (409).

mod codes;
mod existing_email;
mod login;
mod registration;
mod resend;
mod validation;

use crate::helpers::TestApp;

/// How many users have `email`.
async fn user_rows(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .expect("count")
}
