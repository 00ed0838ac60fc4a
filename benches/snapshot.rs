//! Service time of a snapshot page (`/snapshots/regions/…`) at the world preset, in process:
//! computing the figures from the catalog and rendering the HTML with its SVG charts, for
//! each region, as the server does for a request (the target: under 50 ms for a region).
//! Prints, per region, the mean and the worst of the runs, and the figures alone.
//!
//! `cargo bench --bench snapshot` (about a minute, most of it generating and importing;
//! SNAPSHOT_BENCH_PRESET=tiny|small|world, default world).

use std::time::{Duration, Instant};

use recover_better::catalog::regressions::regressions;
use recover_better::catalog::snapshot::{countries_of, figures, Period, Scope};
use recover_better::catalog::Catalog;
use recover_better::dataset::generate::{generate, GenerateOptions, Preset};
use recover_better::dataset::import::{import, ImportOptions};
use recover_better::dataset::Folder;
use recover_better::model::UnRegionalGroup;
use recover_better::server::snapshots::render;
use recover_better::store::Store;

const RUNS: u32 = 20;

fn main() {
    let preset = match std::env::var("SNAPSHOT_BENCH_PRESET").as_deref() {
        Ok("tiny") => Preset::Tiny,
        Ok("small") => Preset::Small,
        _ => Preset::World,
    };
    let dir = tempfile::Builder::new()
        .prefix("bench-snapshot-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let data = dir.path().join("data");
    let options = GenerateOptions {
        preset,
        scale: 1.0,
        seed: 1,
    };
    generate(&options, &data).unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    import(&store, &Folder(data), ImportOptions::default()).unwrap();
    let cat = Catalog::load(&store).unwrap();
    println!(
        "preset {preset:?}: {} recommendations, {} measures, {} concerns, {} actions, {} links",
        cat.recommendations.len(),
        cat.measures.len(),
        cat.concerns.len(),
        cat.actions.len(),
        cat.links.len()
    );
    println!("| region | States | regressions alone | figures mean | page mean (figures + HTML + SVG) | page worst | HTML bytes |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for group in UnRegionalGroup::ALL {
        let scope = Scope::Region(*group);
        let period = Period::default();
        let mut figures_time = Duration::ZERO;
        let mut page_time = Duration::ZERO;
        let mut worst = Duration::ZERO;
        let mut bytes = 0;
        let mut states = 0;
        let t = Instant::now();
        let countries = countries_of(&cat, scope);
        for c in &countries {
            std::hint::black_box(regressions(&cat, *c));
        }
        let regressions_time = t.elapsed();
        for _ in 0..RUNS {
            let t = Instant::now();
            let f = figures(&cat, scope, period);
            figures_time += t.elapsed();
            let html = render(&cat, &f).unwrap();
            let took = t.elapsed();
            page_time += took;
            worst = worst.max(took);
            bytes = html.len();
            states = f.countries.len();
        }
        println!(
            "| {} | {states} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {bytes} |",
            group.as_str(),
            ms(regressions_time),
            ms(figures_time / RUNS),
            ms(page_time / RUNS),
            ms(worst),
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
