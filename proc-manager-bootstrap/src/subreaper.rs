//! Subreaper: with `builder.subreaper(true)` (or automatically when the
//! manager is PID 1) the manager's process becomes a child subreaper
//! (`PR_SET_CHILD_SUBREAPER`), so orphans of its procs are reparented to it
//! instead of to init, and it reaps them: a manager running as a
//! container's PID 1 leaves no zombie.
//!
//! # Which zombies are reaped, and the race
//!
//! Our own proc leaders are reaped by their exit monitors (`waitid` on
//! their pidfds), never here: reaping one here would steal its exit
//! status. So a pass lists this process's children (from
//! `/proc/self/task/*/children`), keeps the zombies, and reaps, with
//! `waitid(P_PID, pid, WNOHANG)`, only those that
//! - are not a proc leader in the group table, nor the guardian, and
//! - are an orphan of one of our procs: in one of our proc cgroups, or in
//!   the process group of one of our live procs; or any zombie at all when
//!   we are PID 1 (everything in the container is then ours to reap, as
//!   with tini).
//!
//! The race: a child just forked is not in the table until the thread
//! that forked it records it. A pass and a spawn therefore hold the same
//! lock ([`spawn_lock`]) from listing to reaping, and from
//! the `clone` to the table insert, so a pass never sees a leader the table
//! does not know yet. Children started by other code in this process (std
//! or tokio `Command`) are left alone unless we are PID 1, where reaping
//! them is the price of leaving no zombie: such code sees `ECHILD`.
//! Passes run on `SIGCHLD` (tokio's signal stream) on the runtime of the
//! first spawn.

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard, Weak};

use crate::table::GroupTable;

/// One child of this process, as read from `/proc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChildInfo {
    pub(crate) pid: u32,
    pub(crate) zombie: bool,
    pub(crate) pgid: u32,
    /// Its cgroup v2 path (the `0::` line), if readable.
    pub(crate) cgroup: Option<String>,
}

/// What a pass knows about the manager.
#[derive(Debug)]
pub(crate) struct Owners<'a> {
    /// Proc leaders (their monitors reap them), and the guardian.
    pub(crate) leaders: &'a HashSet<u32>,
    /// The manager cgroup's name (`proc-manager-…`, unique per manager).
    pub(crate) cgroup: Option<&'a str>,
    pub(crate) pid1: bool,
}

/// Whether a pass reaps `child` (see the module docs).
pub(crate) fn should_reap(child: &ChildInfo, owners: &Owners<'_>) -> bool {
    if !child.zombie || owners.leaders.contains(&child.pid) {
        return false;
    }
    let in_our_cgroup = match (&child.cgroup, owners.cgroup) {
        (Some(theirs), Some(ours)) => theirs.split('/').any(|part| part == ours),
        _ => false,
    };
    owners.pid1 || in_our_cgroup || owners.leaders.contains(&child.pgid)
}

/// Held by a pass from listing to reaping and by a spawn from `clone` to
/// the table insert (spawns share it: uncontended unless a pass runs).
pub(crate) fn spawn_lock() -> RwLockReadGuard<'static, ()> {
    SPAWN_LOCK.read().unwrap_or_else(|p| p.into_inner())
}

/// Held for reading by each spawn (spawns run in parallel) and
/// for writing by a subreaper pass, which so sees no child that is not yet
/// in the table.
static SPAWN_LOCK: RwLock<()> = RwLock::new(());

/// One pass: reaps the zombie orphans of our procs; how many.
pub(crate) fn pass(table: &GroupTable, guardian: Option<u32>, cgroup_name: Option<&str>) -> usize {
    let _lock = SPAWN_LOCK.write().unwrap_or_else(|p| p.into_inner());
    let mut leaders: HashSet<u32> = table.pids().into_iter().collect();
    leaders.extend(guardian);
    let owners = Owners {
        leaders: &leaders,
        cgroup: cgroup_name,
        pid1: is_pid1(),
    };
    children()
        .iter()
        .filter(|child| should_reap(child, &owners))
        .filter(|child| reap(child.pid))
        .inspect(|child| tracing::debug!(pid = child.pid, "reaped an orphan"))
        .count()
}

