//! Crash safety: a process killed with SIGKILL (`Child::kill`) in the middle of a write leaves
//! a store that passes the integrity check and holds either all of a write or none of it, and
//! never loses a write it acknowledged as durable.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::Rng;

use common::{assert_clean, bin, counts, import_dir, Dataset, SMALL_COUNTS};
use recover_better::model::*;
use recover_better::store::{ApplyOptions, Change, Entity, Record, Store, DEPENDENCY_ORDER};

/// The kind of record each dataset file holds.
fn kind_of_file(file: &str) -> Entity {
    match file {
        "taxonomy/sdgs.jsonl" => Entity::Sdg,
        "taxonomy/themes.jsonl" => Entity::Theme,
        "taxonomy/groups.jsonl" => Entity::Group,
        "taxonomy/measure_categories.jsonl" => Entity::MeasureCategory,
        "countries.jsonl" => Entity::Country,
        "cycles.jsonl" => Entity::Cycle,
        "sessions.jsonl" => Entity::Session,
        "recommendations.jsonl" => Entity::Recommendation,
        "measures.jsonl" => Entity::Measure,
        "good_practices.jsonl" => Entity::GoodPractice,
        "concerns.jsonl" => Entity::Concern,
        "actions.jsonl" => Entity::Action,
        "links.jsonl" => Entity::Link,
        other => panic!("unknown dataset file {other}"),
    }
}

/// Records per kind of a dataset folder, by counting its non-empty lines.
fn dataset_counts(dir: &Path) -> Vec<(Entity, u64)> {
    let mut by_kind: BTreeMap<Entity, u64> = BTreeMap::new();
    for file in recover_better::dataset::FILES {
        let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        *by_kind.entry(kind_of_file(file)).or_default() +=
            text.lines().filter(|l| !l.trim().is_empty()).count() as u64;
    }
    DEPENDENCY_ORDER.iter().map(|k| (*k, by_kind[k])).collect()
}

fn lines(dir: &Path, file: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(dir: &Path, file: &str, lines: &[String]) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// A recommendation of the pre-filled store whose response the world import changes, with
/// its response before and after.
struct Changed {
    id: Ref,
    before: Response,
    after: Response,
}

/// A smaller dataset the world import is compatible with (the tiny preset is not: its
/// sessions review other States): the world's taxonomy, countries, cycles and sessions, its
/// first recommendations and measures (every 50th recommendation with another response, so
/// the import must update it) and the links between them.
fn write_prefill(world: &Path, out: &Path) -> Vec<Changed> {
    for file in [
        "taxonomy/sdgs.jsonl",
        "taxonomy/themes.jsonl",
        "taxonomy/groups.jsonl",
        "taxonomy/measure_categories.jsonl",
        "countries.jsonl",
        "cycles.jsonl",
        "sessions.jsonl",
    ] {
        write_lines(out, file, &lines(world, file));
    }
    let mut changed = vec![];
    let mut recs = vec![];
    let mut rec_ids = std::collections::HashSet::new();
    for (i, line) in lines(world, "recommendations.jsonl")
        .into_iter()
        .take(3000)
        .enumerate()
    {
        let mut r: serde_json::Value = serde_json::from_str(&line).unwrap();
        rec_ids.insert(r["id"].as_str().unwrap().to_owned());
        if i % 50 == 0 {
            let after = Response::parse(r["response"].as_str().unwrap()).unwrap();
            let before = if after == Response::Noted {
                Response::Supported
            } else {
                Response::Noted
            };
            r["response"] = before.as_str().into();
            changed.push(Changed {
                id: Ref::parse(r["id"].as_str().unwrap()).unwrap(),
                before,
                after,
            });
        }
        recs.push(r.to_string());
    }
    write_lines(out, "recommendations.jsonl", &recs);
    let measures: Vec<String> = lines(world, "measures.jsonl")
        .into_iter()
        .take(800)
        .collect();
    let measure_ids: std::collections::HashSet<String> = measures
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    write_lines(out, "measures.jsonl", &measures);
    let links: Vec<String> = lines(world, "links.jsonl")
        .into_iter()
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            rec_ids.contains(v["recommendation"].as_str().unwrap())
                && measure_ids.contains(v["measure"].as_str().unwrap())
        })
        .collect();
    write_lines(out, "links.jsonl", &links);
    write_lines(out, "good_practices.jsonl", &[]);
    write_lines(out, "concerns.jsonl", &[]);
    write_lines(out, "actions.jsonl", &[]);
    changed
}

