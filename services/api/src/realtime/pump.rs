//! A socket's frames, read on the worker that accepted it (actix's stream is not `Send`) and
//! handed to the connection's task, which runs as a `Send` task on the runtime: when a replica
//! stops, that task is dropped inside the runtime, so whatever it holds at that moment (a
//! database connection) is returned properly instead of aborting the process.

use actix_ws::{AggregatedMessage, AggregatedMessageStream, ProtocolError};
use tokio::sync::mpsc;

pub type Frames = mpsc::Receiver<Result<AggregatedMessage, ProtocolError>>;

pub fn pump(mut stream: AggregatedMessageStream) -> Frames {
    let (tx, rx) = mpsc::channel(16);
    actix_web::rt::spawn(async move {
        while let Some(frame) = stream.recv().await {
            if tx.send(frame).await.is_err() {
                break;
            }
        }
    });
    rx
}

/// At most this many frames a second from one socket; past it the socket closes with 1008.
pub const MAX_FRAMES_PER_SECOND: u32 = 20;

/// Counts a socket's frames per second.
pub struct FrameRate {
    window: std::time::Instant,
    frames: u32,
}

impl Default for FrameRate {
    fn default() -> Self {
        Self {
            window: std::time::Instant::now(),
            frames: 0,
        }
    }
}

impl FrameRate {
    /// Counts one frame; true when the socket sent too many this second.
    pub fn flooding(&mut self) -> bool {
        if self.window.elapsed() >= std::time::Duration::from_secs(1) {
            *self = Self::default();
        }
        self.frames += 1;
        self.frames > MAX_FRAMES_PER_SECOND
    }
}
