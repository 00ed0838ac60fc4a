//! The `recover-better` command line: thin, it parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use recover_better::catalog::Catalog;
use recover_better::dataset::{self, embedded::DefaultDataset, import::ImportOptions, Folder};
use recover_better::graphql::{self, Limits};
use recover_better::live::Live;
use recover_better::model::Role;
use recover_better::server::{self, HttpOptions};
use recover_better::store::{check, Store};

/// Recover Better: UPR recommendations linked to COVID-19 measures and good practices.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// The store folder (created if missing).
    #[arg(
        long,
        global = true,
        env = "RECOVER_BETTER_DATA",
        default_value = "recover-better.sled"
    )]
    data: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Args, Default)]
struct ServeArgs {
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, env = "RECOVER_BETTER_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Do not load the embedded default dataset into a new, empty store.
    #[arg(long)]
    empty: bool,
    /// An origin allowed by CORS (repeat, or comma-separate; `*` allows any).
    #[arg(
        long = "cors-origin",
        env = "RECOVER_BETTER_CORS_ORIGINS",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,
    /// Deepest nesting of selections a query may have.
    #[arg(long, env = "RECOVER_BETTER_MAX_DEPTH", default_value_t = Limits::default().depth)]
    max_depth: usize,
    /// Largest complexity a query may have (one per field, times page sizes).
    #[arg(long, env = "RECOVER_BETTER_MAX_COMPLEXITY", default_value_t = Limits::default().complexity)]
    max_complexity: usize,
    /// Most selections a query may expand to with its fragments spread in place.
    #[arg(long, env = "RECOVER_BETTER_MAX_SELECTIONS", default_value_t = Limits::default().selections)]
    max_selections: usize,
    /// Longest a query may run, in seconds (then it is stopped with QUERY_TIMEOUT).
    #[arg(long, env = "RECOVER_BETTER_QUERY_TIMEOUT", default_value_t = Limits::default().deadline.as_secs())]
    query_timeout: u64,
    /// Refuse queries without a valid token (mutations always need one).
    #[arg(long, env = "RECOVER_BETTER_REQUIRE_TOKEN")]
    require_token: bool,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it, once, alone on the last line (only its hash is stored).
    Create {
        /// Who the token is for: the author name of every change made with it.
        #[arg(long)]
        name: String,
        /// reader, editor (links, measures, good practices) or admin (also recommendations).
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// List tokens: name, role, creation time (never the secret).
    List,
    /// Revoke a token by name.
    Revoke {
        /// The token's name.
        name: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("{s:?} is not a role (reader, editor or admin)"))
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL API and GraphiQL (the default command).
    ///
    /// A new, empty store is first loaded with the embedded default dataset, unless
    /// `--empty` is given.
    Serve(ServeArgs),
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
    /// Manage the API tokens of the store (run while the server is stopped: the store is
    /// locked by its process).
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Write a synthetic dataset, deterministic per seed (no store is opened).
    Generate {
        #[arg(long, value_enum, default_value = "small")]
        preset: dataset::generate::Preset,
        /// Multiply recommendations, measures, good practices and links.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// The random seed: the same seed, preset and scale give byte-identical files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The folder to write into.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs are written by a background thread, so a request never waits on stderr; the guard
    // flushes what is queued when main returns.
    let (writer, _flush_logs_on_exit) = tracing_appender::non_blocking(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .with_writer(writer)
        .init();
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
    match cli.command.unwrap_or(Command::Serve(ServeArgs {
        listen: "127.0.0.1:8080".into(),
        max_depth: Limits::default().depth,
        max_complexity: Limits::default().complexity,
        max_selections: Limits::default().selections,
        query_timeout: Limits::default().deadline.as_secs(),
        ..Default::default()
    })) {
        Command::Serve(args) => serve(&cli.data, args),
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
        Command::Token { action } => {
            let store = open(&cli.data)?;
            match action {
                TokenCommand::Create { name, role } => {
                    let secret = store.create_token(&name, role)?;
                    println!("created token {name:?} with role {role}; it is shown once, below:");
                    println!("{secret}");
                }
                TokenCommand::List => {
                    for t in store.tokens()? {
                        println!("{:<24} {:<8} {}", t.name, t.role, t.created_at);
                    }
                }
                TokenCommand::Revoke { name } => {
                    if store.revoke_token(&name)? {
                        println!("revoked token {name:?}");
                    } else {
                        eprintln!("no token named {name:?}");
                        return Ok(ExitCode::FAILURE);
                    }
                }
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
            let options = dataset::generate::GenerateOptions {
                preset,
                scale,
                seed,
            };
            for (file, n) in dataset::generate::generate(&options, &out)? {
                println!("{file:<36} {n:>9}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn import(
    store: &Store,
    source: &dyn dataset::Source,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
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

fn serve(data: &std::path::Path, args: ServeArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let store = std::sync::Arc::new(open(data)?);
    if store.is_empty()? && !args.empty {
        tracing::info!(store = %data.display(), "new store: loading the embedded default dataset");
        let summary =
            dataset::import::import(&store, &DefaultDataset, ImportOptions { progress: true })?;
        tracing::info!(records = summary.total().records, "default dataset loaded");
    }
    let started = std::time::Instant::now();
    let catalog = Catalog::load(&store)?;
    tracing::info!(
        recommendations = catalog.recommendations.len(),
        measures = catalog.measures.len(),
        ms = started.elapsed().as_millis() as u64,
        "catalog loaded"
    );
    let limits = Limits {
        depth: args.max_depth,
        complexity: args.max_complexity,
        selections: args.max_selections,
        deadline: std::time::Duration::from_secs(args.query_timeout.max(1)),
        ..Limits::default()
    };
    let live = std::sync::Arc::new(Live::new(store.clone(), catalog));
    let api = graphql::api(live.clone(), limits);
    let options = HttpOptions {
        cors_origins: args.cors_origins,
        require_token: args.require_token,
        ..HttpOptions::default()
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr()?;
        println!("GraphiQL: http://{addr}/");
        println!("GraphQL endpoint: http://{addr}/graphql (WebSocket: ws://{addr}/graphql/ws)");
        use std::io::Write;
        std::io::stdout().flush()?;
        let stopping = live.clone();
        server::run(
            listener,
            server::app(api, live.clone(), &options),
            async move {
                server::shutdown_signal().await;
                // Ends subscriptions and closes WebSocket connections.
                stopping.shut_down();
            },
        )
        .await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    store.flush()?;
    tracing::info!("store flushed; bye");
    Ok(ExitCode::SUCCESS)
}
