//! The `recover-better` command line: thin, it parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgAction, Parser, Subcommand, ValueEnum};

use recover_better::dataset::{self, embedded::DefaultDataset, import::ImportOptions, Folder};
use recover_better::graphql::Limits;
use recover_better::model::{self, Role};
use recover_better::server::{self, ws::WsOptions, App, HttpOptions};
use recover_better::store::{check, Store};

// A request allocates a few hundred small objects (the GraphQL value tree, futures, strings);
// glibc's malloc and free took a fifth of the CPU of a nested read (benches/README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Recover Better: UPR recommendations linked to COVID-19 measures and good practices.
///
/// Without a command it serves: `recover-better` is `recover-better serve`, with serve's
/// defaults and environment variables.
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
    /// Where the store is, instead of `--data`: a folder, or a replicated store in an etcd
    /// cluster, `etcd://HOST:PORT[,HOST:PORT…]/PREFIX` (builds with the `etcd` feature).
    /// Several servers may serve one etcd store; see the README, "Running more than one
    /// server".
    #[arg(long, global = true, env = "RECOVER_BETTER_STORE")]
    store: Option<String>,
    /// How log lines are written to stderr: `text`, or `json` (one object a line).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "RECOVER_BETTER_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
    /// On a store several servers share: do not take turns with the other servers' writers
    /// after a lost race (README, "Running more than one server"); to measure what turns do.
    #[arg(
        long,
        global = true,
        env = "RECOVER_BETTER_NO_WRITE_TURNS",
        action = ArgAction::SetTrue,
        value_parser = parse_switch
    )]
    no_write_turns: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

