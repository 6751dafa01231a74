//! JSON bodies for the errors the HTTP/1 layer answers by itself, before any handler or
//! middleware runs: 400 for a request that does not parse (a duplicate `Host`, a URL too long
//! for the parser, a malformed header), 431 for headers over the limit, 408 when the request
//! head does not arrive in time. actix-http writes these with an empty body and offers no hook,
//! so each connection's socket is wrapped: a response the server writes that starts with such an
//! empty-bodied error head is replaced, on its way out, by the same status with the
//! `{"error","message"}` body every other error has. Our own error responses always carry a JSON
//! body and a Content-Type, so they never match.

use crate::error::{ApiError, ErrorCode};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The replacement for an empty-bodied framework error response at the start of `written`.
pub fn rewrite(written: &[u8]) -> Option<Vec<u8>> {
    let head_end = written.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&written[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let code = status_line.strip_prefix("HTTP/1.1 ")?.get(..3)?;
    let error = match code {
        "400" => ApiError::new(
            ErrorCode::MalformedRequest,
            "The HTTP request could not be parsed: check the request line, the URL length and the headers (one Host)",
        ),
        "408" => ApiError::new(
            ErrorCode::RequestTimeout,
            "The request did not arrive in time",
        ),
        "431" => ApiError::new(
            ErrorCode::HeadersTooLarge,
            "The request line and headers are too large",
        ),
        _ => return None,
    };
    let headers: Vec<&str> = lines.collect();
    let header_is = |line: &str, name: &str| {
        line.split_once(':')
            .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
    };
    let empty_body = headers.iter().any(|l| {
        header_is(l, "content-length") && l.split_once(':').is_some_and(|(_, v)| v.trim() == "0")
    });
    let typed = headers.iter().any(|l| header_is(l, "content-type"));
    if !empty_body || typed {
        return None;
    }
    let body = serde_json::to_vec(&error.body()).ok()?;
    let mut out = Vec::with_capacity(written.len() + body.len() + 96);
    out.extend_from_slice(status_line.as_bytes());
    out.extend_from_slice(b"\r\n");
    for line in headers.iter().filter(|l| !header_is(l, "content-length")) {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"content-type: application/json\r\nx-content-type-options: nosniff\r\n");
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&written[head_end + 4..]);
    Some(out)
}

/// A connection whose outgoing framework errors get JSON bodies (see the module header).
pub struct JsonErrorIo<T> {
    inner: T,
    /// Replacement bytes still to be written, and how many are written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> JsonErrorIo<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> JsonErrorIo<T> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, done)) = &mut self.pending {
            if *done == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *done += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrorIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrorIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if buf.starts_with(b"HTTP/1.1 4")
            && let Some(replacement) = rewrite(buf)
        {
            this.pending = Some((replacement, 0));
            // The original bytes count as written; the replacement goes out in their place.
            let _ = this.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(response: &[u8]) -> serde_json::Value {
        let text = std::str::from_utf8(response).expect("utf-8");
        let (_, body) = text.split_once("\r\n\r\n").expect("head and body");
        serde_json::from_str(body).expect("a JSON body")
    }

    #[test]
    fn empty_framework_errors_get_the_json_envelope() {
        for (code, error) in [
            ("400 Bad Request", "MALFORMED_REQUEST"),
            ("408 Request Timeout", "REQUEST_TIMEOUT"),
            ("431 Request Header Fields Too Large", "HEADERS_TOO_LARGE"),
        ] {
            let original = format!(
                "HTTP/1.1 {code}\r\ncontent-length: 0\r\nconnection: close\r\ndate: Tue, 01 Dec 2026 00:00:00 GMT\r\n\r\n"
            );
            let rewritten = rewrite(original.as_bytes()).expect("rewritten");
            let text = String::from_utf8(rewritten.clone()).expect("utf-8");
            assert!(text.starts_with(&format!("HTTP/1.1 {code}\r\n")), "{text}");
            assert!(text.contains("connection: close\r\n"), "{text}");
            assert!(
                text.contains("content-type: application/json\r\n"),
                "{text}"
            );
            assert!(!text.contains("content-length: 0\r\n"), "{text}");
            let body = body_of(&rewritten);
            assert_eq!(body["error"], error);
            let declared: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse().ok())
                .expect("content-length");
            assert_eq!(declared, serde_json::to_vec(&body).expect("json").len());
        }
    }

    #[test]
    fn our_own_responses_are_left_alone() {
        for original in [
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
        ] {
            assert_eq!(rewrite(original.as_bytes()), None, "{original}");
        }
    }
}
