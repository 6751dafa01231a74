//! The people every authorization table calls with, built once per table test: the owner (a
//! consumer who is also a provider: their agents are the targets), another consumer, the
//! marketplace admin, a user and an admin of another marketplace, and the platform operator.

use crate::helpers::*;
use crate::principal_table::Who;
use serde_json::json;

pub struct World {
    pub app: TestApp,
    pub tenant: uuid::Uuid,
    pub owner: TestUser,
    pub other: TestUser,
    pub admin: TestUser,
    pub foreign: TestUser,
    pub foreign_admin: TestUser,
    /// The token of a standing agent of the owner, for tables whose target is not an agent.
    pub owner_agent_token: String,
}

pub async fn world() -> World {
    world_on(spawn_app().await).await
}

pub async fn world_on(app: TestApp) -> World {
    let tenant = app.tenant_id("default").await;
    let owner = app.signup().await;
    let other = app.signup().await;
    let admin = app.default_admin().await;
    let foreign_slug = app.create_tenant("foreign").await;
    let foreign = app.signup_in(Some(&foreign_slug)).await;
    let foreign_admin = app.admin_in(&foreign_slug).await;
    let owner_agent = app
        .create_agent(&owner, &unique_slug("standing"), json!({}))
        .await;
    let owner_agent_token = app.agent_token(&owner, &owner_agent).await;
    World {
        app,
        tenant,
        owner,
        other,
        admin,
        foreign,
        foreign_admin,
        owner_agent_token,
    }
}

impl World {
    /// The credential `who` sends; `agent_token` is the owner's agent token for this call.
    pub fn auth(&self, who: Who, agent_token: &str) -> Auth {
        match who {
            Who::Anonymous => Auth::none(),
            Who::Owner => self.owner.auth(),
            Who::OwnerApiKey => Auth::api_key(&self.owner.api_key),
            Who::AgentToken => Auth::bearer(agent_token),
            Who::OtherUser => self.other.auth(),
            Who::Admin => self.admin.auth(),
            Who::ForeignUser => self.foreign.auth(),
            Who::ForeignTokenHere => Auth::bearer(&self.foreign.token),
            Who::ForeignAdmin => self.foreign_admin.auth(),
            Who::PlatformOperator => Auth::operator(),
        }
    }
}
