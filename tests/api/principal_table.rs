//! The principal table shared by the authorization matrices (the tables in `authorization`,
//! money in `billing::principals`): the ten kinds of caller, in the column order of every
//! expectation row, and what each row may expect.

/// The callers, in the column order of every expectation row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Anonymous,
    /// The target's owner with their JWT.
    Owner,
    /// The owner with their API key (`x-api-key`).
    OwnerApiKey,
    /// A token of one of the owner's agents (acts as the owner).
    AgentToken,
    /// Another user of the same marketplace.
    OtherUser,
    /// The marketplace's admin.
    Admin,
    /// A user of another marketplace, with that marketplace's `X-Tenant` and their own token.
    ForeignUser,
    /// The same foreign user's token sent to the owner's marketplace.
    ForeignTokenHere,
    /// The other marketplace's admin, in their marketplace.
    ForeignAdmin,
    /// The platform operator (`Authorization: Bearer <PLATFORM_OPERATOR_TOKEN>`).
    PlatformOperator,
}

/// How many principals every row names.
pub const N: usize = 10;

pub const PRINCIPALS: [Who; N] = [
    Who::Anonymous,
    Who::Owner,
    Who::OwnerApiKey,
    Who::AgentToken,
    Who::OtherUser,
    Who::Admin,
    Who::ForeignUser,
    Who::ForeignTokenHere,
    Who::ForeignAdmin,
    Who::PlatformOperator,
];

#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// Served with this status; the body shows the target.
    Allowed(u16),
    /// Served with this status, about the caller's own data: nothing of the target is shown
    /// and nothing changes.
    Blind(u16),
    /// Refused with this status and code: only the error envelope, nothing changes.
    Denied(u16, &'static str),
}

pub const OK: Expect = Expect::Allowed(200);
pub const CREATED: Expect = Expect::Allowed(201);
pub const BLIND: Expect = Expect::Blind(200);
pub const ANON: Expect = Expect::Denied(401, "UNAUTHORIZED");
pub const BAD_TOKEN: Expect = Expect::Denied(401, "INVALID_TOKEN");
pub const FORBIDDEN: Expect = Expect::Denied(403, "FORBIDDEN");
pub const NOT_FOUND: Expect = Expect::Denied(404, "NOT_FOUND");
pub const CONFLICT: Expect = Expect::Denied(409, "CONFLICT");

/// One table row as the coverage test sees it: its operation and what each principal gets.
#[derive(Clone, Debug)]
pub struct Operation {
    pub method: reqwest::Method,
    /// As the table calls it: `{id}`-style parameters, maybe a query string.
    pub path: &'static str,
    /// In the order of [`PRINCIPALS`].
    pub expect: [Expect; N],
}

impl Expect {
    pub fn status(self) -> u16 {
        match self {
            Expect::Allowed(s) | Expect::Blind(s) | Expect::Denied(s, _) => s,
        }
    }
}
