//! Service time of Q1–Q6 (the queries of `load.sh`) executed in-process, without HTTP: how
//! long the schema itself takes per query, on one thread, at the world preset (or the preset
//! in SERVICE_BENCH_PRESET: tiny, small, world). Prints the mean and p99 of each.
//!
//! `cargo bench --bench service` (about a minute, most of it generating and importing).

use std::sync::Arc;
use std::time::{Duration, Instant};

use recover_better::catalog::Catalog;
use recover_better::dataset::generate::{generate, GenerateOptions, Preset};
use recover_better::dataset::import::{import, ImportOptions};
use recover_better::dataset::Folder;
use recover_better::server::App;
use recover_better::store::Store;

fn main() {
    let preset = match std::env::var("SERVICE_BENCH_PRESET").as_deref() {
        Ok("tiny") => Preset::Tiny,
        Ok("small") => Preset::Small,
        _ => Preset::World,
    };
    let dir = tempfile::Builder::new()
        .prefix("bench-service-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let data = dir.path().join("data");
    generate(
        &GenerateOptions {
            preset,
            scale: 1.0,
            seed: 1,
        },
        &data,
    )
    .unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    import(&store, &Folder(data.clone()), ImportOptions::default()).unwrap();
    let catalog = Catalog::load(&store).unwrap();
    let rec = catalog
        .recommendations
        .in_order()
        .next()
        .unwrap()
        .record
        .id
        .to_string();
    let country = {
        let mut counts = std::collections::HashMap::new();
        for m in catalog.measures.in_order() {
            *counts.entry(m.record.country).or_insert(0) += 1;
        }
        counts
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .unwrap()
            .0
            .to_string()
    };
    let app = App::builder(Arc::new(store))
        .catalog(catalog)
        .build()
        .unwrap();
    let (live, schema) = (app.live, app.schema);
    // The executor the server runs (pricing, deadline, error codes, extensions.cost), to see
    // what it adds to the schema's own time.
    let api =
        recover_better::graphql::api(live.clone(), recover_better::graphql::Limits::default());
    let queries = [
        ("Q1", format!("{{ recommendation(ref: \"{rec}\") {{ ref text stateUnderReview {{ name }} recommendingStates {{ name }} }} }}")),
        ("Q2", format!("{{ country(code: \"{country}\") {{ name recommendationsReceived(first: 20, filter: {{cycle: [3]}}) {{ totalCount nodes {{ ref text response }} }} measures(first: 10) {{ totalCount nodes {{ ref title startDate }} }} }} }}")),
        ("Q3", "{ recommendations(first: 50, filter: {theme: [\"right-to-health\"], response: [SUPPORTED], cycle: [3]}) { totalCount nodes { ref text stateUnderReview { name } } } }".to_owned()),
        ("Q4", format!("{{ country(code: \"{country}\") {{ measures(first: 20, filter: {{category: [HEALTH]}}) {{ totalCount nodes {{ ref title links {{ relation recommendation {{ ref recommendingStates {{ name }} }} }} }} }} }} }}")),
        ("Q5", "{ recommendations(first: 50, filter: {theme: [\"right-to-health\"], response: [SUPPORTED], cycle: [3]}) { totalCount nodes { ref } facets { response { value count } actionCategory { value count } theme { value count } group { value count } sdg { value count } cycle { value count } session { value count } stateUnderReview { value count } recommendingState { value count } } } }".to_owned()),
        ("Q6", "{ search(text: \"domestic violence\", first: 20) { totalCount edges { node { score snippet node { __typename ... on Recommendation { ref } ... on Measure { ref } } } } } }".to_owned()),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("{preset:?} preset, one thread, in-process (no HTTP)");
    runtime.block_on(async {
        // Q5 as a first query of its filter: facet counts are remembered per snapshot (until
        // the next write), so the loop below measures repeats; here the memory is cleared
        // before each run.
        let q5 = &queries[4].1;
        let mut cold: Vec<Duration> = vec![];
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            live.snapshot().memo.clear();
            let t = Instant::now();
            std::hint::black_box(schema.execute(q5.as_str()).await);
            cold.push(t.elapsed());
        }
        cold.sort();
        println!(
            "Q5 first time (facets not remembered)  mean {:>7.3} ms   p99 {:>7.3} ms",
            (cold.iter().sum::<Duration>() / cold.len() as u32).as_secs_f64() * 1e3,
            cold[cold.len() * 99 / 100].as_secs_f64() * 1e3
        );
        for (name, q) in &queries {
            let r = schema.execute(q.as_str()).await;
            assert!(r.errors.is_empty(), "{name}: {:?}", r.errors);
            let mut times: Vec<Duration> = vec![];
            let mut through_api: Vec<Duration> = vec![];
            let until = Instant::now() + Duration::from_secs(3);
            while Instant::now() < until {
                let t = Instant::now();
                let r = schema.execute(q.as_str()).await;
                times.push(t.elapsed());
                std::hint::black_box(r);
                let t = Instant::now();
                let r = async_graphql::Executor::execute(&api, q.as_str().into()).await;
                through_api.push(t.elapsed());
                std::hint::black_box(r);
            }
            let stats = |v: &mut Vec<Duration>| {
                v.sort();
                let mean = v.iter().sum::<Duration>() / v.len() as u32;
                (mean.as_secs_f64() * 1e3, v[v.len() * 99 / 100].as_secs_f64() * 1e3)
            };
            let (mean, p99) = stats(&mut times);
            let (api_mean, api_p99) = stats(&mut through_api);
            println!(
                "{name}  mean {mean:>7.3} ms   p99 {p99:>7.3} ms   through Api: mean {api_mean:>7.3} ms   p99 {api_p99:>7.3} ms   ({} runs each)",
                times.len()
            );
        }
    });
}
