//! Answers for requests no route takes, and JSON errors for query and path extraction.

use crate::error::{ApiError, ErrorCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

/// 405 when the path exists with another method, else 404, both as JSON.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let error = if req.resource_map().has_resource(req.path()) {
        ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!("{} is not allowed on {}", req.method(), req.path()),
        )
    } else {
        ApiError::new(
            ErrorCode::RouteNotFound,
            format!("No endpoint {} {}", req.method(), req.path()),
        )
    };
    error.error_response()
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        let message = err.to_string().replace("Query deserialize error: ", "");
        ApiError::validation(format!("Invalid query string: {message}")).into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _| {
        let message = err.to_string().replace("Path deserialize error: ", "");
        ApiError::validation(format!("Invalid path parameter: {message}")).into()
    })
}
