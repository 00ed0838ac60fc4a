//! The `recover-better` command line: thin, it parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use recover_better::dataset::{self, embedded::DefaultDataset, import::ImportOptions, Folder};
use recover_better::store::{check, Store};

/// Recover Better: UPR recommendations linked to COVID-19 measures and good practices.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// The store folder (created if missing).
    #[arg(long, global = true, env = "RECOVER_BETTER_DATA", default_value = "recover-better.sled")]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load a dataset folder (JSON Lines, see README) into the store, all or nothing.
    ///
    /// Records are upserted by natural key: importing the same dataset twice changes
    /// nothing. On any problem nothing is written and every problem is listed as
    /// `file:line: reason`.
    Import {
        /// The dataset folder (holding countries.jsonl, ..., taxonomy/).
        #[arg(required_unless_present = "default", conflicts_with = "default")]
        dir: Option<PathBuf>,
        /// Load the embedded default dataset instead of a folder.
        #[arg(long)]
        default: bool,
    },
    /// Load the embedded default dataset (the same as `import --default`).
    Init,
    /// Write the store as a dataset folder, each file sorted by natural key.
    Export {
        /// The folder to write into (created if missing; existing files are replaced).
        dir: PathBuf,
    },
    /// Verify every invariant of the store in both directions; exit 1 on any violation.
    Check,
    /// Write a synthetic dataset, deterministic per seed (no store is opened).
    Generate {
        #[arg(long, value_enum, default_value = "small")]
        preset: dataset::generate::Preset,
        /// Multiply recommendations, measures, good practices and links.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The folder to write into.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn open(cli_data: &std::path::Path) -> Result<Store, Box<dyn std::error::Error>> {
    Ok(Store::open(cli_data)?)
}

fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match cli.command {
        Command::Import { dir, default } => {
            let store = open(&cli.data)?;
            let source: Box<dyn dataset::Source> = match (dir, default) {
                (Some(dir), _) => Box::new(Folder(dir)),
                (None, _) => Box::new(DefaultDataset),
            };
            import(&store, source.as_ref())
        }
        Command::Init => {
            let store = open(&cli.data)?;
            import(&store, &DefaultDataset)
        }
        Command::Export { dir } => {
            let store = open(&cli.data)?;
            let summary = dataset::export::export(&store, &dir)?;
            for (file, n) in summary {
                println!("{file:<36} {n:>9}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => {
            let store = open(&cli.data)?;
            let report = check::check(&store)?;
            for v in &report.violations {
                println!("{v}");
            }
            for (tree, n) in &report.counts {
                eprintln!("{tree:<20} {n:>9}");
            }
            if report.is_clean() {
                eprintln!("ok: no violations");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{} violation(s)", report.violations.len());
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Generate {
            preset,
            scale,
            seed,
            out,
        } => {
            if !(scale > 0.0 && scale.is_finite()) {
                return Err(format!("--scale must be a positive number, got {scale}").into());
            }
            let options = dataset::generate::GenerateOptions { preset, scale, seed };
            for (file, n) in dataset::generate::generate(&options, &out)? {
                println!("{file:<36} {n:>9}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn import(store: &Store, source: &dyn dataset::Source) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    match dataset::import::import(store, source, ImportOptions { progress: true }) {
        Ok(summary) => {
            print!("{summary}");
            println!(
                "imported {} in {:.1} s; store size on disk {:.1} MB",
                source.describe(),
                started.elapsed().as_secs_f64(),
                store.size_on_disk()? as f64 / 1e6
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(dataset::DatasetError::Invalid(problems)) => {
            eprintln!("{}", dataset::import::format_problems(&problems));
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}
