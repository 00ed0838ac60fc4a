//! Where log lines go: a buffer that request threads append to and one background thread
//! writes out in batches, so a request never waits on stderr and never wakes a thread.
//!
//! `tracing_appender::non_blocking` (used before) sends each line through a channel to a
//! writer thread: every line woke that thread and cost it a `write` syscall, and under load
//! that thread took about a sixth of the server's CPU, with a futex wake on the request
//! thread per line (a `{ __typename }` cost twice the bare handler's CPU; benches/README).
//! Here a line is one short mutex hold and a copy; only the first line into an empty buffer
//! wakes the writer, which then waits [`BATCH`] for more before it writes them all at once.
//!
//! Like `non_blocking`'s default, it is lossy rather than blocking: beyond [`MAX_BUFFERED`]
//! bytes waiting (stderr stuck behind a full pipe), lines are dropped and counted, and the
//! count is written in their place once the writer catches up.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the writer collects lines after the first one of a batch arrives: the most a
/// line waits before it is written.
pub const BATCH: Duration = Duration::from_millis(20);

/// Most bytes waiting to be written; lines beyond are dropped (and counted).
pub const MAX_BUFFERED: usize = 4 << 20;

/// Waiting bytes past which the writer is woken at once, without waiting out [`BATCH`].
const HIGH_WATER: usize = 256 << 10;

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    dropped: u64,
    closing: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The writer handed to `tracing_subscriber::fmt().with_writer(..)`; cheap to clone.
#[derive(Clone)]
pub struct BatchedWriter {
    shared: Arc<Shared>,
}

/// Writes what is buffered and stops the writer thread when dropped (keep it until exit).
pub struct FlushOnDrop {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A writer whose lines `out` receives from a background thread named `name`.
pub fn batched(
    out: impl Write + Send + 'static,
    name: &str,
) -> std::io::Result<(BatchedWriter, FlushOnDrop)> {
    let shared = Arc::new(Shared {
        pending: Mutex::new(Pending::default()),
        ready: Condvar::new(),
    });
    let thread = std::thread::Builder::new().name(name.into()).spawn({
        let shared = shared.clone();
        move || write_batches(&shared, out)
    })?;
    Ok((
        BatchedWriter {
            shared: shared.clone(),
        },
        FlushOnDrop {
            shared,
            thread: Some(thread),
        },
    ))
}

fn write_batches(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::new();
    loop {
        let mut pending = shared.lock();
        while pending.bytes.is_empty() && pending.dropped == 0 && !pending.closing {
            pending = shared
                .ready
                .wait(pending)
                .unwrap_or_else(|p| p.into_inner());
        }
        if !pending.closing && pending.bytes.len() < HIGH_WATER {
            // Let the batch fill: the lines of the next few milliseconds go out in one write.
            pending = shared
                .ready
                .wait_timeout(pending, BATCH)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        std::mem::swap(&mut batch, &mut pending.bytes);
        let dropped = std::mem::take(&mut pending.dropped);
        let closing = pending.closing;
        drop(pending);
        if dropped > 0 {
            let _ = writeln!(
                batch,
                "{dropped} log lines dropped: the log output could not keep up"
            );
        }
        // Nowhere to report a failed write of the log itself: the lines are lost.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        if batch.capacity() > HIGH_WATER * 4 {
            batch.shrink_to(HIGH_WATER);
        }
        if closing && shared.lock().bytes.is_empty() {
            return;
        }
    }
}

impl Write for BatchedWriter {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        append(&self.shared, line)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Appends a line for the writer thread, waking it only for the first line of a batch.
fn append(shared: &Shared, line: &[u8]) -> std::io::Result<usize> {
    let mut pending = shared.lock();
    if pending.bytes.len() + line.len() > MAX_BUFFERED {
        pending.dropped += 1;
        return Ok(line.len());
    }
    let was_empty = pending.bytes.is_empty();
    pending.bytes.extend_from_slice(line);
    let wake = was_empty || pending.bytes.len() >= HIGH_WATER;
    drop(pending);
    if wake {
        shared.ready.notify_one();
    }
    Ok(line.len())
}

/// What `tracing_subscriber` writes one line into: a borrow of the [`BatchedWriter`], so a
/// line costs no reference count (on two cores, every shared count is a cache line that the
/// cores pass back and forth).
pub struct LineWriter<'a> {
    shared: &'a Shared,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        append(self.shared, line)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchedWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> LineWriter<'a> {
        LineWriter {
            shared: &self.shared,
        }
    }
}

/// The target of the request lines, as if `tracing::info!` had been called in [`super::observe`]
/// (so `RUST_LOG=recover_better::server::observe=warn` silences them either way).
pub const REQUEST_TARGET: &str = "recover_better::server::observe";

/// The layout of the request lines written directly ([`write_request_lines`]): the same as
/// `tracing_subscriber`'s `fmt` (without colours) and `fmt().json().flatten_event(true)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    Text,
    Json,
}

/// Where request lines go once the binary chose to write them directly.
static REQUEST_LOG: std::sync::OnceLock<(BatchedWriter, LineFormat)> = std::sync::OnceLock::new();

