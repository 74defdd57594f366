//! Sweeping what dead managers left: runtime dirs and manager cgroups whose
//! names carry a [`ManagerStamp`] of a process that no longer exists (the
//! guardian normally removes them; this covers a guardian that died with
//! its manager, e.g. both SIGKILLed at once, or a machine without `/bin/sh`).
//!
//! Only names in the stamped form are touched, and only when the stamp
//! proves the owner dead (pid gone, or held by a process that started at
//! another time), so a live manager's files are never removed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cgroup;
use crate::stamp::ManagerStamp;

/// How long sweeping one dead manager's cgroup waits for it to empty.
const CGROUP_WAIT: Duration = Duration::from_millis(500);

/// The entries of `base` named for a dead manager.
pub(crate) fn dead_entries(base: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            entry.file_type().is_ok_and(|t| t.is_dir())
                && entry
                    .file_name()
                    .to_str()
                    .and_then(ManagerStamp::parse_name)
                    .is_some_and(|stamp| stamp.is_dead())
        })
        .map(|entry| entry.path())
        .collect()
}

/// Removes the runtime dirs of dead managers under each of `bases`, and
/// the manager cgroups of dead managers under `cgroup_base`. Blocking: run
/// it off the async runtime.
pub(crate) fn sweep(bases: &[PathBuf], cgroup_base: Option<&Path>) {
    for base in bases {
        for dir in dead_entries(base) {
            tracing::info!(path = %dir.display(), "removing the runtime dir of a dead manager");
            if let Err(err) = std::fs::remove_dir_all(&dir) {
                tracing::debug!(path = %dir.display(), %err, "cannot remove it");
            }
        }
    }
    if let Some(base) = cgroup_base {
        for dir in dead_entries(base) {
            tracing::info!(path = %dir.display(), "removing the cgroup of a dead manager");
            cgroup::remove_tree(&dir, CGROUP_WAIT);
        }
    }
}

/// Runs [`sweep`] on a short-lived background thread.
pub(crate) fn sweep_in_background(bases: Vec<PathBuf>, cgroup_base: Option<PathBuf>) {
    let spawned = std::thread::Builder::new()
        .name("proc-manager-sweep".into())
        .spawn(move || sweep(&bases, cgroup_base.as_deref()));
    if let Err(err) = spawned {
        tracing::debug!(%err, "cannot start the sweep thread; not sweeping");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stamped_dirs_of_dead_processes_are_swept() {
        let base = tempfile::tempdir().unwrap();
        // A process that existed and is gone: its stamp is dead.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = ManagerStamp::of(child.id());
        child.wait().unwrap();
        let me = ManagerStamp::current();
        let live_dir = base.path().join(me.name("0-aa"));
        let other = base.path().join("proc-manager-1-0-unstamped");
        std::fs::create_dir(&live_dir).unwrap();
        std::fs::create_dir(&other).unwrap();
        let dead_dir = dead.map(|stamp| base.path().join(stamp.name("0-bb")));
        if let Some(dir) = &dead_dir {
            std::fs::create_dir_all(dir.join("p0")).unwrap();
        }
        sweep(&[base.path().to_path_buf()], None);
        assert!(live_dir.is_dir());
        assert!(other.is_dir());
        if let Some(dir) = dead_dir {
            assert!(!dir.exists(), "{} was not swept", dir.display());
        } else {
            panic!("could not read the start time of a child: no /proc?");
        }
    }
}
