//! What one write costs at scale, in process, one writer, durable: a recommendation's edit,
//! a measure's edit and a link's write on a generated world (`WRITES_BENCH_SCALE`, default
//! 1; 10 for world ×10), each split into its parts: the store's planned and committed write
//! (`Store::apply`), the flush to disk alone, and the snapshot update (`Catalog::absorb` on a
//! copy of the current snapshot, which is what a server does before it answers). Prints the
//! median and the worst of each, and the load time and size of the world.
//!
//! `cargo bench --bench writes` (world: about two minutes, most of it generating and
//! importing; ×10 needs about 6 GB of memory and 15 minutes).

use std::time::{Duration, Instant};

use recover_better::catalog::Catalog;
use recover_better::dataset::generate::{generate, GenerateOptions, Preset};
use recover_better::dataset::import::{import, ImportOptions};
use recover_better::dataset::Folder;
use recover_better::model::*;
use recover_better::store::{ApplyOptions, Change, Record, Store};

const EDITS: usize = 200;

#[derive(Default)]
struct Parts {
    apply: Vec<Duration>,
    flush: Vec<Duration>,
    absorb: Vec<Duration>,
    total: Vec<Duration>,
}

fn stats(v: &[Duration]) -> (f64, f64) {
    let mut v = v.to_vec();
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(v[v.len() / 2]), ms(*v.last().unwrap()))
}

fn main() {
    let scale: f64 = std::env::var("WRITES_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let dir = tempfile::Builder::new()
        .prefix("bench-writes-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let data = dir.path().join("data");
    let t = Instant::now();
    generate(
        &GenerateOptions {
            preset: Preset::World,
            scale,
            seed: 1,
        },
        &data,
    )
    .unwrap();
    let generated = t.elapsed();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let t = Instant::now();
    import(&store, &Folder(data), ImportOptions::default()).unwrap();
    let imported = t.elapsed();
    let t = Instant::now();
    let mut cat = Catalog::load(&store).unwrap();
    let loaded = t.elapsed();
    println!(
        "world ×{scale}: {} recommendations, {} measures, {} links; generated in {:.1} s, imported in {:.1} s, snapshot loaded in {:.1} s; store {:.0} MB on disk",
        cat.recommendations.len(),
        cat.measures.len(),
        cat.links.len(),
        generated.as_secs_f64(),
        imported.as_secs_f64(),
        loaded.as_secs_f64(),
        store.size_on_disk().unwrap() as f64 / 1e6
    );

    // Records spread over the id space, so edits touch different chunks and shards.
    let recs: Vec<Recommendation> = cat
        .recommendations
        .in_order()
        .step_by((cat.recommendations.len() / EDITS).max(1))
        .take(EDITS)
        .map(|r| r.record.clone())
        .collect();
    let measures: Vec<Measure> = cat
        .measures
        .in_order()
        .step_by((cat.measures.len() / EDITS).max(1))
        .take(EDITS)
        .map(|r| r.record.clone())
        .collect();
    let links: Vec<Link> = cat
        .links
        .iter()
        .step_by((cat.links.len() / EDITS).max(1))
        .take(EDITS)
        .map(|l| l.record.clone())
        .collect();

    let mut run = |changes: Vec<Change>, parts: &mut Parts| {
        let t0 = Instant::now();
        let report = store
            .apply(
                changes,
                ApplyOptions {
                    author: Some("bench"),
                    report_changes: true,
                    ..ApplyOptions::default()
                },
            )
            .unwrap();
        let t1 = Instant::now();
        store.flush().unwrap();
        let t2 = Instant::now();
        let mut next = cat.clone();
        next.absorb(&store, &report.changes).unwrap();
        cat = next;
        let t3 = Instant::now();
        parts.apply.push(t1 - t0);
        parts.flush.push(t2 - t1);
        parts.absorb.push(t3 - t2);
        parts.total.push(t3 - t0);
    };

    let mut rec_parts = Parts::default();
    for (i, r) in recs.iter().enumerate() {
        let mut r = r.clone();
        r.text = format!("{} (edited in the bench, {i})", r.text);
        run(vec![Change::put(Record::Recommendation(r))], &mut rec_parts);
    }
    let mut measure_parts = Parts::default();
    for (i, m) in measures.iter().enumerate() {
        let mut m = m.clone();
        m.description = format!("{} (edited in the bench, {i})", m.description);
        run(vec![Change::put(Record::Measure(m))], &mut measure_parts);
    }
    let mut link_parts = Parts::default();
    for (i, l) in links.iter().enumerate() {
        let mut l = l.clone();
        l.note = Some(format!("edited in the bench, {i}"));
        run(vec![Change::put(Record::Link(l))], &mut link_parts);
    }

    println!("| write ({EDITS} each) | total p50 | total max | apply p50 | flush p50 | flush max | snapshot update p50 | snapshot update max |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, p) in [
        ("recommendation edit", &rec_parts),
        ("measure edit", &measure_parts),
        ("link write", &link_parts),
    ] {
        let (t50, tmax) = stats(&p.total);
        let (a50, _) = stats(&p.apply);
        let (f50, fmax) = stats(&p.flush);
        let (s50, smax) = stats(&p.absorb);
        println!(
            "| {name} | {t50:.2} ms | {tmax:.2} ms | {a50:.2} ms | {f50:.2} ms | {fmax:.2} ms | {s50:.3} ms | {smax:.3} ms |"
        );
    }
    let fresh = Catalog::load(&store).unwrap();
    let diff = cat.differences(&fresh);
    assert!(
        diff.is_empty(),
        "the updated snapshot differs from a fresh load: {diff:?}"
    );
    println!("the snapshot kept up by the writes equals a fresh load of the store");
}
