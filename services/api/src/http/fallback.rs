//! Answers for requests no route takes, and JSON errors for query and path extraction.

use super::allow::RouteMethods;
use crate::error::{ApiError, ErrorCode};
use actix_web::http::header::{ALLOW, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

/// 405 when the path exists with another method, else 404, both as JSON.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.resource_map().has_resource(req.path()) {
        let allow = req
            .app_data::<web::Data<RouteMethods>>()
            .and_then(|routes| routes.allowed(req.path()))
            .unwrap_or_else(|| "GET".to_owned());
        let mut response = ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!(
                "{} is not allowed on {}; it takes {allow}",
                req.method(),
                req.path()
            ),
        )
        .error_response();
        if let Ok(value) = HeaderValue::from_str(&allow) {
            response.headers_mut().insert(ALLOW, value);
        }
        return response;
    }
    ApiError::new(
        ErrorCode::RouteNotFound,
        format!("No endpoint {} {}", req.method(), req.path()),
    )
    .error_response()
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
