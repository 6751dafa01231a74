//! Requests as the tests send them: credentials (`Auth`), a response with its body read (`Reply`),
//! and one method per HTTP verb on `TestApp`.

use super::{OPERATOR_TOKEN, TestApp};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

pub struct Auth {
    headers: Vec<(&'static str, String)>,
}

impl Auth {
    pub fn none() -> Self {
        Self {
            headers: Vec::new(),
        }
    }
    pub fn bearer(token: &str) -> Self {
        Self::none().with("authorization", format!("Bearer {token}"))
    }
    pub fn api_key(key: &str) -> Self {
        Self::none().with("x-api-key", key.to_owned())
    }
    pub fn operator() -> Self {
        Self::bearer(OPERATOR_TOKEN)
    }
    pub fn tenant(self, slug: &str) -> Self {
        self.with("x-tenant", slug.to_owned())
    }
    pub fn with(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// A response with its body read, for assertions.
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
    /// Asserts the error envelope and its code.
    pub fn expect_error(self, status: u16, code: &str) -> Self {
        let reply = self.expect(status);
        assert_eq!(reply.body["error"], code, "body: {}", reply.text);
        assert!(
            reply.body["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "no message: {}",
            reply.text
        );
        reply
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn read(response: Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

impl TestApp {
    pub fn request(&self, method: Method, path: &str, auth: &Auth) -> RequestBuilder {
        let mut builder = self
            .client
            .request(method, format!("{}{path}", self.address));
        for (name, value) in &auth.headers {
            builder = builder.header(*name, value);
        }
        builder
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> Reply {
        read(
            self.request(Method::GET, path, auth)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn post(&self, path: &str, auth: &Auth, body: &Value) -> Reply {
        read(
            self.request(Method::POST, path, auth)
                .json(body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    /// A POST exactly as the ClawRent clients send bodyless requests: no body, no Content-Type.
    pub async fn post_empty(&self, path: &str, auth: &Auth) -> Reply {
        read(
            self.request(Method::POST, path, auth)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn patch(&self, path: &str, auth: &Auth, body: &Value) -> Reply {
        read(
            self.request(Method::PATCH, path, auth)
                .json(body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn delete(&self, path: &str, auth: &Auth) -> Reply {
        read(
            self.request(Method::DELETE, path, auth)
                .send()
                .await
                .expect("request"),
        )
        .await
    }
}