fn spawn_import(store: &Path, dataset: &Path) -> Child {
    Command::new(bin())
        .args([
            "--data",
            store.to_str().unwrap(),
            "import",
            dataset.to_str().unwrap(),
        ])
        .env_remove("RECOVER_BETTER_DATA")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn import_with_binary(store: &Path, dataset: &Path) {
    let status = spawn_import(store, dataset).wait().unwrap();
    assert!(status.success(), "importing {} failed", dataset.display());
}

/// Bytes of every file under `dir` (0 when it does not exist yet).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A store folder has begun to take the import's writes once it grew by this much, or by its
/// own size if that is more: reading and planning write nothing (opening a store may write a
/// little: sled's snapshot and recovery).
const WRITING: u64 = 4 << 20;

fn writing_threshold(size_before: u64) -> u64 {
    size_before + WRITING.max(size_before)
}

/// How long an uninterrupted import takes, and how long its last phase, writing, takes.
struct Timing {
    total: Duration,
    writing: Duration,
}

fn time_an_import(store: &Path, dataset: &Path) -> Timing {
    let started = Instant::now();
    let mut child = spawn_import(store, dataset);
    let mut writing_from = None;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "importing {} failed", dataset.display());
            break;
        }
        if writing_from.is_none() && dir_size(store) > writing_threshold(0) {
            writing_from = Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let total = started.elapsed();
    Timing {
        total,
        writing: total - writing_from.unwrap_or(total),
    }
}

/// When a round kills the import.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// After a random delay from 50 ms to this.
    Anytime(Duration),
    /// Once the store folder has begun to grow, after a random delay between these.
    WhileWriting(Duration, Duration),
}

/// Starts an import of `dataset` into `store` and kills it as `kill` says. Returns when it
/// was killed (from the start) and whether it had already finished by then.
fn import_and_kill(store: &Path, dataset: &Path, kill: Kill) -> (Duration, bool) {
    let mut rng = rand::thread_rng();
    let size_before = dir_size(store);
    let started = Instant::now();
    let mut child = spawn_import(store, dataset);
    match kill {
        Kill::Anytime(upto) => {
            let upto = upto.as_millis().max(51) as u64;
            std::thread::sleep(Duration::from_millis(rng.gen_range(50..=upto)));
        }
        Kill::WhileWriting(from, upto) => {
            let deadline = started + Duration::from_secs(300);
            while dir_size(store) < writing_threshold(size_before)
                && child.try_wait().unwrap().is_none()
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            let (from, upto) = (from.as_millis() as u64, upto.as_millis() as u64);
            std::thread::sleep(Duration::from_millis(rng.gen_range(from..=upto.max(from))));
        }
    }
    let finished_first = child.try_wait().unwrap().is_some();
    child.kill().unwrap();
    child.wait().unwrap();
    (started.elapsed(), finished_first)
}

/// What a killed import left on disk before the store's recovery runs, read with sled itself.
fn left_on_disk(store: &Path) -> String {
    let db = sled::open(store).unwrap();
    let meta = db.open_tree("meta").unwrap();
    let journal = db.open_tree("journal").unwrap().len();
    let recommendations = db.open_tree("recommendations").unwrap().len();
    let marker = meta.get("journal").unwrap().map(|v| v.to_vec());
    let left = match marker {
        Some(m) => format!(
            "the journal marker {m:?} (a commit under way), {journal} before-image(s), {recommendations} recommendation record(s)"
        ),
        None => format!(
            "no journal marker, {journal} journal entries, {recommendations} recommendation record(s)"
        ),
    };
    drop(meta);
    drop(db);
    left
}

