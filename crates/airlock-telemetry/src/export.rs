//! The exporter: a bounded queue in front of a thread of its own that batches finished spans
//! and POSTs them as OTLP/HTTP protobuf. A tool call only pushes onto the queue (a short
//! lock, no I/O); when the queue is full the span is dropped and counted. A failed export drops
//! its batch (counted, with one warning per run of failures): spans are best effort and
//! never hold memory beyond the queue and one batch.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::span::{AttrValue, SpanData};

/// Where and how spans are sent.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    /// The full traces URL, e.g. `http://127.0.0.1:4318/v1/traces`.
    pub endpoint: String,
    /// Resource attributes (`service.name`, ...).
    pub resource: Vec<(&'static str, AttrValue)>,
    /// Spans the queue holds before new ones are dropped.
    pub queue_size: usize,
    /// Most spans in one request.
    pub batch_size: usize,
    /// Longest a finished span waits before its batch is sent.
    pub interval: Duration,
    /// Time allowed for one export request.
    pub timeout: Duration,
}

impl ExportSettings {
    pub fn new(endpoint: String, resource: Vec<(&'static str, AttrValue)>) -> ExportSettings {
        ExportSettings {
            endpoint,
            resource,
            queue_size: 2048,
            batch_size: 512,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Counts of what became of finished spans.
#[derive(Debug, Default)]
pub struct ExportStats {
    /// Spans the receiver accepted.
    pub exported: AtomicU64,
    /// Spans dropped because the queue was full.
    pub dropped_queue_full: AtomicU64,
    /// Spans dropped because their export request failed.
    pub dropped_export_failed: AtomicU64,
}

impl ExportStats {
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full.load(Ordering::Relaxed)
            + self.dropped_export_failed.load(Ordering::Relaxed)
    }
}

enum Control {
    /// Send everything queued, then answer.
    Flush(std::sync::mpsc::Sender<()>),
}

/// Finished spans waiting for the export thread. A push takes a short uncontended lock and
/// wakes the thread only when a batch is full, not once per span: on a busy server that is
/// one wake-up per `batch_size` spans instead of a context switch per span.
struct Queue {
    spans: Mutex<Vec<SpanData>>,
    capacity: usize,
    batch_size: usize,
    full_batch: tokio::sync::Notify,
}

impl Queue {
    fn take(&self) -> Vec<SpanData> {
        std::mem::take(&mut *self.spans.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

pub struct Exporter {
    queue: Arc<Queue>,
    control: mpsc::UnboundedSender<Control>,
    pub(crate) stats: Arc<ExportStats>,
    warned_full: AtomicBool,
    _thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Exporter {
    /// Starts the export thread.
    pub fn start(settings: ExportSettings) -> std::io::Result<Exporter> {
        let queue = Arc::new(Queue {
            spans: Mutex::new(Vec::new()),
            capacity: settings.queue_size.max(1),
            batch_size: settings.batch_size.max(1),
            full_batch: tokio::sync::Notify::new(),
        });
        let (control, control_rx) = mpsc::unbounded_channel();
        let stats = Arc::new(ExportStats::default());
        let thread_stats = stats.clone();
        let thread_queue = queue.clone();
        let thread = std::thread::Builder::new()
            .name("airlock-otlp".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!(error = %e, "trace export could not start; spans are dropped");
                        return;
                    }
                };
                rt.block_on(run(settings, thread_queue, control_rx, thread_stats));
            })?;
        Ok(Exporter {
            queue,
            control,
            stats,
            warned_full: AtomicBool::new(false),
            _thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues a finished span without waiting; a full queue drops it (counted).
    pub(crate) fn enqueue(&self, span: SpanData) {
        let queued = {
            let mut spans = self.queue.spans.lock().unwrap_or_else(|e| e.into_inner());
            if spans.len() >= self.queue.capacity {
                None
            } else {
                spans.push(span);
                Some(spans.len())
            }
        };
        match queued {
            Some(n) if n == self.queue.batch_size => self.queue.full_batch.notify_one(),
            Some(_) => {}
            None => {
                self.stats
                    .dropped_queue_full
                    .fetch_add(1, Ordering::Relaxed);
                if !self.warned_full.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "trace export queue is full; spans are being dropped (counted in airlock_trace_spans_dropped_total)"
                    );
                }
            }
        }
    }

    /// Sends what is queued and waits for it, at most `timeout`. False when time ran out.
    pub fn flush(&self, timeout: Duration) -> bool {
        let (tx, rx) = std::sync::mpsc::channel();
        if self.control.send(Control::Flush(tx)).is_err() {
            return false;
        }
        rx.recv_timeout(timeout).is_ok()
    }
}

async fn run(
    settings: ExportSettings,
    queue: Arc<Queue>,
    mut control: mpsc::UnboundedReceiver<Control>,
    stats: Arc<ExportStats>,
) {
    let client = match reqwest::Client::builder().timeout(settings.timeout).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "trace export could not build its HTTP client; spans are dropped");
            return;
        }
    };
    let mut sender = Sender {
        client,
        settings,
        stats,
        failing: false,
    };
    let mut tick = tokio::time::interval(sender.settings.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let flushed = tokio::select! {
            () = queue.full_batch.notified() => None,
            _ = tick.tick() => None,
            ctl = control.recv() => match ctl {
                Some(Control::Flush(done)) => Some(done),
                None => return,
            },
        };
        let spans = queue.take();
        for chunk in spans.chunks(sender.settings.batch_size) {
            sender.send(chunk).await;
        }
        if let Some(done) = flushed {
            let _ = done.send(());
        }
    }
}

struct Sender {
    client: reqwest::Client,
    settings: ExportSettings,
    stats: Arc<ExportStats>,
    failing: bool,
}

impl Sender {
    async fn send(&mut self, batch: &[SpanData]) {
        if batch.is_empty() {
            return;
        }
        let body = crate::otlp::encode_request(
            &self.settings.resource,
            "airlock",
            env!("CARGO_PKG_VERSION"),
            batch,
        );
        let n = batch.len() as u64;
        let result = self
            .client
            .post(&self.settings.endpoint)
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await;
        let problem: Option<Cow<'static, str>> = match result {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("the receiver answered HTTP {}", r.status().as_u16()).into()),
            Err(e) if e.is_timeout() => Some("the receiver did not answer in time".into()),
            Err(e) if e.is_connect() => Some("the receiver could not be reached".into()),
            Err(_) => Some("the request failed".into()),
        };
        match problem {
            None => {
                self.stats.exported.fetch_add(n, Ordering::Relaxed);
                if self.failing {
                    tracing::info!("trace export recovered");
                }
                self.failing = false;
            }
            Some(why) => {
                self.stats
                    .dropped_export_failed
                    .fetch_add(n, Ordering::Relaxed);
                if !self.failing {
                    tracing::warn!(
                        spans = n,
                        "trace export failed: {why}; spans are dropped (counted in airlock_trace_spans_dropped_total) until it recovers"
                    );
                }
                self.failing = true;
            }
        }
    }
}
