//! Builds the web app (`frontend/`) into `frontend/build/` before this crate compiles:
//! `web.rs` embeds that folder into the binary with rust-embed, which needs it to exist at
//! `cargo build`. So `cargo run --release -- serve` from a fresh clone serves the whole app.
//!
//! It stays out of the way when nothing changed: cargo reruns this script only when a source
//! of the app changed (the `rerun-if-changed` list below), and the script itself builds only
//! when `build/index.html` is missing or older than the newest source. `npm ci` runs only when
//! `node_modules/` is missing. npm's output goes to stderr, which cargo shows on failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

/// What the built app depends on, relative to `frontend/`.
const SOURCES: &[&str] =
    &["src", "static", "package.json", "package-lock.json", "svelte.config.js", "vite.config.ts", "tsconfig.json"];

fn main() {
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        fail("CARGO_MANIFEST_DIR is not set: run this through cargo");
    };
    let frontend = PathBuf::from(manifest_dir).join("../../frontend");
    if !frontend.join("package.json").is_file() {
        fail(&format!("the web app is missing: no package.json in {}", frontend.display()));
    }
    let sources: Vec<PathBuf> = SOURCES.iter().map(|s| frontend.join(s)).filter(|p| p.exists()).collect();
    // A path that does not exist would make cargo rerun this script on every build.
    for source in &sources {
        println!("cargo:rerun-if-changed={}", source.display());
    }
    let index = frontend.join("build/index.html");
    println!("cargo:rerun-if-changed={}", index.display());

    let built = modified(&index);
    let newest_source = sources.iter().filter_map(|s| newest(s)).max();
    if let (Some(built), Some(source)) = (built, newest_source)
        && built >= source
    {
        return;
    }

    let npm_works = Command::new("npm").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !matches!(npm_works, Ok(status) if status.success()) {
        fail(
            "npm is not installed, and it is needed to build the web app that the coffee binary embeds. \
             Install Node.js 20 or later with npm (e.g. `apt-get install nodejs npm`, or from nodejs.org), \
             then build again.",
        );
    }
    if !frontend.join("node_modules").is_dir() {
        npm(&frontend, &["ci", "--no-audit", "--no-fund"]);
    }
    npm(&frontend, &["run", "build"]);
    if !index.is_file() {
        fail(&format!("`npm run build` finished but {} is missing", index.display()));
    }
}

fn npm(dir: &Path, args: &[&str]) {
    let status = Command::new("npm")
        .args(args)
        .current_dir(dir)
        // Anything on stdout would be read by cargo as build-script instructions.
        .stdout(Stdio::from(std::io::stderr()))
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => fail(&format!("`npm {}` in {} failed ({s}); its output is above", args.join(" "), dir.display())),
        Err(e) => fail(&format!("cannot run `npm {}` in {}: {e}", args.join(" "), dir.display())),
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file, or of any file under a directory.
fn newest(path: &Path) -> Option<SystemTime> {
    let own = modified(path);
    let Ok(entries) = std::fs::read_dir(path) else {
        return own;
    };
    entries.filter_map(Result::ok).filter_map(|e| newest(&e.path())).chain(own).max()
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
