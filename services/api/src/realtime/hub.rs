//! The replica's hub: **one** Redis pub/sub connection, shared by every socket on this replica.
//! A socket subscribes to a topic (a channel name); the hub subscribes in Redis on the first local
//! interest and unsubscribes on the last, and hands each published message to the local
//! subscribers' bounded queues. A subscriber whose queue is full is marked `lagged` and stops
//! receiving: its socket closes and the client recovers what it missed (resume or REST), so no
//! queue ever grows without bound.
//!
//! When the connection drops (Redis restarted or hung), the hub reconnects with a capped backoff
//! and subscribes again to every topic that still has local interest; sockets stay open.

use redis::aio::PubSubSink;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Messages one subscriber may have waiting before it is declared lagging.
pub const QUEUE: usize = 256;

/// Handed to every local subscriber after the hub (re)connected and subscribed again: whatever
/// was published while it was away did not reach it, so sockets catch up from Postgres.
pub const RESYNC: &str = r#"{"event":"hub.resync","payload":{}}"#;

struct Local {
    id: u64,
    queue: mpsc::Sender<Arc<str>>,
    lagged: Arc<AtomicBool>,
}

#[derive(Default)]
struct Topics {
    by_name: HashMap<String, Vec<Local>>,
}

struct Inner {
    client: redis::Client,
    sink: tokio::sync::Mutex<Option<PubSubSink>>,
    topics: Mutex<Topics>,
    next_id: AtomicU64,
    /// Wakes the reader to reconnect when a subscribe finds no connection.
    reconnect: tokio::sync::Notify,
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

/// One socket's interest in one topic. Dropping it removes the interest (and the Redis
/// subscription with the last one).
pub struct Subscription {
    hub: Hub,
    topic: String,
    id: u64,
    pub messages: mpsc::Receiver<Arc<str>>,
    lagged: Arc<AtomicBool>,
}

impl Subscription {
    /// True once a message was dropped because the queue was full.
    pub fn lagged(&self) -> bool {
        self.lagged.load(Ordering::Relaxed)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let last = {
            let mut topics = self
                .hub
                .inner
                .topics
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let empty = match topics.by_name.get_mut(&self.topic) {
                Some(locals) => {
                    locals.retain(|l| l.id != self.id);
                    locals.is_empty()
                }
                None => false,
            };
            if empty {
                topics.by_name.remove(&self.topic);
            }
            empty
        };
        if last {
            let (hub, topic) = (self.hub.clone(), self.topic.clone());
            tokio::spawn(async move { hub.redis_unsubscribe(&topic).await });
        }
    }
}

impl Hub {
    /// A hub that is not connected yet: subscriptions are recorded and made in Redis when the
    /// reader ([`Hub::start_reader`]) connects.
    pub fn new(client: redis::Client) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                sink: tokio::sync::Mutex::new(None),
                topics: Mutex::new(Topics::default()),
                next_id: AtomicU64::new(1),
                reconnect: tokio::sync::Notify::new(),
            }),
        }
    }

    /// Starts the reader on the current runtime; it connects and keeps reconnecting.
    pub fn start_reader(&self) {
        let reader = self.clone();
        tokio::spawn(async move { reader.run().await });
    }

    /// Registers local interest in `topic`. While the hub is connected, the Redis subscription
    /// is in place (acknowledged) when this returns `Ok`, so nothing published afterwards is
    /// missed; while it is not, the reader subscribes when it connects and then sends every
    /// subscriber [`RESYNC`], on which session sockets catch up from Postgres.
    pub async fn subscribe(&self, topic: &str) -> redis::RedisResult<Subscription> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let lagged = Arc::new(AtomicBool::new(false));
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let first = {
            let mut topics = self.inner.topics.lock().unwrap_or_else(|e| e.into_inner());
            let locals = topics.by_name.entry(topic.to_owned()).or_default();
            locals.push(Local {
                id,
                queue: tx,
                lagged: lagged.clone(),
            });
            locals.len() == 1
        };
        let subscription = Subscription {
            hub: self.clone(),
            topic: topic.to_owned(),
            id,
            messages: rx,
            lagged,
        };
        if first {
            self.redis_subscribe(topic).await?;
        }
        Ok(subscription)
    }

    async fn redis_subscribe(&self, topic: &str) -> redis::RedisResult<()> {
        let mut sink = self.inner.sink.lock().await;
        match sink.as_mut() {
            Some(sink) => sink.subscribe(topic).await,
            None => {
                // Not connected: the reader subscribes every live topic when it connects.
                self.inner.reconnect.notify_one();
                Ok(())
            }
        }
    }

    async fn redis_unsubscribe(&self, topic: &str) {
        let still_wanted = self
            .inner
            .topics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_name
            .contains_key(topic);
        if still_wanted {
            return;
        }
        if let Some(sink) = self.inner.sink.lock().await.as_mut()
            && let Err(error) = sink.unsubscribe(topic).await
        {
            tracing::debug!(%error, "unsubscribe failed; the connection is being replaced");
        }
    }

    fn live_topics(&self) -> Vec<String> {
        self.inner
            .topics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_name
            .keys()
            .cloned()
            .collect()
    }

    fn dispatch_all(&self, payload: Arc<str>) {
        let topics = self.live_topics();
        for topic in topics {
            self.dispatch(&topic, payload.clone());
        }
    }

    fn dispatch(&self, topic: &str, payload: Arc<str>) {
        let topics = self.inner.topics.lock().unwrap_or_else(|e| e.into_inner());
        for local in topics.by_name.get(topic).into_iter().flatten() {
            if local.lagged.load(Ordering::Relaxed) {
                continue;
            }
            if local.queue.try_send(payload.clone()).is_err() {
                local.lagged.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Connect, subscribe every live topic, read until the connection ends; again, forever.
    async fn run(self) {
        use futures_util::StreamExt;
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.inner.client.get_async_pubsub().await {
                Ok(pubsub) => {
                    let (mut sink, mut stream) = pubsub.split();
                    let mut ok = true;
                    {
                        // Hold the sink lock while resubscribing so a concurrent subscribe
                        // either waits for this or is included in it.
                        let mut slot = self.inner.sink.lock().await;
                        for topic in self.live_topics() {
                            if let Err(error) = sink.subscribe(&topic).await {
                                tracing::warn!(%error, "resubscribe failed");
                                ok = false;
                                break;
                            }
                        }
                        if ok {
                            *slot = Some(sink);
                        }
                    }
                    if ok {
                        backoff = Duration::from_millis(100);
                        tracing::info!("realtime hub connected to Redis pub/sub");
                        self.dispatch_all(Arc::from(RESYNC));
                        while let Some(message) = stream.next().await {
                            let topic = message.get_channel_name().to_owned();
                            if let Ok(text) = message.get_payload::<String>() {
                                self.dispatch(&topic, Arc::from(text));
                            }
                        }
                        tracing::warn!(
                            "realtime hub lost its Redis pub/sub connection; reconnecting"
                        );
                    }
                    *self.inner.sink.lock().await = None;
                }
                Err(error) => {
                    tracing::warn!(%error, "realtime hub cannot reach Redis pub/sub; retrying");
                }
            }
            let _ = tokio::time::timeout(backoff, self.inner.reconnect.notified()).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}