impl Cli {
    /// The command line; without a command, exactly as if `serve` had been given last (so
    /// serve's defaults and environment variables hold, as they do for `serve`).
    fn parse_with_default() -> Cli {
        let cli = Cli::parse();
        if cli.command.is_some() {
            return cli;
        }
        Cli::parse_from(std::env::args_os().chain([std::ffi::OsString::from("serve")]))
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
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
    /// Seconds a query may run (then it is stopped with QUERY_TIMEOUT).
    #[arg(long, env = "RECOVER_BETTER_QUERY_TIMEOUT", default_value = "10", value_parser = parse_seconds, value_name = "SECS")]
    query_timeout: Duration,
    /// Refuse queries without a valid token (mutations always need one).
    #[arg(
        long,
        env = "RECOVER_BETTER_REQUIRE_TOKEN",
        action = ArgAction::SetTrue,
        value_parser = parse_switch
    )]
    require_token: bool,
    /// Requests per second allowed per token (or per client address without one), with a
    /// burst of as many; over it, HTTP 429 with Retry-After. Off unless given.
    #[arg(long, env = "RECOVER_BETTER_RATE_LIMIT", value_name = "RPS")]
    rate_limit: Option<NonZeroU32>,
    /// Serve /metrics and count requests for it (the default; undoes an earlier
    /// --no-metrics).
    #[arg(long, overrides_with = "no_metrics")]
    metrics: bool,
    /// Do not serve /metrics nor count requests (to measure what metrics cost).
    #[arg(
        long,
        env = "RECOVER_BETTER_NO_METRICS",
        action = ArgAction::SetTrue,
        value_parser = parse_switch,
        overrides_with = "metrics"
    )]
    no_metrics: bool,
    /// Parse every query anew, without the per-thread cache of parsed documents (to
    /// measure what parsing costs).
    #[arg(
        long,
        env = "RECOVER_BETTER_NO_DOCUMENT_CACHE",
        action = ArgAction::SetTrue,
        value_parser = parse_switch
    )]
    no_document_cache: bool,
    /// Seconds a client has to send a request's headers, from connecting or from the
    /// previous response (so also how long an idle keep-alive connection stays open).
    #[arg(long, env = "RECOVER_BETTER_HEADER_READ_TIMEOUT", default_value = "10", value_parser = parse_seconds, value_name = "SECS")]
    header_read_timeout: Duration,
    /// Seconds a request may take, reading its body included (then HTTP 408).
    #[arg(long, env = "RECOVER_BETTER_REQUEST_TIMEOUT", default_value = "30", value_parser = parse_seconds, value_name = "SECS")]
    request_timeout: Duration,
    /// Seconds in-flight requests get to finish once a shutdown starts (SIGTERM, Ctrl-C);
    /// connections still open then are closed.
    #[arg(long, env = "RECOVER_BETTER_SHUTDOWN_TIMEOUT", default_value = "10", value_parser = parse_seconds, value_name = "SECS")]
    shutdown_timeout: Duration,
    /// Most connections served at once; more wait until one closes.
    #[arg(long, env = "RECOVER_BETTER_MAX_CONNECTIONS", default_value_t = HttpOptions::default().max_connections)]
    max_connections: usize,
    /// Most operations in one batched request (a JSON array body); 0 turns batches off.
    #[arg(long, env = "RECOVER_BETTER_MAX_BATCH", default_value_t = HttpOptions::default().max_batch)]
    max_batch: usize,
    /// Most operations (subscriptions, and queries in progress) on one WebSocket connection.
    #[arg(long, env = "RECOVER_BETTER_WS_MAX_OPERATIONS", default_value_t = WsOptions::default().max_operations)]
    ws_max_operations: usize,
    /// Most WebSocket connections open at once.
    #[arg(long, env = "RECOVER_BETTER_WS_MAX_CONNECTIONS", default_value_t = WsOptions::default().max_connections)]
    ws_max_connections: usize,
    /// Most WebSocket connections open at once from one client address.
    #[arg(long, env = "RECOVER_BETTER_WS_MAX_CONNECTIONS_PER_IP", default_value_t = WsOptions::default().max_connections_per_ip)]
    ws_max_connections_per_ip: usize,
    /// Seconds a new WebSocket connection has to send `connection_init` (then closed, 4408).
    #[arg(long, env = "RECOVER_BETTER_WS_INIT_TIMEOUT", default_value = "10", value_parser = parse_seconds, value_name = "SECS")]
    ws_init_timeout: Duration,
    /// Seconds one message may take to reach a WebSocket client before it is disconnected.
    #[arg(long, env = "RECOVER_BETTER_WS_WRITE_TIMEOUT", default_value = "10", value_parser = parse_seconds, value_name = "SECS")]
    ws_write_timeout: Duration,
    /// Seconds of silence from a WebSocket client before it is pinged; as long again
    /// without an answer closes the connection (4504). 0: never ping.
    #[arg(long, env = "RECOVER_BETTER_WS_KEEPALIVE", default_value = "30", value_parser = parse_seconds_or_off, value_name = "SECS")]
    ws_keepalive: Duration,
    /// Seconds a GET response may be reused by caches (`Cache-Control: max-age`).
    #[arg(long, env = "RECOVER_BETTER_CACHE_MAX_AGE", default_value_t = HttpOptions::default().cache_max_age.as_secs())]
    cache_max_age: u64,
    /// A persisted query manifest (JSON: an object of SHA-256 → document, or Apollo's
    /// persisted query manifest) whose queries clients may send by hash.
    #[arg(long, env = "RECOVER_BETTER_PERSISTED_QUERIES", value_name = "FILE")]
    persisted_queries: Option<PathBuf>,
    /// Run only the queries of the --persisted-queries manifest.
    #[arg(
        long,
        env = "RECOVER_BETTER_ONLY_PERSISTED",
        action = ArgAction::SetTrue,
        value_parser = parse_switch,
        requires = "persisted_queries"
    )]
    only_persisted: bool,
}

/// A boolean in any usual spelling: 1/0, true/false, yes/no, on/off, any case.
fn parse_switch(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "{s:?} is neither on nor off: use 1/0, true/false, yes/no or on/off"
        )),
    }
}

/// A positive number of seconds, fractions allowed (`0.5`).
fn parse_seconds(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && n <= 86_400.0 => Ok(Duration::from_secs_f64(n)),
        _ => Err(format!(
            "{s:?} is not a number of seconds (more than 0, at most 86400)"
        )),
    }
}

/// Seconds as [`parse_seconds`] takes them, or 0 for "off" (a zero duration).
fn parse_seconds_or_off(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(0.0) => Ok(Duration::ZERO),
        _ => parse_seconds(s)
            .map_err(|_| format!("{s:?} is not a number of seconds (0 for off, at most 86400)")),
    }
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

