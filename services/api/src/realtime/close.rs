//! Close frames, shared by the sockets.

use actix_ws::{CloseCode, CloseReason};

/// A close with an application (4xxx) or protocol (1xxx) code and a reason.
pub fn close(code: u16, description: &str) -> Option<CloseReason> {
    Some(CloseReason {
        code: CloseCode::Other(code),
        description: Some(description.to_owned()),
    })
}

/// The answer to a client's close: its own code (RFC 6455 5.5.1). The SDK reads the code of the
/// answer as the close code, and reconnects after anything but 1000 (a close without a code reads
/// as 1005), so a client that stops with 1000 must get 1000 back.
pub fn echo(reason: Option<CloseReason>) -> Option<CloseReason> {
    reason.map(|reason| CloseReason {
        code: reason.code,
        description: None,
    })
}

/// The close for a frame the protocol layer refused.
pub fn protocol_close(error: &actix_ws::ProtocolError) -> Option<CloseReason> {
    match error {
        actix_ws::ProtocolError::Overflow => close(1009, "Frame too large"),
        actix_ws::ProtocolError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            close(1007, "Text frames must be UTF-8")
        }
        _ => close(1002, "Protocol error"),
    }
}
