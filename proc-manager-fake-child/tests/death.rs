//! `fake-child` scripts about dying: by a signal, by abort with a core
//! dump, and leaving sleeping grandchildren in its process group.

mod support;

use std::os::unix::process::ExitStatusExt as _;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use support::*;

#[tokio::test]
async fn die_by_a_caught_signal_after_writing_stderr() {
    // SIGTERM is handled by the child entry point: the script must restore
    // its default action to die by it.
    let script = FakeChildScript::serving()
        .stderr_lines(1)
        .die_by_signal(libc::SIGTERM);
    let manager = FakeManager::new(Some(&script));
    let child = manager.spawn();
    let (_control, _addr) = manager.hello(&child).await;
    let out = output(child).await;
    assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "stderr line 1\n");
}

#[tokio::test]
async fn die_by_sigkill_and_sigsegv() {
    for signal in [libc::SIGKILL, libc::SIGSEGV] {
        let manager = FakeManager::new(Some(&FakeChildScript::new().die_by_signal(signal)));
        let out = output(manager.spawn()).await;
        assert_eq!(out.status.signal(), Some(signal), "{out:?}");
    }
}

#[tokio::test]
async fn abort_dies_by_sigabrt() {
    let manager = FakeManager::new(Some(&FakeChildScript::new().abort_with_core_dump()));
    let out = output(manager.spawn()).await;
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{out:?}");
    // Whether a core was written depends on the machine (core_pattern,
    // limits). When the kernel writes a plain file relative to the cwd, it
    // must land in the socket dir, not in the test's working directory.
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    let pattern = pattern.trim();
    let relative_file = !pattern.is_empty() && !pattern.starts_with('|') && !pattern.contains('/');
    if out.status.core_dumped() && relative_file {
        let prefix = pattern.split('%').next().unwrap();
        let dumped = std::fs::read_dir(manager.harness.socket_dir())
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with(prefix));
        assert!(dumped, "core file in {:?}", manager.harness.socket_dir());
    }
}

#[tokio::test]
async fn grandchildren_sleep_in_the_same_process_group_after_the_child_exits() {
    let script = FakeChildScript::new()
        .fork_grandchildren(2, std::time::Duration::from_secs(60))
        .exit(4);
    let manager = FakeManager::new(Some(&script));
    let mut command = manager.command();
    command.process_group(0);
    let mut child = command.spawn().unwrap();
    let group = child.id().unwrap() as i32;
    let mut stderr = stderr_lines(&mut child);
    let mut seen = stderr_until(&mut stderr, "grandchild pid").await;
    seen.extend(stderr_until(&mut stderr, "grandchild pid").await);
    assert_eq!(wait(&mut child).await.code(), Some(4));

    let pids: Vec<i32> = seen
        .iter()
        .filter_map(|l| l.strip_prefix("fake-child: grandchild pid "))
        .map(|pid| pid.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "{seen:?}");
    for pid in &pids {
        // Alive, and in the child's group: `pgrp` is field 5 of stat.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        let pgrp: i32 = after_comm.split(' ').nth(2).unwrap().parse().unwrap();
        assert_eq!(pgrp, group, "{stat}");
        assert!(stat.contains("(sleep)"), "{stat}");
    }
    // They still hold the stderr pipe; clean up the group.
    nix::sys::signal::killpg(Pid::from_raw(group), Signal::SIGKILL).unwrap();
    let rest = tokio::time::timeout(LONG, async {
        while stderr.next_line().await.unwrap().is_some() {}
    })
    .await;
    assert!(rest.is_ok(), "the pipe closes once the group is gone");
}
