//! Sessions and messages on the wire (camelCase; money as decimal strings; optional times absent,
//! never `null`).

use super::domain::SessionStatus;
use super::message_repo::MessageRow;
use super::repo::SessionRow;
use crate::agents::domain::PricingModel;
use crate::ids::{AgentId, MessageId, SessionId, UserId};
use crate::money::{format_amount, format_exact};
use crate::time_format;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The price a session was rented at, fixed when it was created.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PricingSnapshot {
    pub pricing_model: PricingModel,
    #[schema(example = "1.00")]
    pub price_amount: String,
    #[schema(example = "CNY")]
    pub currency: String,
    /// The platform's share at rent time.
    #[schema(example = "0.1500")]
    pub fee_rate: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    #[schema(value_type = Uuid)]
    pub id: SessionId,
    pub status: SessionStatus,
    /// The token both participants present on `/ws/session`.
    #[schema(example = "sess_3q2-7wH0b1XyTn4bq9ZQfYkLmZx8Tq1A")]
    pub session_token: String,
    #[schema(value_type = Uuid)]
    pub agent_id: AgentId,
    #[schema(value_type = Uuid)]
    pub provider_user_id: UserId,
    #[schema(value_type = Uuid)]
    pub consumer_user_id: UserId,
    pub slot_index: i32,
    pub task_description: String,
    #[schema(value_type = Object)]
    pub granted_permissions: Value,
    pub pricing_snapshot: PricingSnapshot,
    /// What was held from the consumer's wallet when the session was created.
    #[schema(example = "60.00")]
    pub hold_amount: String,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    /// When a pending session expires unless approved.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "time_format::option::serialize"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "time_format::option::serialize"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub approved_at: Option<DateTime<Utc>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "time_format::option::serialize"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended: `ended`, `rejected`, `expired`, `idle_timeout` or `minute_cap_reached`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// The provider's reason, when they rejected the session with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_note: Option<String>,
}

impl SessionView {
    pub fn new(s: &SessionRow, session_token: String) -> Self {
        Self {
            id: s.id,
            status: s.status,
            session_token,
            agent_id: s.agent_id,
            provider_user_id: s.provider_id,
            consumer_user_id: s.consumer_id,
            slot_index: s.slot_index,
            task_description: s.task_description.clone(),
            granted_permissions: s.granted_permissions.clone(),
            pricing_snapshot: PricingSnapshot {
                pricing_model: s.pricing_model,
                price_amount: format_amount(s.price_amount),
                currency: s.currency.to_string(),
                fee_rate: format_exact(s.fee_rate),
            },
            hold_amount: format_amount(s.hold_amount),
            created_at: s.created_at,
            expires_at: s.expires_at,
            approved_at: s.approved_at,
            ended_at: s.ended_at,
            end_reason: s.end_reason.clone(),
            end_note: s.end_note.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionsPageView {
    pub data: Vec<SessionView>,
    /// Sessions in this list, counted up to 10,000.
    pub total: i64,
    pub page: u32,
    pub limit: u32,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// What ending a session moved. A session that ended before it was approved (or was rejected,
/// or expired) charged nothing: every amount is zero and the whole hold is refunded.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettlementSummary {
    /// What the consumer paid: `platformFee + providerIncome`.
    #[schema(example = "5.0000")]
    pub amount: String,
    #[schema(example = "0.7500")]
    pub platform_fee: String,
    #[schema(example = "4.2500")]
    pub provider_income: String,
    /// What went back to the consumer from the hold.
    #[schema(example = "55.0000")]
    pub refund: String,
    pub currency: String,
    /// Units charged: 1 for flat prices, minutes started, or tokens.
    pub units: i64,
}

impl SettlementSummary {
    pub fn new(
        amount: Decimal,
        fee: Decimal,
        income: Decimal,
        refund: Decimal,
        currency: &str,
        units: i64,
    ) -> Self {
        Self {
            amount: format_exact(amount),
            platform_fee: format_exact(fee),
            provider_income: format_exact(income),
            refund: format_exact(refund),
            currency: currency.to_owned(),
            units,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndedView {
    #[serde(flatten)]
    pub session: SessionView,
    pub settlement: SettlementSummary,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SenderView {
    /// `consumer`, `provider` or `system`.
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Uuid>)]
    pub user_id: Option<UserId>,
    /// Present when the provider sent it with the agent's token.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Uuid>)]
    pub agent_id: Option<AgentId>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    #[schema(value_type = Uuid)]
    pub id: MessageId,
    /// 1, 2, 3... within the session, without gaps.
    pub seq: i64,
    #[serde(rename = "type")]
    #[schema(example = "dialogue.message")]
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: Value,
    pub sender: SenderView,
    /// Strictly increasing within the session.
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<MessageRow> for MessageView {
    fn from(m: MessageRow) -> Self {
        Self {
            id: m.id,
            seq: m.seq,
            kind: m.kind,
            payload: m.payload,
            sender: SenderView {
                role: m.sender_role,
                user_id: m.sender_user_id,
                agent_id: m.sender_agent_id,
            },
            created_at: m.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagesPageView {
    pub data: Vec<MessageView>,
    /// Pass as `cursor` for the next page; absent when this page is the last one so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SentView {
    #[schema(value_type = Uuid)]
    pub message_id: MessageId,
    pub seq: i64,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    /// Whether the other side held a `/ws/session` socket when it was stored (it then gets it
    /// live; otherwise it reads it from the history or resumes).
    pub delivered: bool,
    /// What a gateway in front of the peer answered; always `null` (no gateway is involved).
    #[schema(value_type = Option<Object>)]
    pub gateway_result: Option<Value>,
    /// True when this answers a retry of a message already stored (same client `id`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}
