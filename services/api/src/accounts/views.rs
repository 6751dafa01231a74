//! Account shapes other contexts show (the tenant admin bootstrap returns a user summary).

use super::domain::{User, UserRole};
use crate::ids::UserId;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct UserSummary {
    #[schema(value_type = Uuid)]
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: UserRole,
}

impl From<&User> for UserSummary {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role,
        }
    }
}
