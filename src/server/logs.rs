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
}
