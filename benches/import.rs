//! Import benchmark: a generated world-sized dataset into a fresh store, the same again
//! (every record unchanged), then the integrity check. Prints figures; asserts nothing about
//! time (machines are shared and noisy).
//!
//! `cargo bench --bench import [-- --preset world --scale 1 --runs 3]`

use std::time::Instant;

use recover_better::dataset::generate::{generate, GenerateOptions, Preset};
use recover_better::dataset::import::{import, ImportOptions};
use recover_better::dataset::Folder;
use recover_better::store::{check::check, Store};

fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let preset = match arg("--preset", "world".to_string()).as_str() {
        "tiny" => Preset::Tiny,
        "small" => Preset::Small,
        _ => Preset::World,
    };
    let scale: f64 = arg("--scale", 1.0);
    let runs: usize = arg("--runs", 3);
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("dataset");
    let t = Instant::now();
    let files = generate(
        &GenerateOptions {
            preset,
            scale,
            seed: 1,
        },
        &data,
    )
    .expect("generate");
    let records: usize = files.iter().map(|(_, n)| n).sum();
    let bytes: u64 = walk_size(&data);
    println!(
        "dataset: {preset:?} x{scale}: {records} records, {:.1} MB of JSON Lines (generated in {:.2} s)",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    println!(
        "{:<8} {:>10} {:>14} {:>12} {:>12} {:>10}",
        "run", "import s", "records/s", "MB/s", "reimport s", "check s"
    );
    for run in 1..=runs {
        let store_dir = dir.path().join(format!("store-{run}"));
        let store = Store::open(&store_dir).expect("open");
        let t = Instant::now();
        import(&store, &Folder(data.clone()), ImportOptions::default()).expect("import");
        let first = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let again =
            import(&store, &Folder(data.clone()), ImportOptions::default()).expect("reimport");
        let second = t.elapsed().as_secs_f64();
        assert_eq!(
            again.total().unchanged,
            records,
            "a re-import must change nothing"
        );
        let t = Instant::now();
        let report = check(&store).expect("check");
        let checked = t.elapsed().as_secs_f64();
        assert!(
            report.is_clean(),
            "check found violations: {:?}",
            report.violations.first()
        );
        println!(
            "{run:<8} {first:>10.2} {:>14.0} {:>12.1} {second:>12.2} {checked:>10.2}",
            records as f64 / first,
            bytes as f64 / 1e6 / first
        );
        store.flush().expect("flush");
        drop(store);
        if run == runs {
            println!(
                "store size on disk: {:.1} MB",
                walk_size(&store_dir) as f64 / 1e6
            );
        }
    }
}

fn walk_size(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
