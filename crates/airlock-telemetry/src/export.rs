//! The exporter: a bounded queue in front of a thread of its own that batches finished spans
//! and POSTs them as OTLP/HTTP protobuf. A tool call only pushes onto the queue (a short
//! lock, no I/O); when the queue is full the span is dropped and counted.
//!
//! A failed export is retried with exponential backoff when the failure may pass (the
//! receiver could not be reached or did not answer in time, or answered 429, 502, 503 or 504,
//! the codes the OTLP/HTTP specification names as retryable; `Retry-After` is honoured). The
//! batches waiting for a retry are held in order, at most [`ExportSettings::retry_capacity`]
//! spans and each for at most [`ExportSettings::retry_for`]; past either bound the oldest are
//! dropped and counted. Another answer (400, 500, ...) drops its batch at once: the receiver
//! would refuse it again. One warning per run of failures, one per run of drops, and a note
//! when export recovers. Memory stays bounded by the queue, the retry hold and one request.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

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
    /// Wait before the first retry of a failed export; doubled after each failure.
    pub retry_initial: Duration,
    /// Longest wait between retries.
    pub retry_max: Duration,
    /// How long a batch is retried before it is dropped (counted).
    pub retry_for: Duration,
    /// Most spans held for a retry; past it the oldest batches are dropped (counted).
    pub retry_capacity: usize,
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
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
            retry_for: Duration::from_secs(120),
            retry_capacity: 2048,
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
    /// Spans dropped because their export failed for good: refused by the receiver, or
    /// retried past `retry_for`, or pushed out of the full retry hold.
    pub dropped_export_failed: AtomicU64,
    /// Export requests that failed and will be retried.
    pub retries: AtomicU64,
    /// Spans held right now for a retry.
    pub retrying: AtomicU64,
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
    // The first tick one interval from now: nothing is queued at start.
    let mut tick = tokio::time::interval_at(Instant::now() + settings.interval, settings.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sender = Sender {
        client,
        backoff: settings.retry_initial,
        settings,
        stats,
        pending: VecDeque::new(),
        held: 0,
        next_try: None,
        failing: false,
        dropping: false,
    };
    loop {
        let retry_due = sender.next_try;
        let flushed = tokio::select! {
            () = queue.full_batch.notified() => None,
            _ = tick.tick() => None,
            () = async {
                match retry_due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => None,
            ctl = control.recv() => match ctl {
                Some(Control::Flush(done)) => Some(done),
                None => return,
            },
        };
        sender.take(queue.take());
        sender.send_pending(flushed.is_some()).await;
        if let Some(done) = flushed {
            let _ = done.send(());
        }
    }
}

/// A batch waiting to be sent: new, or held for a retry since `failing_since`.
struct Batch {
    spans: Vec<SpanData>,
    failing_since: Option<Instant>,
}

/// What one export request came to.
enum Outcome {
    Sent,
    /// It may pass: try again after the backoff (or after the receiver's `Retry-After`).
    Retry {
        why: Cow<'static, str>,
        after: Option<Duration>,
    },
    /// The receiver refused the batch; sending it again would not help.
    Refused(Cow<'static, str>),
}

struct Sender {
    client: reqwest::Client,
    settings: ExportSettings,
    stats: Arc<ExportStats>,
    /// Batches in the order their spans finished; the front one is sent first.
    pending: VecDeque<Batch>,
    /// Spans in `pending`.
    held: usize,
    /// When the front batch may be retried; `None` while export works.
    next_try: Option<Instant>,
    backoff: Duration,
    /// In a run of failed requests (warned once).
    failing: bool,
    /// In a run of dropped batches (warned once).
    dropping: bool,
}

impl Sender {
    /// Queues newly finished spans behind what is pending, a batch at a time, and keeps the
    /// hold within `retry_capacity` (plus the batch just taken) by dropping the oldest.
    fn take(&mut self, spans: Vec<SpanData>) {
        let size = self.settings.batch_size.max(1);
        let mut spans = spans.into_iter().peekable();
        while spans.peek().is_some() {
            let batch: Vec<SpanData> = spans.by_ref().take(size).collect();
            self.held += batch.len();
            self.pending.push_back(Batch {
                spans: batch,
                failing_since: None,
            });
        }
        while self.held > self.settings.retry_capacity.max(size) && self.pending.len() > 1 {
            if let Some(oldest) = self.pending.pop_front() {
                self.held -= oldest.spans.len();
                self.drop_batch(
                    &oldest,
                    "more spans are waiting for a retry than the exporter holds",
                );
            }
        }
        self.stats
            .retrying
            .store(self.held as u64, Ordering::Relaxed);
    }

    /// Sends pending batches in order, unless a retry is not due yet (a flush tries at once).
    /// Stops at the first failure that may pass, leaving it and the rest for the next try.
    async fn send_pending(&mut self, flushing: bool) {
        let now = Instant::now();
        if !flushing && self.next_try.is_some_and(|at| at > now) {
            return;
        }
        while let Some(mut batch) = self.pending.pop_front() {
            if batch
                .failing_since
                .is_some_and(|since| since.elapsed() >= self.settings.retry_for)
            {
                self.held -= batch.spans.len();
                self.drop_batch(&batch, "it was retried for too long");
                continue;
            }
            match self.send(&batch.spans).await {
                Outcome::Sent => {
                    self.held -= batch.spans.len();
                    self.stats
                        .exported
                        .fetch_add(batch.spans.len() as u64, Ordering::Relaxed);
                    if self.failing {
                        tracing::info!("trace export recovered");
                    }
                    self.failing = false;
                    self.dropping = false;
                    self.next_try = None;
                    self.backoff = self.settings.retry_initial;
                }
                Outcome::Refused(why) => {
                    self.held -= batch.spans.len();
                    self.drop_batch(&batch, &why);
                }
                Outcome::Retry { why, after } => {
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    if !self.failing {
                        tracing::warn!(
                            spans = self.held,
                            "trace export failed: {why}; retrying with backoff (calls are not held up; spans that wait too long are dropped and counted in airlock_trace_spans_dropped_total)"
                        );
                    }
                    self.failing = true;
                    batch.failing_since.get_or_insert_with(Instant::now);
                    self.pending.push_front(batch);
                    let wait = after.unwrap_or(self.backoff).min(self.settings.retry_max);
                    self.next_try = Some(Instant::now() + jitter(wait));
                    self.backoff = (self.backoff * 2).min(self.settings.retry_max);
                    break;
                }
            }
        }
        self.stats
            .retrying
            .store(self.held as u64, Ordering::Relaxed);
    }

    fn drop_batch(&mut self, batch: &Batch, why: &str) {
        let n = batch.spans.len() as u64;
        self.stats
            .dropped_export_failed
            .fetch_add(n, Ordering::Relaxed);
        if !self.dropping {
            tracing::warn!(
                spans = n,
                "trace export dropped spans: {why} (counted in airlock_trace_spans_dropped_total)"
            );
        }
        self.dropping = true;
    }

    async fn send(&self, batch: &[SpanData]) -> Outcome {
        let body = crate::otlp::encode_request(
            &self.settings.resource,
            "airlock",
            env!("CARGO_PKG_VERSION"),
            batch,
        );
        let result = self
            .client
            .post(&self.settings.endpoint)
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await;
        let retry = |why: Cow<'static, str>, after| Outcome::Retry { why, after };
        match result {
            Ok(r) if r.status().is_success() => Outcome::Sent,
            Ok(r) => {
                let code = r.status().as_u16();
                let why = format!("the receiver answered HTTP {code}").into();
                if matches!(code, 429 | 502 | 503 | 504) {
                    retry(why, retry_after(&r))
                } else {
                    Outcome::Refused(why)
                }
            }
            Err(e) if e.is_timeout() => retry("the receiver did not answer in time".into(), None),
            Err(e) if e.is_connect() => retry("the receiver could not be reached".into(), None),
            Err(e) if e.is_builder() => Outcome::Refused("the endpoint URL cannot be used".into()),
            Err(_) => retry("the request failed".into(), None),
        }
    }
}

/// A `Retry-After` of whole seconds (the form OTLP receivers send); a date is not read.
fn retry_after(r: &reqwest::Response) -> Option<Duration> {
    r.headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// `wait` give or take a fifth, so a fleet's exporters do not retry in step.
fn jitter(wait: Duration) -> Duration {
    wait.mul_f64(0.8 + 0.4 * rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    //! The exporter against a real HTTP receiver on loopback (a few lines of HTTP/1.1 over a
    //! `TcpListener`), scripted to be down, to answer errors, then to accept.

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{SocketAddr, TcpListener};
    use std::sync::atomic::AtomicU16;

    use super::*;
    use crate::context::SpanContext;
    use crate::span::{SpanKind, Status};

    /// A receiver answering each request with the next status of its script (the last one
    /// from then on), keeping every body it accepted with 200.
    struct Receiver {
        addr: SocketAddr,
        requests: Arc<AtomicU64>,
        bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    }

    impl Receiver {
        fn start(listener: TcpListener, script: Vec<(u16, Option<&'static str>)>) -> Receiver {
            let addr = listener.local_addr().unwrap();
            let requests = Arc::new(AtomicU64::new(0));
            let bodies = Arc::new(Mutex::new(Vec::new()));
            let (count, kept) = (requests.clone(), bodies.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { return };
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            break;
                        }
                        let line = line.trim_end().to_ascii_lowercase();
                        if line.is_empty() {
                            break;
                        }
                        if let Some(v) = line.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        continue;
                    }
                    let n = count.fetch_add(1, Ordering::SeqCst) as usize;
                    let (status, retry_after) = script[n.min(script.len() - 1)];
                    if status == 200 {
                        kept.lock().unwrap().push(body);
                    }
                    let extra =
                        retry_after.map_or(String::new(), |s| format!("retry-after: {s}\r\n"));
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\n{extra}connection: close\r\n\r\n"
                    );
                }
            });
            Receiver {
                addr,
                requests,
                bodies,
            }
        }

        fn requests(&self) -> u64 {
            self.requests.load(Ordering::SeqCst)
        }

        /// Whether an accepted body holds `name` (span names travel as plain protobuf strings).
        fn received(&self, name: &str) -> bool {
            self.bodies
                .lock()
                .unwrap()
                .iter()
                .any(|b| b.windows(name.len()).any(|w| w == name.as_bytes()))
        }
    }

    static NEXT: AtomicU16 = AtomicU16::new(1);

    fn span(name: String) -> SpanData {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut trace_id = [7u8; 16];
        trace_id[15] = n as u8;
        SpanData {
            context: SpanContext {
                trace_id,
                span_id: [1, 2, 3, 4, 5, 6, 7, (n as u8).max(1)],
                sampled: true,
                trace_state: None,
            },
            parent_span_id: None,
            name: name.into(),
            kind: SpanKind::Internal,
            start_unix_nanos: 1,
            end_unix_nanos: 2,
            attributes: Vec::new(),
            links: Vec::new(),
            status: Status::Unset,
        }
    }

    /// Short retries; no timed batches: a batch leaves when `batch_size` spans are queued or
    /// on a flush, so each test knows what one request carries.
    fn settings(addr: SocketAddr, batch_size: usize) -> ExportSettings {
        ExportSettings {
            interval: Duration::from_secs(3600),
            batch_size,
            retry_initial: Duration::from_millis(20),
            retry_max: Duration::from_millis(100),
            ..ExportSettings::new(format!("http://{addr}/v1/traces"), Vec::new())
        }
    }

    fn exporter(addr: SocketAddr, batch_size: usize) -> Exporter {
        Exporter::start(settings(addr, batch_size)).unwrap()
    }

    /// An address nothing listens on (yet).
    fn down() -> SocketAddr {
        let reserved = TcpListener::bind("127.0.0.1:0").unwrap();
        reserved.local_addr().unwrap()
    }

    /// Waits for `done`; the bound only turns a hang into a failure, it is not what is tested.
    fn wait_for(what: &str, done: impl Fn() -> bool) {
        let give_up = std::time::Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(
                std::time::Instant::now() < give_up,
                "never happened: {what}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn load(n: &AtomicU64) -> u64 {
        n.load(Ordering::SeqCst)
    }

    #[test]
    fn a_receiver_that_is_down_then_comes_up_gets_every_span() {
        let addr = down();
        let exporter = exporter(addr, 10);
        for i in 0..10 {
            exporter.enqueue(span(format!("down-then-up-{i}")));
        }
        let stats = exporter.stats.clone();
        wait_for("a failed export to be retried", || {
            load(&stats.retries) >= 2
        });
        assert_eq!(
            load(&stats.retrying),
            10,
            "every span is held for the retry"
        );
        assert_eq!(load(&stats.exported), 0);
        let receiver = Receiver::start(TcpListener::bind(addr).unwrap(), vec![(200, None)]);
        wait_for("the held spans to be exported", || {
            load(&stats.exported) == 10
        });
        for i in 0..10 {
            assert!(receiver.received(&format!("down-then-up-{i}")), "span {i}");
        }
        assert_eq!(stats.dropped(), 0);
        assert_eq!(load(&stats.retrying), 0);
        // Export works again: a new span goes straight out.
        exporter.enqueue(span("after-recovery".into()));
        assert!(exporter.flush(Duration::from_secs(60)));
        assert!(receiver.received("after-recovery"));
        assert_eq!(load(&stats.exported), 11);
    }

    #[test]
    fn too_many_requests_and_unavailable_are_retried() {
        let receiver = Receiver::start(
            TcpListener::bind("127.0.0.1:0").unwrap(),
            vec![(429, Some("0")), (503, None), (502, None), (200, None)],
        );
        let exporter = exporter(receiver.addr, 5);
        for i in 0..5 {
            exporter.enqueue(span(format!("throttled-{i}")));
        }
        let stats = exporter.stats.clone();
        wait_for("the spans to be exported", || load(&stats.exported) == 5);
        assert_eq!(
            receiver.requests(),
            4,
            "three refusals, then the one that took them"
        );
        assert_eq!(load(&stats.retries), 3);
        assert_eq!(stats.dropped(), 0);
        assert!((0..5).all(|i| receiver.received(&format!("throttled-{i}"))));
    }

    #[test]
    fn a_server_error_drops_its_batch_without_retrying_and_export_goes_on() {
        let receiver = Receiver::start(
            TcpListener::bind("127.0.0.1:0").unwrap(),
            vec![(500, None), (400, None), (200, None)],
        );
        let exporter = exporter(receiver.addr, 512);
        let stats = exporter.stats.clone();
        for i in 0..3 {
            exporter.enqueue(span(format!("refused-{i}")));
        }
        assert!(exporter.flush(Duration::from_secs(60)));
        assert_eq!(load(&stats.dropped_export_failed), 3);
        assert_eq!(receiver.requests(), 1, "a 500 is not retried");
        exporter.enqueue(span("bad-request".into()));
        assert!(exporter.flush(Duration::from_secs(60)));
        assert_eq!(load(&stats.dropped_export_failed), 4);
        exporter.enqueue(span("accepted".into()));
        assert!(exporter.flush(Duration::from_secs(60)));
        assert_eq!(load(&stats.exported), 1);
        assert_eq!(load(&stats.retries), 0);
        assert!(receiver.received("accepted") && !receiver.received("refused-0"));
    }

    #[test]
    fn the_retry_hold_is_bounded_and_what_overflows_is_counted() {
        let addr = down();
        let exporter = Exporter::start(ExportSettings {
            retry_capacity: 8,
            queue_size: 1000,
            ..settings(addr, 4)
        })
        .unwrap();
        let stats = exporter.stats.clone();
        // Enqueueing never waits for the receiver: all 40 are taken while it is down.
        for i in 0..40 {
            exporter.enqueue(span(format!("overflow-{i}")));
        }
        assert!(exporter.flush(Duration::from_secs(60)));
        let held = load(&stats.retrying);
        assert!((4..=8).contains(&held), "held {held}");
        assert_eq!(load(&stats.dropped_export_failed), 40 - held);
        assert_eq!(load(&stats.dropped_queue_full), 0);
        assert!(load(&stats.retries) >= 1);
        let receiver = Receiver::start(TcpListener::bind(addr).unwrap(), vec![(200, None)]);
        wait_for("the held spans to be exported", || {
            load(&stats.exported) == held
        });
        // The newest were kept, the oldest dropped.
        assert!(receiver.received("overflow-39"));
        assert!(!receiver.received("overflow-0"));
    }

    #[test]
    fn a_batch_retried_too_long_is_dropped() {
        let exporter = Exporter::start(ExportSettings {
            retry_initial: Duration::from_millis(10),
            retry_max: Duration::from_millis(20),
            retry_for: Duration::from_millis(200),
            ..settings(down(), 3)
        })
        .unwrap();
        let stats = exporter.stats.clone();
        for i in 0..3 {
            exporter.enqueue(span(format!("stale-{i}")));
        }
        wait_for("the batch to be given up", || {
            load(&stats.dropped_export_failed) == 3
        });
        assert_eq!(load(&stats.retrying), 0);
        assert!(load(&stats.retries) >= 1);
        assert_eq!(load(&stats.exported), 0);
    }
}