fn parse_measure_format(s: &str) -> Result<dataset::measures::Format, String> {
    dataset::measures::Format::parse(s)
        .ok_or_else(|| format!("{s:?} is not a format (oxcgrt, coronanet or acaps)"))
}

fn parse_format(s: &str) -> Result<dataset::recommendations::Format, String> {
    dataset::recommendations::Format::parse(s).ok_or_else(|| {
        format!(
            "{s:?} is not a format ({})",
            dataset::recommendations::Format::NAMES.join(", ")
        )
    })
}

fn parse_date(s: &str) -> Result<model::Date, String> {
    model::Date::parse(s).map_err(|e| e.0)
}

fn parse_country(s: &str) -> Result<model::CountryCode, String> {
    model::CountryCode::parse(s.trim()).map_err(|e| e.0)
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("{s:?} is not a role (reader, editor or admin)"))
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL API and GraphiQL (the default command).
    ///
    /// A new, empty store is first loaded with the embedded default dataset, unless
    /// `--empty` is given. On/off settings given by environment variables take 1/0,
    /// true/false, yes/no or on/off, in any case.
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
    /// Import COVID-19 measures from a tracker's CSV (OxCGRT, CoronaNet, ACAPS), all or
    /// nothing.
    ///
    /// Rows of one policy over time become one measure with its start and end; ids come
    /// from the source's ids, so importing the same file twice changes nothing. A malformed
    /// row is listed as `file:line: reason` and nothing is written; rows that cannot become
    /// a measure (a country not in the store, a type the crosswalk does not map) are
    /// counted by reason in the summary.
    ImportMeasures {
        /// The tracker whose format FILE is in.
        #[arg(long, value_parser = parse_measure_format)]
        format: dataset::measures::Format,
        /// The CSV file (the tracker's full file or any part of it, columns in any order).
        file: PathBuf,
        /// Only rows of these countries (ISO 3166-1 alpha-3, comma-separated).
        #[arg(long = "country", value_delimiter = ',', value_parser = parse_country)]
        countries: Vec<model::CountryCode>,
        /// The crosswalk of tracker types to categories (a `measure_categories.jsonl`);
        /// default: the one the store's taxonomy holds (a tracker it lists nothing for takes
        /// the embedded default dataset's list).
        #[arg(long, value_name = "FILE")]
        crosswalk: Option<PathBuf>,
        /// Read and check everything, print the summary, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Import recommendations from a file in a published format, all or nothing.
    ///
    /// Formats: ohchr-thematic-list (OHCHR's .docx thematic list of a review) and
    /// upr-info-csv (UPR Info's database export). The session must exist and list the State
    /// under review, or be created or extended from --session with --cycle (and dates).
    /// Importing the same file twice changes nothing; on any problem nothing is written and
    /// every problem is listed as `file:row: reason`.
    ImportRecommendations {
        /// The file's format: ohchr-thematic-list or upr-info-csv.
        #[arg(long, value_parser = parse_format)]
        format: dataset::recommendations::Format,
        /// The file to read.
        file: PathBuf,
        /// The session of the file; with --cycle, creates it or adds the State to it.
        #[arg(long)]
        session: Option<u16>,
        /// The cycle of a session to create.
        #[arg(long, requires = "session")]
        cycle: Option<u8>,
        /// The first day of a session to create (YYYY-MM-DD).
        #[arg(long, requires = "cycle", value_parser = parse_date)]
        start_date: Option<model::Date>,
        /// The last day of a session to create (YYYY-MM-DD).
        #[arg(long, requires = "cycle", value_parser = parse_date)]
        end_date: Option<model::Date>,
        /// The State under review (ISO3), for an OHCHR list whose page header does not name it.
        #[arg(long, value_parser = parse_country)]
        state: Option<model::CountryCode>,
        /// More State names for this import: a TSV in the format of
        /// data/import/country_aliases.tsv (name, ISO3); its rows win over the embedded ones.
        #[arg(long, value_name = "FILE")]
        country_aliases: Vec<PathBuf>,
        /// More UHRI themes for this import: a TSV in the format of data/import/uhri_themes.tsv
        /// (label, theme slugs separated by commas, or none).
        #[arg(long, value_name = "FILE")]
        uhri_themes: Vec<PathBuf>,
        /// More UHRI affected persons for this import: a TSV in the format of
        /// data/import/uhri_affected_persons.tsv (label, group slugs separated by commas).
        #[arg(long, value_name = "FILE")]
        uhri_affected_persons: Vec<PathBuf>,
        /// UPR Info issues for this import, beside the themes' names: a TSV of label and theme
        /// slugs separated by commas (or none), for issues a later export adds.
        #[arg(long, value_name = "FILE")]
        upr_info_issues: Vec<PathBuf>,
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
    let cli = Cli::parse_with_default();
    // Logs are written in batches by a background thread, so a request never waits on stderr
    // (server::logs); the guard flushes what is queued when main returns.
    let (writer, _flush_logs_on_exit) =
        match recover_better::server::logs::batched(std::io::stderr(), "log-writer") {
            Ok(w) => w,
            Err(e) => {
                eprintln!("error: cannot start the log writer thread: {e}");
                return ExitCode::FAILURE;
            }
        };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tower_http=info".into());
    // Colours only for a terminal: escape codes in a log file are noise, and cost time.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    if !ansi {
        // The request lines, the bulk of the log, are written directly in the same layout
        // (server::logs::request_finished), at a fraction of the formatter's cost.
        use recover_better::server::logs::{write_request_lines, LineFormat};
        let format = match cli.log_format {
            LogFormat::Text => LineFormat::Text,
            LogFormat::Json => LineFormat::Json,
        };
        write_request_lines(writer.clone(), format);
    }
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where the store is: `--store`, else the `--data` folder.
fn location(cli: &Cli) -> String {
    match &cli.store {
        Some(s) => s.clone(),
        None => cli.data.display().to_string(),
    }
}

/// Whether writes take turns on a shared store (`--no-write-turns` turns them off).
static WRITE_TURNS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

fn open(location: &str) -> Result<Store, Box<dyn std::error::Error>> {
    let store = Store::open_location(location)?;
    store.set_write_turns(WRITE_TURNS.load(std::sync::atomic::Ordering::Relaxed));
    Ok(store)
}

fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let at = location(&cli);
    WRITE_TURNS.store(!cli.no_write_turns, std::sync::atomic::Ordering::Relaxed);
    let Some(command) = cli.command else {
        unreachable!("Cli::parse_with_default gives a command")
    };
    match command {
        Command::Serve(args) => serve(&at, args),
        Command::Import { dir, default } => {
            let store = open(&at)?;
            let source: Box<dyn dataset::Source> = match (dir, default) {
                (Some(dir), _) => Box::new(Folder(dir)),
                (None, _) => Box::new(DefaultDataset),
            };
            import(&store, source.as_ref())
        }
        Command::Init => {
            let store = open(&at)?;
            import(&store, &DefaultDataset)
        }
        Command::Export { dir } => {
            let store = open(&at)?;
            let summary = dataset::export::export(&store, &dir)?;
            for (file, n) in summary {
                println!("{file:<36} {n:>9}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token { action } => {
            let store = open(&at)?;
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
            let store = open(&at)?;
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
        Command::ImportMeasures {
            format,
            file,
            countries,
            crosswalk,
            dry_run,
        } => {
            let crosswalk = match crosswalk {
                None => None,
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    match dataset::measures::Crosswalk::parse(&path.display().to_string(), &text) {
                        Ok(c) => Some(c),
                        Err(problems) => {
                            for p in problems {
                                eprintln!("{p}");
                            }
                            return Ok(ExitCode::FAILURE);
                        }
                    }
                }
            };
            let store = open(&at)?;
            let options = dataset::measures::MeasureImportOptions {
                format,
                countries: (!countries.is_empty()).then(|| countries.into_iter().collect()),
                crosswalk,
                dry_run,
            };
            let started = std::time::Instant::now();
            match dataset::measures::import_measures(&store, &file, &options) {
                Ok(summary) => {
                    print!("{summary}");
                    for p in &summary.refused_rows {
                        eprintln!("refused: {p}");
                    }
                    let verb = if dry_run {
                        "checked (nothing written)"
                    } else {
                        "imported"
                    };
                    println!(
                        "{verb} {} ({format}) in {:.1} s",
                        file.display(),
                        started.elapsed().as_secs_f64()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e @ dataset::measures::MeasureImportError::Malformed(_)) => {
                    eprintln!("{e}");
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::ImportRecommendations {
            format,
            file,
            session,
            cycle,
            start_date,
            end_date,
            state,
            country_aliases,
            uhri_themes,
            uhri_affected_persons,
            upr_info_issues,
        } => {
            use dataset::recommendations::vocabulary::{NameFile, NameList};
            use dataset::recommendations::{self as recs, RecommendationImportError};
            let mut names = vec![];
            for (list, paths) in [
                (NameList::CountryAliases, country_aliases),
                (NameList::UhriThemes, uhri_themes),
                (NameList::UhriAffectedPersons, uhri_affected_persons),
                (NameList::UprInfoIssues, upr_info_issues),
            ] {
                for path in paths {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    names.push(NameFile {
                        list,
                        name: path.display().to_string(),
                        text,
                    });
                }
            }
            let session = match session {
                Some(n) => Some(recs::SessionDetails {
                    number: model::SessionNumber::new(n.into()).map_err(|e| e.0)?,
                    cycle: cycle
                        .map(|c| model::CycleNumber::new(c.into()))
                        .transpose()
                        .map_err(|e| e.0)?,
                    start_date,
                    end_date,
                }),
                None => None,
            };
            let store = open(&at)?;
            let options = recs::ImportOptions {
                session,
                state,
                names,
            };
            match recs::import_file(&store, format, &file, &options) {
                Ok(summary) => {
                    print!("{summary}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(RecommendationImportError::Invalid(problems)) => {
                    eprintln!("{}", dataset::import::format_problems(&problems));
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(e.into()),
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

fn serve(data: &str, args: ServeArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let persisted_queries = match &args.persisted_queries {
        Some(path) => Some(Arc::new(server::http::PersistedQueryManifest::load(path)?)),
        None => None,
    };
    let store = Arc::new(open(data)?);
    if store.is_empty()? && !args.empty {
        tracing::info!(store = %data, "new store: loading the embedded default dataset");
        let summary =
            dataset::import::import(&store, &DefaultDataset, ImportOptions { progress: true })?;
        tracing::info!(records = summary.total().records, "default dataset loaded");
    }
    let limits = Limits {
        depth: args.max_depth,
        complexity: args.max_complexity,
        selections: args.max_selections,
        deadline: args.query_timeout,
        ..Limits::default()
    };
    let options = HttpOptions {
        cors_origins: args.cors_origins,
        require_token: args.require_token,
        rate_limit: args.rate_limit,
        metrics: !args.no_metrics,
        document_cache: !args.no_document_cache,
        header_read_timeout: args.header_read_timeout,
        request_timeout: args.request_timeout,
        shutdown_timeout: args.shutdown_timeout,
        max_connections: args.max_connections,
        max_batch: args.max_batch,
        ws: WsOptions {
            max_operations: args.ws_max_operations,
            max_connections: args.ws_max_connections,
            max_connections_per_ip: args.ws_max_connections_per_ip,
            init_timeout: args.ws_init_timeout,
            write_timeout: args.ws_write_timeout,
            keepalive: (!args.ws_keepalive.is_zero()).then_some(args.ws_keepalive),
        },
        cache_max_age: std::time::Duration::from_secs(args.cache_max_age),
        persisted_queries,
        only_persisted: args.only_persisted,
        ..HttpOptions::default()
    };
    let app = App::builder(store.clone())
        .limits(limits)
        .http(options)
        .assess_in_background(true)
        .build()?;
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
        app.serve(listener, server::shutdown_signal()).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    // Handlers cut at the shutdown deadline may have left writes on blocking threads: wait
    // for them (a write is short) before the last flush.
    runtime.shutdown_timeout(Duration::from_secs(30));
    store.flush()?;
    tracing::info!("store flushed; bye");
    Ok(ExitCode::SUCCESS)
}
