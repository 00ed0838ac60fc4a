//! The command line, run as a user runs it: the real binary, exit codes, stdout and stderr.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{assert_same_files, bin, read_files, Dataset};
use recover_better::store::Store;

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("RECOVER_BETTER_DATA")
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs")
}

fn run_with_store(store: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--data", store.to_str().unwrap()];
    all.extend_from_slice(args);
    // sled releases a folder's lock from a background thread shortly after the test process
    // drops its handle: wait for it rather than fail.
    for _ in 0..100 {
        let out = run(&all);
        if !stderr(&out).contains("is in use by another process") {
            return out;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the store at {} stayed locked", store.display());
}

/// Changes a store folder behind the store's back, with sled itself.
fn tamper(store: &Path, f: impl FnOnce(&sled::Db)) {
    let db = sled::open(store).unwrap();
    f(&db);
    db.flush().unwrap();
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// Generates the tiny preset into `dir` with the binary; returns the per-file counts it printed.
fn generate_tiny(dir: &Path) -> Vec<(String, usize)> {
    let out = run(&[
        "generate",
        "--preset",
        "tiny",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_exit(&out, 0);
    stdout(&out)
        .lines()
        .map(|l| {
            let mut parts = l.split_whitespace();
            let file = parts.next().unwrap().to_owned();
            (file, parts.next().unwrap().parse().unwrap())
        })
        .collect()
}

/// A store folder holding the tiny preset, imported with the binary.
fn tiny_store() -> (tempfile::TempDir, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    generate_tiny(data.path());
    assert_exit(
        &run_with_store(store.path(), &["import", data.path().to_str().unwrap()]),
        0,
    );
    (data, store)
}

#[test]
fn generate_writes_the_eleven_files_and_import_prints_a_summary_with_a_total_line() {
    let data = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();

    let generated = generate_tiny(data.path());
    let out = run_with_store(store.path(), &["import", data.path().to_str().unwrap()]);

    assert_exit(&out, 0);
    let files: Vec<&str> = generated.iter().map(|(f, _)| f.as_str()).collect();
    let mut expected: Vec<&str> = recover_better::dataset::FILES.to_vec();
    expected.sort();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["file", "records", "created", "updated", "unchanged"]
    );
    let total_records: usize = generated.iter().map(|(_, n)| n).sum();
    let total = lines
        .iter()
        .find(|l| l.starts_with("total "))
        .unwrap_or_else(|| panic!("no total line in:\n{text}"));
    let n = total_records.to_string();
    assert_eq!(
        total.split_whitespace().collect::<Vec<_>>(),
        ["total", n.as_str(), n.as_str(), "0", "0"]
    );
    for (file, count) in &generated {
        let row = lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(file.as_str()))
            .unwrap_or_else(|| panic!("no row for {file} in:\n{text}"));
        let c = count.to_string();
        assert_eq!(
            row.split_whitespace().collect::<Vec<_>>(),
            [file.as_str(), c.as_str(), c.as_str(), "0", "0"]
        );
    }
}

#[test]
fn check_of_a_sound_store_exits_0_and_says_ok_on_stderr() {
    let (_data, store) = tiny_store();

    let out = run_with_store(store.path(), &["check"]);

    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "", "no violations are printed");
    assert_eq!(stderr(&out).lines().last(), Some("ok: no violations"));
}

#[test]
fn check_of_a_damaged_store_exits_1_and_lists_the_violation() {
    let (_data, store) = tiny_store();
    // Remove one posting list behind the store's back.
    tamper(store.path(), |db| {
        let index = db.open_tree("index").unwrap();
        let (k, _) = index.first().unwrap().unwrap();
        index.remove(k).unwrap();
    });

    let out = run_with_store(store.path(), &["check"]);

    assert_exit(&out, 1);
    let violations = stdout(&out);
    assert_eq!(violations.lines().count(), 1, "{violations}");
    assert!(
        violations.starts_with("posting list CountryReviews(") && violations.contains("is missing"),
        "{violations}"
    );
    assert_eq!(stderr(&out).lines().last(), Some("1 violation(s)"));
}

#[test]
fn check_finds_a_concern_missing_from_its_country_index() {
    let (_data, store) = tiny_store();
    // Drop one concern from the first country's list of concerns (tag 23), behind the
    // store's back: the record still names the country, the index no longer has it.
    tamper(store.path(), |db| {
        let index = db.open_tree("index").unwrap();
        let (k, v) = index.scan_prefix([23u8]).next().unwrap().unwrap();
        let mut list = recover_better::store::codec::decode_postings(&v).unwrap();
        let first = list.min().unwrap();
        list.remove(first);
        if list.is_empty() {
            index.remove(k).unwrap();
        } else {
            index
                .insert(k, recover_better::store::codec::encode_postings(&list))
                .unwrap();
        }
    });

    let out = run_with_store(store.path(), &["check"]);

    assert_exit(&out, 1);
    let violations = stdout(&out);
    assert_eq!(violations.lines().count(), 1, "{violations}");
    assert!(
        violations.starts_with("posting list ConcernsByCountry(")
            && (violations.contains("lacks 1 target") || violations.contains("is missing")),
        "{violations}"
    );
}

#[test]
fn two_exports_of_a_store_are_byte_identical() {
    let (_data, store) = tiny_store();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let first = run_with_store(store.path(), &["export", a.path().to_str().unwrap()]);
    let second = run_with_store(store.path(), &["export", b.path().to_str().unwrap()]);

    assert_exit(&first, 0);
    assert_exit(&second, 0);
    assert_eq!(stdout(&first), stdout(&second));
    assert_same_files(&read_files(a.path()), &read_files(b.path()));
}

#[test]
fn an_import_of_a_bad_dataset_exits_1_and_prints_file_line_reason_on_stderr() {
    let store = tempfile::tempdir().unwrap();
    let mut bad = Dataset::small();
    bad.replace(
        "recommendations.jsonl",
        2,
        r#""session":36"#,
        r#""session":38"#,
    );
    let dir = bad.write_temp();

    let out = run_with_store(store.path(), &["import", dir.path().to_str().unwrap()]);

    assert_exit(&out, 1);
    assert_eq!(
        stderr(&out),
        "the dataset has 1 problem(s); nothing was imported\n\
         recommendations.jsonl:2: session=38 does not resolve (no such session)\n"
    );
    assert_eq!(stdout(&out), "");
    let store = Store::open(store.path()).unwrap();
    assert!(store.is_empty().unwrap());
}

#[test]
fn every_subcommand_help_explains_what_it_does() {
    let cases = [
        (
            "import",
            "Load a dataset folder (JSON Lines, see README) into the store, all or nothing.",
        ),
        ("init", "Load the embedded default dataset"),
        (
            "export",
            "Write the store as a dataset folder, each file sorted by natural key",
        ),
        (
            "check",
            "Verify every invariant of the store in both directions; exit 1 on any violation",
        ),
        (
            "generate",
            "Write a synthetic dataset, deterministic per seed (no store is opened)",
        ),
        (
            "import-recommendations",
            "Import recommendations from a file in a published format, all or nothing",
        ),
    ];
    for (command, summary) in cases {
        let out = run(&[command, "--help"]);

        assert_exit(&out, 0);
        let help = stdout(&out);
        assert!(help.starts_with(summary), "{command} --help:\n{help}");
        assert!(
            help.contains(&format!("Usage: recover-better {command}")),
            "{command} --help:\n{help}"
        );
        assert!(help.contains("--data <DATA>"), "{command} --help:\n{help}");
    }
    let import = stdout(&run(&["import", "--help"]));
    assert!(import.contains("`file:line: reason`"), "{import}");
    assert!(import.contains("--default"), "{import}");
    let generate = stdout(&run(&["generate", "--help"]));
    for preset in ["tiny:", "small:", "world:"] {
        assert!(generate.contains(preset), "{generate}");
    }
}

/// The options and arguments of a `--help` text that come with no description at all.
fn undocumented(help: &str) -> Vec<String> {
    let lines: Vec<&str> = help.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let is_head = |l: &str| {
        let t = l.trim_start();
        (1..=6).contains(&indent(l))
            && (t.starts_with('-') || t.starts_with('<') || t.starts_with('['))
    };
    let mut out = vec![];
    let mut i = 0;
    while i < lines.len() {
        if !is_head(lines[i]) {
            i += 1;
            continue;
        }
        let head = lines[i].trim();
        let (spec, rest) = match head.find("  ") {
            Some(p) => (&head[..p], head[p..].trim()),
            None => (head, ""),
        };
        let mut description = rest.to_owned();
        i += 1;
        while i < lines.len() && !is_head(lines[i]) && (lines[i].is_empty() || indent(lines[i]) > 6)
        {
            description.push(' ');
            description.push_str(lines[i].trim());
            i += 1;
        }
        // Defaults and environment variables are not descriptions.
        let mut words = String::new();
        let mut depth = 0;
        for c in description.chars() {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                _ if depth == 0 => words.push(c),
                _ => {}
            }
        }
        if words.trim().is_empty() {
            out.push(spec.to_owned());
        }
    }
    out
}

#[test]
fn the_help_checker_finds_an_undocumented_option() {
    let help = "Usage: x\n\nOptions:\n      --seed <SEED>\n          [default: 1]\n\n      --out <OUT>\n          The folder\n";

    assert_eq!(undocumented(help), ["--seed <SEED>"]);
}

#[test]
fn every_option_of_every_subcommand_is_described() {
    for command in [
        vec!["import"],
        vec!["init"],
        vec!["export"],
        vec!["check"],
        vec!["generate"],
        vec!["import-recommendations"],
        vec!["serve"],
        vec!["token", "create"],
        vec!["token", "revoke"],
    ] {
        let mut args = command.clone();
        args.push("--help");
        let help = stdout(&run(&args));

        assert_eq!(
            undocumented(&help),
            Vec::<String>::new(),
            "{command:?} --help:\n{help}"
        );
    }
}

#[test]
fn a_store_written_by_a_newer_release_is_refused_with_a_clear_message() {
    let store = tempfile::tempdir().unwrap();
    drop(Store::open(store.path()).unwrap());
    {
        // sled's background flusher may hold the folder's lock for a moment after a drop.
        let db = (0..100)
            .find_map(|_| {
                sled::open(store.path()).ok().or_else(|| {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    None
                })
            })
            .expect("reopen the store with sled");
        db.open_tree("meta")
            .unwrap()
            .insert("format", &[99u8])
            .unwrap();
        db.flush().unwrap();
    }

    let out = run_with_store(store.path(), &["check"]);

    assert_exit(&out, 1);
    assert_eq!(
        stderr(&out),
        format!(
            "error: the store at {} was written by a newer release (store format 99); this release reads format 3\n",
            store.path().display()
        )
    );
}

#[test]
fn a_store_written_by_the_previous_release_opens_and_is_marked_with_the_current_format() {
    let store = tempfile::tempdir().unwrap();
    drop(Store::open(store.path()).unwrap());
    let reopen = || {
        // sled's background flusher may hold the folder's lock for a moment after a drop.
        (0..100)
            .find_map(|_| {
                sled::open(store.path()).ok().or_else(|| {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    None
                })
            })
            .expect("reopen the store with sled")
    };
    {
        let db = reopen();
        db.open_tree("meta")
            .unwrap()
            .insert("format", &[1u8])
            .unwrap();
        db.flush().unwrap();
    }

    let out = run_with_store(store.path(), &["check"]);

    assert_exit(&out, 0);
    let format = reopen().open_tree("meta").unwrap().get("format").unwrap();
    assert_eq!(format.as_deref(), Some(&[3u8][..]));
}

#[test]
fn a_store_in_use_by_another_process_is_refused_with_a_clear_message() {
    let store = tempfile::tempdir().unwrap();
    let _held = Store::open(store.path()).unwrap();

    let out = run(&["--data", store.path().to_str().unwrap(), "check"]);

    assert_exit(&out, 1);
    assert_eq!(
        stderr(&out),
        format!(
            "error: the store at {} is in use by another process (stop it, or choose another --data folder)\n",
            store.path().display()
        )
    );
}

#[test]
fn tokens_are_created_listed_and_revoked_and_the_secret_is_printed_once_on_the_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let out = run_with_store(
        &store,
        &["token", "create", "--name", "eddie", "--role", "editor"],
    );
    assert_exit(&out, 0);
    let text = stdout(&out);
    let secret = text.lines().last().unwrap();
    assert!(secret.starts_with("rb_") && secret.len() > 40, "{text}");
    assert!(!secret.contains(' '), "alone on its line: {secret:?}");
    // Only the hash is stored: the secret's bytes are nowhere in the store's files.
    for f in walk(&store) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds the secret",
            f.display()
        );
    }
    // Names are unique; roles are checked.
    let again = run_with_store(
        &store,
        &["token", "create", "--name", "eddie", "--role", "admin"],
    );
    assert_exit(&again, 1);
    assert!(
        stderr(&again).contains("exists already"),
        "{}",
        stderr(&again)
    );
    let bad = run(&[
        "--data", s, "token", "create", "--name", "x", "--role", "boss",
    ]);
    assert_exit(&bad, 2);
    assert!(
        stderr(&bad).contains("not a role (reader, editor or admin)"),
        "{}",
        stderr(&bad)
    );

    let list = run_with_store(&store, &["token", "list"]);
    assert_exit(&list, 0);
    let listed = stdout(&list);
    assert!(
        listed.starts_with("eddie") && listed.contains("editor"),
        "{listed}"
    );
    assert!(!listed.contains(secret));
    {
        let opened = Store::open(&store).unwrap();
        assert_eq!(opened.authenticate(secret).unwrap().unwrap().name, "eddie");
    }
    assert_exit(&run_with_store(&store, &["token", "revoke", "eddie"]), 0);
    let gone = run_with_store(&store, &["token", "revoke", "eddie"]);
    assert_exit(&gone, 1);
    assert_eq!(stdout(&run_with_store(&store, &["token", "list"])), "");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A `recover-better` process with the given environment and no command (the default is
/// `serve`); its `serve` options come from the environment only.
fn serve_with_env(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(bin());
    for (k, _) in std::env::vars() {
        if k.starts_with("RECOVER_BETTER_") || k == "RUST_LOG" {
            command.env_remove(k);
        }
    }
    command.envs(env.iter().copied());
    command
}

/// A plain HTTP/1.1 request; returns the status code and the response.
fn http(address: &str, request: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    (status, response)
}

#[test]
fn serving_without_a_command_honours_the_environment() {
    use std::io::BufRead;
    let (_data, store) = tiny_store();
    let mut child = serve_with_env(&[
        ("RECOVER_BETTER_DATA", store.path().to_str().unwrap()),
        ("RECOVER_BETTER_LISTEN", "127.0.0.1:0"),
        ("RECOVER_BETTER_REQUIRE_TOKEN", "1"),
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let address = first
        .trim()
        .strip_prefix("GraphiQL: http://")
        .map(|a| a.trim_end_matches('/').to_owned());
    let answer = address.as_deref().map(|address| {
        let body = r#"{"query":"{ __typename }"}"#;
        http(
            address,
            &format!(
                "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    });
    let _ = child.kill();
    let _ = child.wait();

    assert!(
        address.is_some_and(|a| a.starts_with("127.0.0.1:") && !a.ends_with(":8080")),
        "{first}"
    );
    let (status, response) = answer.unwrap();
    assert_eq!(status, 401, "{response}");
    assert!(response.contains("UNAUTHENTICATED"), "{response}");
}

#[test]
fn on_off_settings_take_the_usual_spellings_and_refuse_others_clearly() {
    let store = tempfile::tempdir().unwrap();
    for spelling in ["1", "0", "true", "False", "YES", "no", "on", "Off"] {
        gets_as_far_as_listening(
            &[
                ("RECOVER_BETTER_REQUIRE_TOKEN", spelling),
                ("RECOVER_BETTER_NO_METRICS", spelling),
                ("RECOVER_BETTER_NO_WRITE_TURNS", spelling),
            ],
            spelling,
        );
    }
    let out = serve_with_env(&[("RECOVER_BETTER_REQUIRE_TOKEN", "maybe")])
        .args(["--data", store.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let message = stderr(&out);
    assert!(
        message.contains("--require-token") && message.contains("\"maybe\""),
        "{message}"
    );
    assert!(
        message.contains("1/0, true/false, yes/no or on/off"),
        "{message}"
    );
}

#[test]
fn a_bad_duration_is_refused_with_a_clear_message() {
    let out = run(&["serve", "--header-read-timeout", "0"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("is not a number of seconds"),
        "{}",
        stderr(&out)
    );
    // The WebSocket keepalive takes 0 for off, and refuses what is not seconds.
    for bad in ["-1", "soon", "90000"] {
        let out = run(&["serve", &format!("--ws-keepalive={bad}")]);
        assert_exit(&out, 2);
        let message = stderr(&out);
        assert!(
            message.contains("--ws-keepalive") && message.contains("0 for off"),
            "{bad}: {message}"
        );
    }
    gets_as_far_as_listening(&[("RECOVER_BETTER_WS_KEEPALIVE", "0")], "keepalive 0");
}

/// `serve` with the settings `env`, on an address it cannot listen on: the settings were
/// taken when it gets as far as listening (and fails there, with exit status 1).
fn gets_as_far_as_listening(env: &[(&str, &str)], what: &str) {
    let store = tempfile::tempdir().unwrap();
    let mut env = env.to_vec();
    env.push(("RECOVER_BETTER_LISTEN", "256.0.0.1:1"));
    let out = serve_with_env(&env)
        .args(["--data", store.path().to_str().unwrap(), "serve", "--empty"])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("cannot listen on 256.0.0.1:1"),
        "{what}: {}",
        stderr(&out)
    );
}
