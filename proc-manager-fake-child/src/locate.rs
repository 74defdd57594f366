//! Finding the `fake-child` binary from tests of any package, building it
//! once when it is missing or older than its sources.
//!
//! Only locating and building live here.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

use proc_manager_bootstrap::BootstrapCommand;

/// Overrides where the `fake-child` binary is.
pub const FAKE_CHILD_ENV: &str = "PROC_MANAGER_FAKE_CHILD";

const BIN: &str = "fake-child";

/// The path of the `fake-child` binary.
///
/// In order: [`FAKE_CHILD_ENV`] if set; the binary in the target profile
/// dir of the running test (`target/<profile>/fake-child`, next to
/// `deps/`) if it is newer than the sources it is built from; otherwise it
/// is built once per process with `$CARGO build --bin fake-child` into the
/// same target dir and profile.
///
/// ```no_run
/// let program = proc_manager_fake_child::path()?;
/// assert!(program.ends_with("fake-child"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn path() -> io::Result<PathBuf> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND
        .get_or_init(locate)
        .clone()
        .map_err(|e| io::Error::new(io::ErrorKind::NotFound, e))
}

/// A [`BootstrapCommand`] running `fake-child`. If it cannot be found or
/// built, the command names where it should be (spawning then fails with
/// that path in the error) and the reason is logged.
pub fn command() -> BootstrapCommand {
    match path() {
        Ok(program) => BootstrapCommand::new(program),
        Err(e) => {
            tracing::error!(error = %e, "cannot locate the fake-child binary");
            let fallback = profile_dir()
                .map(|dir| dir.join(BIN))
                .unwrap_or_else(|_| PathBuf::from(BIN));
            BootstrapCommand::new(fallback)
        }
    }
}

fn locate() -> Result<PathBuf, String> {
    if let Some(program) = std::env::var_os(FAKE_CHILD_ENV) {
        return Ok(PathBuf::from(program));
    }
    let dir = profile_dir().map_err(|e| format!("cannot find the running executable: {e}"))?;
    let candidate = dir.join(BIN);
    if candidate.is_file() && !is_stale(&candidate) {
        return Ok(candidate);
    }
    build(&dir)?;
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(format!(
            "built fake-child but it is not at {}",
            candidate.display()
        ))
    }
}

/// `target/<profile>` of the running executable (tests run from
/// `target/<profile>/deps`, examples from `target/<profile>/examples`).
fn profile_dir() -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or_else(|| io::Error::other("the executable has no parent dir"))?;
    let nested = matches!(
        dir.file_name().and_then(|n| n.to_str()),
        Some("deps" | "examples")
    );
    Ok(match dir.parent() {
        Some(parent) if nested => parent.to_path_buf(),
        _ => dir.to_path_buf(),
    })
}

/// The source dirs the binary is built from.
fn source_dirs() -> [PathBuf; 3] {
    let this = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        this.join("src"),
        this.join("../proc-manager-bootstrap/src"),
        this.join("../proc-manager-core/src"),
    ]
}

fn newest_mtime(dir: &Path, newest: &mut SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            newest_mtime(&path, newest);
        } else if let Ok(modified) = meta.modified() {
            *newest = (*newest).max(modified);
        }
    }
}

/// Whether some source is newer than the binary (a build from an older
/// checkout would speak an older script format).
fn is_stale(binary: &Path) -> bool {
    let Ok(built) = std::fs::metadata(binary).and_then(|m| m.modified()) else {
        return true;
    };
    let mut newest = SystemTime::UNIX_EPOCH;
    for dir in source_dirs() {
        newest_mtime(&dir, &mut newest);
    }
    newest > built
}

fn build(profile_dir: &Path) -> Result<(), String> {
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| format!("{} has no parent", profile_dir.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let mut command = Command::new(&cargo);
    command
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--bin", BIN])
        .arg("--target-dir")
        .arg(target_dir);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(other) => {
            command.args(["--profile", other]);
        }
    }
    tracing::info!(?command, "building fake-child");
    let output = command
        .output()
        .map_err(|e| format!("cannot run {}: {e}", Path::new(&cargo).display()))?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        Err(format!(
            "building fake-child failed ({}): {}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ))
    }
}
