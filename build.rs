//! Build steps that produce embedded assets in OUT_DIR:
//! - the default dataset (`data/default/`), gzip-compressed file by file, so the binary can
//!   seed a fresh store with no files beside it.
//! - the GraphiQL page's JavaScript and CSS bundles (GraphiQL, React, ReactDOM), pinned by
//!   version and integrity hash in `web/package.json` + `web/package-lock.json` and fetched
//!   from the npm registry with `npm ci` in a copy of `web/` inside OUT_DIR, gzip-compressed,
//!   with each package's licence text (served by `src/server/graphiql.rs`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

// The files of a dataset, in the order an import reads them: the library's own list.
include!("src/dataset/files.rs");

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    embed_default_dataset(Path::new("data/default"), &out.join("default_dataset"));
    embed_graphiql_assets(Path::new("web"), &out.join("graphiql"));
}

fn embed_default_dataset(src: &Path, dst: &Path) {
    println!("cargo:rerun-if-changed={}", src.display());
    let mut table = String::from("&[\n");
    for name in FILES {
        let from = src.join(name);
        println!("cargo:rerun-if-changed={}", from.display());
        let raw =
            std::fs::read(&from).unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display()));
        let to = dst.join(format!("{name}.gz"));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(&raw).unwrap();
        std::fs::write(&to, gz.finish().unwrap()).unwrap();
        table.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            to.display().to_string()
        ));
    }
    table.push(']');
    std::fs::write(dst.join("files.rs"), table).unwrap();
}

/// The npm packages whose files the GraphiQL page serves: (name, version). The versions must
/// match `web/package.json`; the build checks what npm installed against them.
const GRAPHIQL_PACKAGES: &[(&str, &str)] = &[
    ("graphiql", "4.1.2"),
    ("react", "18.3.1"),
    ("react-dom", "18.3.1"),
];

/// The files served under `/assets/`: (served name, package, path inside the package,
/// content type).
const GRAPHIQL_ASSETS: &[(&str, &str, &str, &str)] = &[
    (
        "react.production.min.js",
        "react",
        "umd/react.production.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "react-dom.production.min.js",
        "react-dom",
        "umd/react-dom.production.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "graphiql.min.js",
        "graphiql",
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "graphiql.min.css",
        "graphiql",
        "graphiql.min.css",
        "text/css; charset=utf-8",
    ),
];

/// The npm command that installs exactly what `web/package-lock.json` pins.
const NPM_CI_ARGS: &[&str] = &["ci", "--ignore-scripts", "--no-audit", "--no-fund"];

/// Installs the packages pinned in `web/` with `npm ci` in `dst/web` (a copy, so the source
/// tree stays clean), then writes `dst/assets.rs`: `PACKAGES` (name, version, licence text)
/// and `ASSETS` (served name, package, content type, gzip-compressed bytes), for
/// `src/server/graphiql.rs` to `include!`. npm runs again only when the copy is missing,
/// differs from `web/`, or its last install did not finish.
fn embed_graphiql_assets(web: &Path, dst: &Path) {
    let manifests = ["package.json", "package-lock.json"];
    for name in manifests {
        println!("cargo:rerun-if-changed={}", web.join(name).display());
    }
    let copy = dst.join("web");
    let modules = copy.join("node_modules");
    let stamp = copy.join("npm-ci.done");
    let mut up_to_date = stamp.exists()
        && GRAPHIQL_ASSETS
            .iter()
            .all(|(_, package, path, _)| modules.join(package).join(path).is_file());
    std::fs::create_dir_all(&copy).unwrap();
    for name in manifests {
        let from = web.join(name);
        let bytes =
            std::fs::read(&from).unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display()));
        let to = copy.join(name);
        if std::fs::read(&to).ok().as_deref() != Some(&bytes[..]) {
            up_to_date = false;
            std::fs::write(&to, &bytes).unwrap();
        }
    }
    if !up_to_date {
        let _ = std::fs::remove_file(&stamp);
        run_npm_ci(&copy);
        std::fs::write(&stamp, "").unwrap();
    }

    let mut table = String::from("const PACKAGES: &[Package] = &[\n");
    for (name, version) in GRAPHIQL_PACKAGES {
        let dir = modules.join(name);
        let manifest = dir.join("package.json");
        let installed = manifest_field(&manifest, "version");
        if installed != *version {
            panic!(
                "npm installed {name} {installed}, but build.rs expects {version}: update \
                 GRAPHIQL_PACKAGES in build.rs together with web/package.json"
            );
        }
        let license = dir.join("LICENSE");
        if !license.is_file() {
            panic!("{} is missing", license.display());
        }
        table.push_str(&format!(
            "    Package {{ name: {name:?}, version: {version:?}, license: {:?}, \
             license_text: include_str!({:?}) }},\n",
            manifest_field(&manifest, "license"),
            license.display().to_string()
        ));
    }
    table.push_str("];\n\nconst ASSETS: &[Asset] = &[\n");
    for (file, package, path, content_type) in GRAPHIQL_ASSETS {
        let from = modules.join(package).join(path);
        let raw =
            std::fs::read(&from).unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display()));
        let to = dst.join(format!("{file}.gz"));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&raw).unwrap();
        std::fs::write(&to, gz.finish().unwrap()).unwrap();
        table.push_str(&format!(
            "    Asset {{ file: {file:?}, package: {package:?}, content_type: {content_type:?}, \
             gzip: include_bytes!({:?}) }},\n",
            to.display().to_string()
        ));
    }
    table.push_str("];\n");
    std::fs::write(dst.join("assets.rs"), table).unwrap();
}

/// Runs `npm ci` in `dir`, panicking with what failed and what is needed when it cannot.
fn run_npm_ci(dir: &Path) {
    // On Windows npm is a batch file, which `Command` does not find by the bare name.
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let command = format!("{npm} {}", NPM_CI_ARGS.join(" "));
    let output = Command::new(npm)
        .args(NPM_CI_ARGS)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                format!("`{npm}` was not found on PATH")
            } else {
                e.to_string()
            };
            panic!(
                "\n\nbuild.rs could not run `{command}` (in {}): {why}.\n\
                 Node.js and npm are needed to build recover-better: npm fetches the GraphiQL \
                 and React bundles pinned in web/package-lock.json, which are embedded in the \
                 binary. Install Node.js (with npm) and build again.\n",
                dir.display()
            )
        });
    if !output.status.success() {
        panic!(
            "\n\nbuild.rs: `{command}` failed ({}) in {}.\n\
             Node.js and npm, and access to the npm registry (or a warm npm cache), are needed \
             to build recover-better: npm fetches the GraphiQL and React bundles pinned in \
             web/package-lock.json, which are embedded in the binary.\n\
             --- npm stdout ---\n{}\n--- npm stderr ---\n{}\n",
            output.status,
            dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
}

/// The top-level string `field` of an npm package manifest: the value of the first `"field"`
/// key, which in a package's own package.json is the top-level one (enough for `version`
/// and `license`, and checked against the expected versions by the caller).
fn manifest_field(manifest: &Path, field: &str) -> String {
    let text = std::fs::read_to_string(manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
    text.split_once(&format!("\"{field}\""))
        .map(|(_, rest)| rest.trim_start())
        .and_then(|rest| rest.strip_prefix(':'))
        .map(str::trim_start)
        .and_then(|rest| rest.strip_prefix('"'))
        .and_then(|rest| rest.split_once('"'))
        .map(|(value, _)| value.to_string())
        .unwrap_or_else(|| panic!("no string \"{field}\" in {}", manifest.display()))
}