/// Reaps orphans on every `SIGCHLD`, on the current runtime, while the
/// manager's table lives.
pub(crate) fn start_reaping(
    table: Weak<GroupTable>,
    guardian: Option<u32>,
    cgroup_name: Option<String>,
) {
    let mut signals = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child()) {
        Ok(signals) => signals,
        Err(err) => {
            tracing::warn!(%err, "cannot listen for SIGCHLD; orphans are not reaped");
            return;
        }
    };
    tokio::spawn(async move {
        loop {
            let Some(table) = table.upgrade() else { return };
            pass(&table, guardian, cgroup_name.as_deref());
            drop(table);
            if signals.recv().await.is_none() {
                return;
            }
        }
    });
}

/// Makes this process a child subreaper.
pub(crate) fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether this process is PID 1 (of its pid namespace).
pub(crate) fn is_pid1() -> bool {
    std::process::id() == 1
}

/// This process's children.
pub(crate) fn children() -> Vec<ChildInfo> {
    let mut pids = HashSet::new();
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
                pids.extend(
                    text.split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
    }
    pids.into_iter().filter_map(read_child).collect()
}

fn read_child(pid: u32) -> Option<ChildInfo> {
    let dir = Path::new("/proc").join(pid.to_string());
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    let (_, after) = stat.rsplit_once(')')?;
    let mut fields = after.split_whitespace();
    let state = fields.next()?;
    let pgid = fields.nth(1)?.parse().ok()?;
    let cgroup = std::fs::read_to_string(dir.join("cgroup"))
        .ok()
        .and_then(|text| crate::cgroup::discover::v2_path(&text).map(str::to_owned));
    Some(ChildInfo {
        pid,
        zombie: state == "Z",
        pgid,
        cgroup,
    })
}

/// Reaps `pid` if it has exited; whether it did.
pub(crate) fn reap(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    let options = rustix::process::WaitIdOptions::EXITED | rustix::process::WaitIdOptions::NOHANG;
    matches!(
        rustix::process::waitid(rustix::process::WaitId::Pid(pid), options),
        Ok(Some(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(pid: u32, zombie: bool, pgid: u32, cgroup: Option<&str>) -> ChildInfo {
        ChildInfo {
            pid,
            zombie,
            pgid,
            cgroup: cgroup.map(str::to_owned),
        }
    }

    #[test]
    fn reaps_only_zombie_orphans_of_our_procs() {
        let leaders: HashSet<u32> = [10, 20].into();
        let owners = Owners {
            leaders: &leaders,
            cgroup: Some("proc-manager-1.2-ab"),
            pid1: false,
        };
        // Our own leader, even as a zombie: its monitor reaps it.
        assert!(!should_reap(&child(10, true, 10, None), &owners));
        // A live orphan: nothing to reap yet.
        assert!(!should_reap(&child(30, false, 10, None), &owners));
        // A zombie orphan in a proc's group, or in a proc cgroup.
        assert!(should_reap(&child(31, true, 20, None), &owners));
        assert!(should_reap(
            &child(32, true, 32, Some("/x/proc-manager-1.2-ab/p3")),
            &owners
        ));
        // Not ours: another cgroup that merely shares the prefix, or a
        // child someone else in this process started.
        assert!(!should_reap(
            &child(33, true, 33, Some("/proc-manager-1.2-abc/p0")),
            &owners
        ));
        assert!(!should_reap(&child(34, true, 1, Some("/")), &owners));
    }

    #[test]
    fn as_pid1_every_zombie_but_our_leaders_is_reaped() {
        let leaders: HashSet<u32> = [10].into();
        let owners = Owners {
            leaders: &leaders,
            cgroup: None,
            pid1: true,
        };
        assert!(should_reap(&child(34, true, 1, Some("/")), &owners));
        assert!(!should_reap(&child(10, true, 10, None), &owners));
    }
}
