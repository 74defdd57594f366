//! Containment with real processes: children that `setsid` or double-fork
//! away are contained under `Cgroup` and `Auto` (stopping, killing, the
//! leader's exit and `Drop` reach them; the proc ends only once its cgroup
//! is empty; the cgroup is removed), and do escape under `ProcessGroup`
//! (asserted, then cleaned up here). Bad cgroup settings are clear errors.
//!
//! Where this machine has no writable cgroup v2, the cgroup checks print a
//! loud line on stderr and assert the fallback instead.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use proc_manager_bootstrap::{
    BootstrapProcManager, Containment, ProcHandle, ProcManager, ProcStatus, SpawnError,
};
use support::*;

fn manager(containment: Containment, script: &str) -> BootstrapProcManager {
    BootstrapProcManager::builder(sh(script))
        .containment(containment)
        .build()
}

/// Waits (bounded) for `path` to hold a pid, written by the child.
async fn pid_in(path: &Path) -> u32 {
    within(SHOULD, "the child to write its escaper's pid", async {
        loop {
            if let Ok(text) = std::fs::read_to_string(path) {
                if let Ok(pid) = text.trim().parse() {
                    return pid;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

fn kill(pid: u32) {
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::KILL,
    );
}

/// The cgroup v2 directory of a live process, from its `0::` line and the
/// `cgroup2` mount in our mountinfo.
fn cgroup_dir_of(pid: u32) -> PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let path = text.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mount = mountinfo
        .lines()
        .find(|l| {
            l.split(" - ")
                .nth(1)
                .is_some_and(|r| r.starts_with("cgroup2 "))
        })
        .and_then(|l| l.split_whitespace().nth(4))
        .unwrap();
    Path::new(mount).join(path.trim_start_matches('/'))
}

/// What an escaper runs once it is in its own session: it writes its pid
/// (so the file appears only after the escape) and sleeps.
fn escaped(pid_file: &Path) -> String {
    format!(
        "setsid sh -c 'echo $$ > {}.tmp && mv {0}.tmp {0}; exec sleep 300'",
        pid_file.display()
    )
}

/// A script whose child leaves the process group with `setsid` and whose
/// leader stays.
fn setsid_escaper(pid_file: &Path) -> String {
    format!("{} & wait", escaped(pid_file))
}

/// A script that daemonizes: a subshell starts a `setsid` grandchild and
/// exits; the leader exits as soon as the grandchild has escaped.
fn double_fork_escaper(pid_file: &Path) -> String {
    format!(
        "({} &); until [ -f {} ]; do sleep 0.01; done; exit 0",
        escaped(pid_file),
        pid_file.display()
    )
}

#[tokio::test]
async fn setsid_escaper_is_killed_with_its_proc_under_cgroup_and_auto() {
    if !cgroups_here() {
        return;
    }
    for containment in [Containment::Cgroup, Containment::Auto] {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let manager = manager(containment, &setsid_escaper(&pid_file));
        assert_eq!(manager.containment(), Containment::Cgroup);
        let handle = manager.spawn(id("escaper"), backend()).await.unwrap();
        let escaper = pid_in(&pid_file).await;
        assert!(alive(escaper));
        let status = within(SHOULD, "kill", handle.kill()).await.unwrap();
        assert!(
            matches!(status, ProcStatus::Killed { signal: 9, .. }),
            "{status}"
        );
        // Terminal only once the cgroup is empty: the escaper is already dead.
        assert!(
            !alive(escaper),
            "{containment:?}: the setsid child survived kill()"
        );
    }
}

#[tokio::test]
async fn double_fork_daemon_dies_with_the_leader_and_the_cgroup_goes() {
    if !cgroups_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let script = format!(
        "cat /proc/self/cgroup > {0}.cg; {1}",
        pid_file.display(),
        double_fork_escaper(&pid_file)
    );
    let manager = manager(Containment::Auto, &script);
    let handle = manager.spawn(id("daemon"), backend()).await.unwrap();
    let leader = handle.pid().unwrap();
    let status = wait_end(&handle).await;
    assert!(
        matches!(status, ProcStatus::Stopped { exit_code: 0, .. }),
        "{status}"
    );
    let daemon = pid_in(&pid_file).await;
    assert!(
        !alive(daemon),
        "the daemonized grandchild outlived its proc"
    );
    // The proc's cgroup is removed once it has ended (in the background,
    // after the terminal status).
    let cg_line = std::fs::read_to_string(format!("{}.cg", pid_file.display())).unwrap();
    let rel = cg_line.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
    let own = cgroup_dir_of(std::process::id());
    let own_rel = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own_rel = own_rel.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
    let proc_dir = own.join(rel.strip_prefix(own_rel).unwrap().trim_start_matches('/'));
    assert!(rel.ends_with("/p0"), "{rel} (leader {leader})");
    eventually(&format!("{} removed", proc_dir.display()), || {
        !proc_dir.exists()
    })
    .await;
    let manager_dir = proc_dir.parent().unwrap().to_path_buf();
    assert!(
        manager_dir.is_dir(),
        "the manager cgroup lives with the manager"
    );
    drop(manager);
    assert!(
        !manager_dir.exists(),
        "{} survived the manager",
        manager_dir.display()
    );
}

#[tokio::test]
async fn a_kept_daemon_keeps_its_proc_alive_until_stopped() {
    if !cgroups_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let manager = BootstrapProcManager::builder(sh(&double_fork_escaper(&pid_file)))
        .containment(Containment::Cgroup)
        .kill_process_group_on_exit(false)
        .build();
    let handle = manager.spawn(id("kept"), backend()).await.unwrap();
    let daemon = pid_in(&pid_file).await;
    // The leader has exited, the daemon lives on: the proc is not over.
    let early = tokio::time::timeout(Duration::from_millis(300), handle.wait()).await;
    assert!(early.is_err(), "ended with its cgroup populated: {early:?}");
    assert!(handle.status().is_alive(), "{}", handle.status());
    assert!(alive(daemon));
    let status = within(
        SHOULD,
        "terminate",
        handle.terminate(Duration::from_millis(200), "x"),
    )
    .await
    .unwrap();
    assert!(status.is_exit(), "{status}");
    assert!(!alive(daemon), "terminate() did not reach the daemon");
}

#[tokio::test]
async fn dropping_the_manager_kills_every_escaper() {
    if !cgroups_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    // One command; each proc gets its script by env.
    let manager = BootstrapProcManager::builder(sh("eval \"$SCRIPT\""))
        .kill_process_group_on_exit(false)
        .build();
    for (name, script) in [
        ("one", setsid_escaper(&a)),
        ("two", double_fork_escaper(&b)),
    ] {
        let config = proc_manager_bootstrap::BootstrapProcConfig::default().env("SCRIPT", script);
        manager
            .spawn_with(id(name), backend(), config)
            .await
            .unwrap();
    }
    let escapers = [pid_in(&a).await, pid_in(&b).await];
    assert!(escapers.iter().all(|&p| alive(p)));
    drop(manager);
    for pid in escapers {
        assert!(!alive(pid), "{pid} survived the manager's drop");
    }
}

#[tokio::test]
async fn under_process_groups_escapers_do_escape() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let setsid = manager(Containment::ProcessGroup, &setsid_escaper(&a));
    assert_eq!(setsid.containment(), Containment::ProcessGroup);
    let handle = setsid.spawn(id("setsid"), backend()).await.unwrap();
    let first = pid_in(&a).await;
    let status = within(SHOULD, "kill", handle.kill()).await.unwrap();
    assert!(status.is_exit(), "{status}");
    let daemon = manager(Containment::ProcessGroup, &double_fork_escaper(&b));
    let handle = daemon.spawn(id("daemon"), backend()).await.unwrap();
    wait_end(&handle).await;
    let second = pid_in(&b).await;
    drop(setsid);
    drop(daemon);
    // Reported honestly: a process group cannot hold them.
    let escaped = [alive(first), alive(second)];
    kill(first);
    kill(second);
    assert_eq!(
        escaped,
        [true, true],
        "setsid / double-fork children escape process groups"
    );
}

#[tokio::test]
async fn a_cgroup_root_that_is_no_cgroup_is_an_error_naming_it() {
    let not_a_cgroup = tempfile::tempdir().unwrap();
    for containment in [Containment::Cgroup, Containment::Auto] {
        let manager = BootstrapProcManager::builder(sh("true"))
            .containment(containment)
            .cgroup_root(not_a_cgroup.path())
            .build();
        assert_eq!(manager.containment(), Containment::Cgroup);
        let err = manager.spawn(id("nowhere"), backend()).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, SpawnError::BadConfig { .. }), "{err:?}");
        assert!(
            text.contains(&not_a_cgroup.path().display().to_string()),
            "{text}"
        );
        assert!(text.contains("cgroup v2"), "{text}");
    }
}

#[tokio::test]
async fn a_cgroup_root_of_our_own_making_is_used() {
    if !cgroups_here() {
        return;
    }
    // A dir delegated to us: a cgroup we made under our own.
    let own = cgroup_dir_of(std::process::id());
    let root = own.join(format!("pm-test-root-{}", std::process::id()));
    std::fs::create_dir(&root).unwrap();
    let manager = BootstrapProcManager::builder(sh("cat /proc/self/cgroup; exit 3"))
        .containment(Containment::Cgroup)
        .cgroup_root(&root)
        .build();
    let handle = manager.spawn(id("rooted"), backend()).await.unwrap();
    let status = wait_end(&handle).await;
    assert!(
        matches!(status, ProcStatus::Stopped { exit_code: 3, .. }),
        "{status}"
    );
    let line = handle
        .stdout_tail()
        .into_iter()
        .find(|l| l.starts_with("0::"))
        .unwrap();
    let name = root.file_name().unwrap().to_str().unwrap();
    assert!(line.contains(&format!("/{name}/proc-manager-")), "{line}");
    drop(manager);
    std::fs::remove_dir(&root).unwrap();
}
