//! `page`/`limit` as the clients send them, and the `{data,total,page,limit}` envelope.

use crate::error::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// Lists with a cursor serve `page` alone up to this offset; further pages need the cursor.
pub const MAX_OFFSET: i64 = 10_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based page number (default 1).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page: Option<String>,
    /// Items per page, 1-100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// Read as text so that a malformed value gets a message naming its parameter.
fn number(name: &str, raw: Option<&str>, default: u32) -> ApiResult<u32> {
    match raw.map(str::trim) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|_| ApiError::field(name, format!("must be a whole number, got {raw:?}"))),
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: u32,
    pub limit: u32,
}

impl PageQuery {
    pub fn parse(&self) -> ApiResult<PageRequest> {
        let page = number("page", self.page.as_deref(), 1)?;
        let limit = number("limit", self.limit.as_deref(), DEFAULT_LIMIT)?;
        if page == 0 {
            return Err(ApiError::field("page", "must be 1 or more"));
        }
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::field(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        Ok(PageRequest { page, limit })
    }
}

impl PageRequest {
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.limit)
    }
    pub fn limit(&self) -> i64 {
        i64::from(self.limit)
    }

    /// The offset of a list that also has a cursor: 400 past [`MAX_OFFSET`].
    pub fn bounded_offset(&self) -> ApiResult<i64> {
        let offset = self.offset();
        if offset > MAX_OFFSET {
            return Err(ApiError::field(
                "page",
                format!("pages past offset {MAX_OFFSET} need the cursor (nextCursor)"),
            ));
        }
        Ok(offset)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Number of items across all pages.
    pub total: i64,
    pub page: u32,
    pub limit: u32,
}

impl<T> Page<T> {
    pub fn new(data: Vec<T>, total: i64, request: PageRequest) -> Self {
        Self {
            data,
            total,
            page: request.page,
            limit: request.limit,
        }
    }
}
