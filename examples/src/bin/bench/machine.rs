//! What the bench knows about the machine it runs on: CPUs, the open-files
//! limit, where sockets go and on what file system, and how busy the machine
//! was at the start and at the end of the run ([`Load`]), so a table taken
//! on a loaded machine says so.
//!
//! Measuring is the scenarios' business; printing is `report.rs`'s.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// How busy the machine is at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Load {
    /// The 1-minute load average (`/proc/loadavg`).
    pub(crate) load1: f64,
    /// The share of the last 10 s in which some task waited for a CPU, in
    /// percent (`/proc/pressure/cpu`, `some avg10`); NaN where the kernel
    /// has no pressure information.
    pub(crate) cpu_pressure: f64,
}

impl Load {
    /// Reads the load now (NaN figures where unreadable).
    pub(crate) fn now() -> Self {
        Self {
            load1: load1(&std::fs::read_to_string("/proc/loadavg").unwrap_or_default()),
            cpu_pressure: some_avg10(
                &std::fs::read_to_string("/proc/pressure/cpu").unwrap_or_default(),
            ),
        }
    }
}

fn load1(loadavg: &str) -> f64 {
    loadavg
        .split_whitespace()
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or(f64::NAN)
}

fn some_avg10(pressure: &str) -> f64 {
    pressure
        .lines()
        .find(|l| l.starts_with("some "))
        .and_then(|l| l.split_whitespace().find_map(|f| f.strip_prefix("avg10=")))
        .and_then(|x| x.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The machine a run was taken on.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Machine {
    /// `quick` or `full`.
    pub(crate) size: &'static str,
    pub(crate) cpus: usize,
    /// The soft `RLIMIT_NOFILE` the run had.
    pub(crate) nofile: u64,
    /// Where sockets go, and whether that is tmpfs.
    pub(crate) sockets: PathBuf,
    pub(crate) sockets_fs: &'static str,
    pub(crate) load_at_start: Load,
    /// Filled in when the run ends.
    pub(crate) load_at_end: Option<Load>,
}

impl Machine {
    /// The machine now, at the start of a run.
    pub(crate) fn at_start(quick: bool, nofile: u64, sockets: PathBuf) -> Self {
        Self {
            size: if quick { "quick" } else { "full" },
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            nofile,
            sockets_fs: fs_kind(&sockets),
            sockets,
            load_at_start: Load::now(),
            load_at_end: None,
        }
    }

    /// The load above which the run counts as taken on a busy machine:
    /// half a runnable task per CPU.
    pub(crate) fn busy_threshold(&self) -> f64 {
        self.cpus as f64 * 0.5
    }

    /// Whether the machine was busy at the start or at the end.
    pub(crate) fn busy(&self) -> bool {
        let over = |l: &Load| l.load1 > self.busy_threshold();
        over(&self.load_at_start) || self.load_at_end.as_ref().is_some_and(over)
    }

    /// One line saying what the machine is and how busy it was.
    pub(crate) fn header(&self) -> String {
        let load = |l: &Load| format!("{:.2} (CPU pressure {:.0} %)", l.load1, l.cpu_pressure);
        let end = match &self.load_at_end {
            Some(l) => format!(", at end {}", load(l)),
            None => String::new(),
        };
        let verdict = if self.busy() {
            format!(
                " -- BUSY (load > {:.1}): the absolute figures are unreliable, the ratios less so",
                self.busy_threshold()
            )
        } else {
            String::new()
        };
        format!(
            "proc-manager bench ({}), {} cpus, RLIMIT_NOFILE {}, sockets under {} ({}); load \
             average at start {}{end}{verdict}",
            self.size,
            self.cpus,
            self.nofile,
            self.sockets.display(),
            self.sockets_fs,
            load(&self.load_at_start),
        )
    }
}

/// Whether `dir` is on tmpfs: sockets on a disk file system make every
/// spawn slower (see BENCH.md).
fn fs_kind(dir: &Path) -> &'static str {
    match nix::sys::statfs::statfs(dir) {
        Ok(fs) if fs.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC => "tmpfs",
        Ok(_) => "not tmpfs",
        Err(_) => "unknown file system",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_loadavg_and_pressure() {
        assert_eq!(load1("2.41 1.47 0.71 3/512 1234\n"), 2.41);
        assert!(load1("").is_nan());
        let psi = "some avg10=12.50 avg60=3.00 avg300=1.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(some_avg10(psi), 12.5);
        assert!(some_avg10("").is_nan());
    }

    #[test]
    fn busy_at_either_end() {
        let quiet = Load {
            load1: 0.4,
            cpu_pressure: 0.0,
        };
        let loaded = Load {
            load1: 3.0,
            cpu_pressure: 50.0,
        };
        let mut m = Machine {
            size: "full",
            cpus: 2,
            nofile: 1024,
            sockets: PathBuf::from("/dev/shm"),
            sockets_fs: "tmpfs",
            load_at_start: quiet,
            load_at_end: Some(quiet),
        };
        assert!(!m.busy());
        assert!(!m.header().contains("BUSY"));
        m.load_at_end = Some(loaded);
        assert!(m.busy());
        assert!(m.header().contains("BUSY"));
        m.load_at_start = loaded;
        m.load_at_end = Some(quiet);
        assert!(m.busy());
    }
}