/// Writes the request lines straight into `writer`, in `format`, rather than through
/// `tracing`'s formatter: the same bytes, at a fifth of the cost (the line is the largest
/// cost of a `{ __typename }`; benches/README). The binary calls this once, when its log
/// is not coloured; without it (tests, other embedders) the lines are `tracing` events.
pub fn write_request_lines(writer: BatchedWriter, format: LineFormat) {
    let _ = REQUEST_LOG.set((writer, format));
}

/// What the request log says of one request.
pub struct RequestLine<'a> {
    pub method: &'a axum::http::Method,
    /// The path only, never the query string.
    pub path: &'a str,
    pub status: u16,
    pub latency_us: u64,
    pub operation: Option<&'a str>,
    pub code: Option<&'a str>,
}

/// The request line as a `tracing` event, for whatever subscriber is installed.
fn through_tracing(line: &RequestLine<'_>) {
    tracing::info!(
        target: REQUEST_TARGET,
        method = %line.method,
        path = line.path,
        status = line.status,
        latency_us = line.latency_us,
        operation = line.operation,
        code = line.code,
        "finished"
    );
}

/// Logs one finished request (at `INFO`, target [`REQUEST_TARGET`]).
pub fn request_finished(line: &RequestLine<'_>) {
    if !tracing::enabled!(target: REQUEST_TARGET, tracing::Level::INFO) {
        return;
    }
    let Some((writer, format)) = REQUEST_LOG.get() else {
        return through_tracing(line);
    };
    LINE.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        buffer.clear();
        format_line(&mut buffer, *format, line);
        let _ = append(&writer.shared, &buffer);
    });
}

thread_local! {
    /// The line being formatted, kept between lines (no allocation per line).
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The current second as `YYYY-MM-DDTHH:MM:SS`, formatted once a second per thread.
    static SECOND: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((u64::MAX, String::new())) };
}

/// `2026-11-29T06:37:38.938930Z`, as `tracing_subscriber` writes it (UTC, microseconds).
fn timestamp(out: &mut Vec<u8>, now: std::time::SystemTime) {
    let since = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = since.as_secs();
    SECOND.with(|second| {
        let mut second = second.borrow_mut();
        if second.0 != seconds {
            let at = chrono::DateTime::from_timestamp(seconds as i64, 0).unwrap_or_default();
            *second = (seconds, at.format("%Y-%m-%dT%H:%M:%S").to_string());
        }
        out.extend_from_slice(second.1.as_bytes());
    });
    out.push(b'.');
    let micros = since.subsec_micros();
    for divisor in [100_000, 10_000, 1_000, 100, 10, 1] {
        out.push(b'0' + (micros / divisor % 10) as u8);
    }
    out.push(b'Z');
}

/// A number in decimal, without `core::fmt`.
fn number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// `value` quoted and escaped, as `{:?}` writes a string or as JSON: the same for the usual
/// paths and names (printable ASCII without quotes or backslashes), written without
/// `core::fmt`; anything else through the formatter of its layout.
fn quoted(out: &mut Vec<u8>, value: &str, json: bool) {
    if value
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
    {
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    } else if json {
        let _ = serde_json::to_writer(&mut *out, value);
    } else {
        let _ = write!(out, "{value:?}");
    }
}

