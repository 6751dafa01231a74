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
