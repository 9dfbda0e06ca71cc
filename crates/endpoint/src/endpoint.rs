//! The endpoint: takes every message from the transports, hands it to the shard that
//! owns its Call-ID, and pushes back on overload before the shards drown.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sip_message::{Message, Method};
use sip_resolver::Resolver;
use sip_transaction::{Timers, Transactions};
use tokio::sync::mpsc;

use crate::responses::{phrase, reply};
use crate::service::Service;
use crate::shard::{self, Shared, Work};
use crate::wire::Wire;

/// Endpoint settings.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Number of serializers (default: one per core).
    pub shards: usize,
    /// Messages each serializer may queue.
    pub queue_capacity: usize,
    /// Queue length from which new out-of-dialog requests get 503 (the rest of the
    /// queue stays for in-dialog traffic and responses).
    pub high_water: usize,
    /// Seconds in the Retry-After of an overload 503.
    pub retry_after: u32,
    /// Transactions one shard may hold; beyond it a request that would start a new one
    /// gets 503 statelessly, so that it is not stored (default 1 048 576). The queue's
    /// high-water mark does not bound memory: every answered request stays in the table
    /// until Timer J/H (32 s over UDP), so a fast flood fills the table while the queue
    /// stays short. The default keeps the measured peak (48 000 OPTIONS/s over UDP on
    /// two shards: about 770 000 live transactions per shard) under it; at a typical
    /// 1–2 KB per transaction it bounds a shard to 1–2 GB.
    pub max_transactions: usize,
    /// RFC 3261 timers (from the `system` object).
    pub timers: Timers,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        EndpointConfig {
            shards: cores,
            queue_capacity: 4096,
            high_water: 3072,
            retry_after: 5,
            max_transactions: 1 << 20,
            timers: Timers::default(),
        }
    }
}

/// Counters an operator (and the metrics endpoint) reads.
#[derive(Debug, Default)]
pub struct Counters {
    /// New requests answered 503 because their shard was past the high-water mark or
    /// held `max_transactions`.
    pub overloaded: AtomicU64,
    /// Messages dropped because a shard queue was full.
    pub dropped: AtomicU64,
    /// Malformed requests answered 400 statelessly.
    pub malformed: AtomicU64,
}

/// The running endpoint.
pub struct Endpoint<W: Wire> {
    pub(crate) shared: Arc<Shared<W>>,
    pub(crate) queues: Vec<mpsc::Sender<Work<W::Source>>>,
    /// RFC 3263 lookups for [`Endpoint::send_request`]; without one only numeric
    /// hosts can be sent to.
    pub(crate) resolver: Option<Resolver>,
    hasher: std::collections::hash_map::RandomState,
    config: EndpointConfig,
    counters: Arc<Counters>,
}

impl<W: Wire> Endpoint<W> {
    /// Starts the shards on the current tokio runtime. Services are tried in
    /// priority order (lowest first).
    pub fn start(
        config: EndpointConfig,
        wire: W,
        mut services: Vec<Arc<dyn Service<W::Source>>>,
    ) -> Endpoint<W> {
        services.sort_by_key(|s| s.priority());
        let mut methods: Vec<Method> = Vec::new();
        for s in &services {
            for m in s.methods() {
                if !methods.contains(m) {
                    methods.push(m.clone());
                }
            }
        }
        for m in [Method::Ack, Method::Cancel] {
            if !methods.contains(&m) {
                methods.push(m);
            }
        }
        let allow = methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let counters = Arc::new(Counters::default());
        let shared = Arc::new(Shared {
            wire: Arc::new(wire),
            services,
            allow,
            retry_after: config.retry_after,
            max_transactions: config.max_transactions.max(1),
            counters: Arc::clone(&counters),
        });
        let shards = config.shards.max(1);
        let queues = (0..shards)
            .map(|_| {
                let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
                let table = Transactions::new(config.timers);
                tokio::spawn(shard::run(Arc::clone(&shared), table, rx, tx.downgrade()));
                tx
            })
            .collect();
        Endpoint {
            shared,
            queues,
            resolver: None,
            hasher: Default::default(),
            config,
            counters,
        }
    }

    /// Uses `resolver` for the RFC 3263 lookups of [`Endpoint::send_request`].
    pub fn with_resolver(mut self, resolver: Resolver) -> Endpoint<W> {
        self.resolver = Some(resolver);
        self
    }

    /// The counters.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// The Allow header value the endpoint advertises.
    pub fn allow(&self) -> &str {
        &self.shared.allow
    }

    pub(crate) fn shard_of(&self, message: &Message) -> usize {
        let mut h = self.hasher.build_hasher();
        match message.call_id() {
            Ok(id) => id.as_str().hash(&mut h),
            // No Call-ID: the transaction layer will refuse it; any shard will do.
            Err(_) => 0u8.hash(&mut h),
        }
        (h.finish() % self.queues.len() as u64) as usize
    }

    /// Hands a message from the transports to its shard.
    pub async fn dispatch(&self, message: Message, source: W::Source) {
        let shard = &self.queues[self.shard_of(&message)];
        let queued = self.config.queue_capacity - shard.capacity();
        let overloaded = queued >= self.config.high_water;
        let work = Work::Message {
            message,
            source,
            overloaded,
        };
        if shard.try_send(work).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("serializer queue full: message dropped");
        }
    }

    /// Answers a request whose body or headers could not be parsed (the transports
    /// give its header part): 400 with the parser's sentence as the reason phrase,
    /// statelessly (RFC 3261 §8.2.6; a transaction cannot be built on it).
    pub async fn reject_malformed(&self, head: Message, reason: &str, source: W::Source) {
        if head.method() == Some(&Method::Ack) || !head.is_request() {
            return;
        }
        self.counters.malformed.fetch_add(1, Ordering::Relaxed);
        let response = reply(&head, 400, Some(&phrase(reason)), &[]);
        shard::stateless(&self.shared, response, &source).await;
    }
}