/// Opens the store, waiting for this process's own raw sled handle to release its lock.
fn open_when_released(dir: &Path) -> Store {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match Store::open(dir) {
            Err(recover_better::store::StoreError::Locked(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            other => return other.unwrap(),
        }
    }
}

#[test]
fn a_killed_import_leaves_none_or_all_of_it() {
    let work = tempfile::tempdir().unwrap();
    let world = work.path().join("world");
    let out = Command::new(bin())
        .args([
            "generate",
            "--preset",
            "world",
            "--out",
            world.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let world_counts = dataset_counts(&world);
    let prefill = work.path().join("prefill");
    let changed = write_prefill(&world, &prefill);
    let prefill_counts = dataset_counts(&prefill);
    let empty: Vec<(Entity, u64)> = DEPENDENCY_ORDER.iter().map(|k| (*k, 0)).collect();

    // One uninterrupted import, to know how long one takes and how long its writing takes.
    let full = work.path().join("full");
    let usual = time_an_import(&full, &world);
    std::fs::remove_dir_all(&full).unwrap();
    println!(
        "an uninterrupted world import takes {} ms, the last {} ms of it writing",
        usual.total.as_millis(),
        usual.writing.as_millis()
    );

    // Kills at any time mostly hit reading and planning, which write nothing, so most rounds
    // wait for the store folder to grow and kill during the journaled commit: an empty store
    // is undone to empty, a pre-filled one from its before-images (which a pre-filled store's
    // commit writes first, so its second round kills later, once the writes have begun).
    let w = usual.writing;
    let rounds = [
        (false, Kill::Anytime(usual.total)),
        (true, Kill::WhileWriting(Duration::ZERO, w)),
        (false, Kill::WhileWriting(Duration::ZERO, w)),
        (true, Kill::WhileWriting(w, w * 2)),
    ];
    for (round, &(prefilled, kill)) in rounds.iter().enumerate() {
        let store_dir = work.path().join(format!("store-{round}"));
        if prefilled {
            import_with_binary(&store_dir, &prefill);
        }
        let before = if prefilled { &prefill_counts } else { &empty };

        let (killed_at, finished_first) = import_and_kill(&store_dir, &world, kill);
        let left = left_on_disk(&store_dir);

        let store = open_when_released(&store_dir);
        let now = counts(&store);
        let all = now == world_counts;
        assert!(
            &now == before || all,
            "round {round}: killed after {} ms ({kill:?}), the store holds part of the import:\n{now:?}\nbefore: {before:?}\nall: {world_counts:?}",
            killed_at.as_millis()
        );
        println!(
            "round {round} ({} store, {kill:?}): killed after {} ms{}, leaving {left}; reopened, the store holds {} of it",
            if prefilled { "pre-filled" } else { "fresh" },
            killed_at.as_millis(),
            if finished_first {
                " (the import had already finished)"
            } else {
                ""
            },
            if all { "all" } else { "none" }
        );
        if prefilled {
            for c in &changed {
                let (_, r) = store.recommendation(&c.id).unwrap().unwrap();
                let want = if all { (2, c.after) } else { (1, c.before) };
                assert_eq!(
                    (r.version, r.record.response),
                    want,
                    "round {round}: {}",
                    c.id
                );
            }
        }
        assert_clean(&store);
        drop(store);
        std::fs::remove_dir_all(&store_dir).unwrap();
    }
}

// --- acknowledged writes -----------------------------------------------------------------------

const CHILD_ENV: &str = "RB_CRASH_CHILD";
const WRITE_LOOP_TEST: &str = "acknowledged_durable_writes_survive_a_kill";

fn crash_measure(i: u64) -> Measure {
    Measure {
        id: Ref::parse(&format!("M-CRASH-{i:06}")).unwrap(),
        country: CountryCode::parse("HND").unwrap(),
        title: format!("Measure {i}"),
        description: "Written by the crash test.".into(),
        category: MeasureCategory::Health,
        start_date: Date::parse("2020-04-01").unwrap(),
        end_date: None,
        themes: vec![Slug::parse("covid-19").unwrap()],
        groups: vec![],
        sdgs: vec![SdgGoal::new(3).unwrap()],
        source: None,
        source_code: None,
        source_url: None,
    }
}

/// Change number `i` of the write loop: even ones create a measure, odd ones link it.
fn loop_change(i: u64) -> Record {
    if i % 2 == 0 {
        Record::Measure(crash_measure(i / 2))
    } else {
        Record::Link(Link {
            recommendation: Ref::parse("R-36-HND-001").unwrap(),
            measure: crash_measure(i / 2).id,
            relation: LinkRelation::Related,
            status: LinkStatus::Suggested,
            note: Some(format!("change {i}")),
            evidence_url: None,
            created_by: Some("crash-test".into()),
            created_at: None,
            updated_at: None,
        })
    }
}

fn is_stored(store: &Store, i: u64) -> bool {
    let m = crash_measure(i / 2).id;
    let Some((mid, _)) = store.measure(&m).unwrap() else {
        return false;
    };
    if i % 2 == 0 {
        return true;
    }
    let (rid, _) = store
        .recommendation(&Ref::parse("R-36-HND-001").unwrap())
        .unwrap()
        .unwrap();
    store.link_by_ids(rid, mid).unwrap().is_some()
}

/// The child's side: import the small dataset, then apply one durable change after another,
/// acknowledging each on stdout only once `apply` has returned. Stops by itself after a while
/// in case nobody kills it.
fn write_loop(dir: &Path) {
    let store = Store::open(dir).unwrap();
    // Beside the store, in the parent's temporary folder, so that it goes when that does.
    let base = dir.with_file_name("base");
    Dataset::small().write(&base);
    import_dir(&store, &base).unwrap();
    let stdout = std::io::stdout();
    let started = Instant::now();
    for i in 0..200_000u64 {
        if started.elapsed() > Duration::from_secs(30) {
            break;
        }
        store
            .apply(
                vec![Change::put(loop_change(i))],
                ApplyOptions {
                    durable: true,
                    ..Default::default()
                },
            )
            .unwrap();
        let mut out = stdout.lock();
        writeln!(out, "ack {i}").unwrap();
        out.flush().unwrap();
    }
}

/// Runs the write loop in a child process, kills it after a random 0.3 to 1.5 s of writing,
/// and returns the highest acknowledged change and how long it wrote.
fn run_write_loop_and_kill(dir: &Path) -> (Option<u64>, Duration) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            WRITE_LOOP_TEST,
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let lines = std::thread::spawn(move || {
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if let Some(i) = line.strip_prefix("ack ") {
                if tx.send(i.trim().parse::<u64>().unwrap()).is_err() {
                    break;
                }
            }
        }
    });
    // Wait for the first acknowledgement (the child has to start and import the base).
    let mut acked = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(i) => Some(i),
        Err(e) => {
            child.kill().ok();
            panic!("the writer acknowledged nothing: {e:?}");
        }
    };
    let writing = Duration::from_millis(rand::thread_rng().gen_range(300..=1500));
    let deadline = Instant::now() + writing;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(i) => acked = Some(i),
            Err(mpsc::RecvTimeoutError::Timeout) => break,
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the writer stopped by itself"),
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    lines.join().unwrap();
    // Lines already written before the kill are acknowledgements too.
    while let Ok(i) = rx.try_recv() {
        acked = Some(i);
    }
    (acked, writing)
}