fn format_line(out: &mut Vec<u8>, format: LineFormat, line: &RequestLine<'_>) {
    let json = format == LineFormat::Json;
    // ` name=` in text, `,"name":` in JSON.
    let field = |out: &mut Vec<u8>, name: &str| {
        out.extend_from_slice(if json { b",\"" } else { b" " });
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(if json { b"\":" } else { b"=" });
    };
    let now = std::time::SystemTime::now();
    if json {
        out.extend_from_slice(b"{\"timestamp\":\"");
        timestamp(out, now);
        out.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"finished\"");
    } else {
        timestamp(out, now);
        out.extend_from_slice(b"  INFO ");
        out.extend_from_slice(REQUEST_TARGET.as_bytes());
        out.extend_from_slice(b": finished");
    }
    field(out, "method");
    if json {
        quoted(out, line.method.as_str(), true);
    } else {
        // Recorded with `%`: its `Display`, unquoted.
        out.extend_from_slice(line.method.as_str().as_bytes());
    }
    field(out, "path");
    quoted(out, line.path, json);
    field(out, "status");
    number(out, line.status.into());
    field(out, "latency_us");
    number(out, line.latency_us);
    for (name, value) in [("operation", line.operation), ("code", line.code)] {
        if let Some(v) = value {
            field(out, name);
            quoted(out, v, json);
        }
    }
    if json {
        out.extend_from_slice(b",\"target\":\"");
        out.extend_from_slice(REQUEST_TARGET.as_bytes());
        out.extend_from_slice(b"\"}");
    }
    out.push(b'\n');
}

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.ready.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` whose bytes the test can read back, counting the writes it received.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let mut s = self.0.lock().unwrap();
            s.0.extend_from_slice(b);
            s.1 += 1;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_in_order_once_the_guard_is_dropped() {
        let sink = Sink::default();
        let (writer, guard) = batched(sink.clone(), "test-logs").unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        w.write_all(format!("{t} {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let (bytes, writes) = sink.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).unwrap();
        for t in 0..4 {
            let mine: Vec<usize> = text
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("{t} ")))
                .map(|i| i.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..1000).collect::<Vec<_>>(), "thread {t}");
        }
        assert!(
            writes < 4000,
            "4,000 lines took {writes} writes: they were not batched"
        );
    }

    #[test]
    fn a_line_is_written_within_a_batch_interval_without_a_flush() {
        let sink = Sink::default();
        let (mut writer, _guard) = batched(sink.clone(), "test-logs").unwrap();
        writer.write_all(b"hello\n").unwrap();
        let deadline = std::time::Instant::now() + BATCH * 50;
        while sink.0.lock().unwrap().0.is_empty() {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(sink.0.lock().unwrap().0, b"hello\n");
    }

    #[test]
    fn lines_beyond_the_buffer_are_dropped_and_counted() {
        /// Blocks every write until the test lets it go, as a full pipe would.
        struct Stuck(Arc<Mutex<()>>, Sink);
        impl Write for Stuck {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                let _held = self.0.lock().unwrap();
                self.1.write(b)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let gate = Arc::new(Mutex::new(()));
        let sink = Sink::default();
        let held = gate.lock().unwrap();
        let (mut writer, guard) = batched(Stuck(gate.clone(), sink.clone()), "test-logs").unwrap();
        let mut line = vec![b'x'; 1023];
        line.push(b'\n');
        let lines = MAX_BUFFERED / 1024 * 3;
        for _ in 0..lines {
            writer.write_all(&line).unwrap();
        }
        drop(held);
        drop(guard);
        let text = String::from_utf8(sink.0.lock().unwrap().0.clone()).unwrap();
        let kept = text.lines().filter(|l| l.starts_with('x')).count();
        let dropped: u64 = text
            .lines()
            .filter_map(|l| l.strip_suffix(" log lines dropped: the log output could not keep up"))
            .map(|n| n.parse::<u64>().unwrap())
            .sum();
        assert!(kept < lines, "nothing was dropped");
        assert_eq!(
            kept + dropped as usize,
            lines,
            "a line was neither written nor counted"
        );
    }

    /// What `tracing_subscriber` writes for the request event, in the binary's two layouts.
    fn tracing_writes(json: bool, line: &RequestLine<'_>) -> String {
        let sink = Sink::default();
        let writer = {
            let sink = sink.clone();
            move || sink.clone()
        };
        let emit = || through_tracing(line);
        let logs = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(writer);
        if json {
            let subscriber = logs
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish();
            tracing::subscriber::with_default(subscriber, emit);
        } else {
            tracing::subscriber::with_default(logs.finish(), emit);
        }
        let bytes = sink.0.lock().unwrap().0.clone();
        String::from_utf8(bytes).unwrap()
    }

    /// The lines written directly are byte for byte those of `tracing_subscriber`, but for
    /// the time, with and without the optional fields, with characters JSON and `Debug` escape.
    #[test]
    fn request_lines_are_the_ones_tracing_would_write() {
        let post = axum::http::Method::POST;
        let get = axum::http::Method::GET;
        let lines = [
            RequestLine {
                method: &post,
                path: "/graphql",
                status: 200,
                latency_us: 57,
                operation: None,
                code: None,
            },
            RequestLine {
                method: &get,
                path: "/export/recommendations.csv",
                status: 400,
                latency_us: 1_234_567,
                operation: Some("Odd \"name\"\n\\ é"),
                code: Some("BAD_USER_INPUT"),
            },
            RequestLine {
                method: &get,
                path: "/a'b/é\t~",
                status: 304,
                latency_us: 0,
                operation: Some("Plain_1"),
                code: None,
            },
        ];
        for line in &lines {
            for (json, format) in [(false, LineFormat::Text), (true, LineFormat::Json)] {
                let expected = tracing_writes(json, line);
                let mut ours = Vec::new();
                format_line(&mut ours, format, line);
                let ours = String::from_utf8(ours).unwrap();
                // The time differs; everything after it must not.
                let time = |s: &str| {
                    let at = s.find("Z").unwrap();
                    (s[..=at].to_owned(), s[at + 1..].to_owned())
                };
                let (their_time, theirs) = time(&expected);
                let (our_time, rest) = time(&ours);
                assert_eq!(rest, theirs, "{format:?}");
                // `…2026-11-29T06:37:38.938930Z`: the same layout, a moment apart.
                let at = |t: &str| {
                    chrono::DateTime::parse_from_rfc3339(&t[t.len() - 27..])
                        .unwrap_or_else(|e| panic!("{e}: {t}"))
                };
                assert_eq!(our_time.len(), their_time.len(), "{our_time} {their_time}");
                let apart = at(&our_time) - at(&their_time);
                assert!(apart.num_seconds().abs() < 60, "{our_time} {their_time}");
            }
        }
    }
}