#[test]
fn acknowledged_durable_writes_survive_a_kill() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        write_loop(&PathBuf::from(dir));
        return;
    }
    for round in 0..3 {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("store");

        let (acked, writing) = run_write_loop_and_kill(&dir);

        let acked = acked.expect("at least one acknowledgement");
        let store = Store::open(&dir).unwrap();
        assert_clean(&store);
        for i in 0..=acked {
            assert!(
                is_stored(&store, i),
                "round {round}: acknowledged change {i} was lost"
            );
        }
        // At most the one change in flight when the kill came is there beyond the last ack.
        assert!(
            !is_stored(&store, acked + 2),
            "round {round}: change {} was never applied",
            acked + 2
        );
        let in_flight = is_stored(&store, acked + 1);
        let base = |kind: Entity| SMALL_COUNTS.iter().find(|(k, _)| *k == kind).unwrap().1;
        let written = acked + 1 + u64::from(in_flight);
        assert_eq!(
            store.count(Entity::Measure).unwrap(),
            base(Entity::Measure) + written.div_ceil(2),
            "round {round}: measures"
        );
        assert_eq!(
            store.count(Entity::Link).unwrap(),
            base(Entity::Link) + written / 2,
            "round {round}: links"
        );
        println!(
            "write loop round {round}: killed after {} ms of writing; {} change(s) acknowledged, {}",
            writing.as_millis(),
            acked + 1,
            if in_flight { "the one in flight was stored too" } else { "nothing beyond them stored" }
        );
    }
}
