//! No stray process: a grandchild left behind is killed when the child
//! exits (and cannot hang the monitor when it is kept), dropping the manager
//! SIGKILLs every live group synchronously and removes the runtime dir, and
//! no manager fd leaks into a child.

#![allow(clippy::unwrap_used)]

mod support;

use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use proc_manager_bootstrap::{
    BootstrapProcManager, Containment, ProcHandle, ProcManager, ProcStatus,
};
use support::*;

fn first_line_pid(handle: &proc_manager_bootstrap::BootstrapProcHandle) -> u32 {
    handle.stdout_tail()[0].trim().parse().unwrap()
}

#[tokio::test]
async fn child_that_forks_a_grandchild_and_exits_leaves_no_grandchild() {
    let manager = manager("sleep 1000 & echo $!; exit 0");
    let handle = manager.spawn(id("forker"), backend()).await.unwrap();
    let start = Instant::now();
    let status = wait_end(&handle).await;
    assert!(
        matches!(status, ProcStatus::Stopped { exit_code: 0, .. }),
        "{status}"
    );
    // The grandchild holds the stdout pipe: killing the group is what lets
    // the drain finish at once instead of at its deadline.
    assert!(
        start.elapsed() < Duration::from_millis(1900),
        "{:?}",
        start.elapsed()
    );
    let grandchild = first_line_pid(&handle);
    wait_gone(grandchild, SHOULD).await;
    assert!(!alive(grandchild));
}

#[tokio::test]
async fn kept_grandchild_holding_the_pipe_does_not_hang_the_monitor() {
    // Process groups: a proc's cgroup, by contract, keeps it alive while
    // anything is left in it (see tests/containment.rs).
    let manager = BootstrapProcManager::builder(sh("sleep 1000 & echo $!; echo bye >&2; exit 5"))
        .kill_process_group_on_exit(false)
        .containment(Containment::ProcessGroup)
        .build();
    let handle = manager.spawn(id("keeper"), backend()).await.unwrap();
    let status = within(
        Duration::from_secs(10),
        "end despite open pipe",
        handle.wait(),
    )
    .await
    .unwrap();
    assert_eq!(
        status,
        ProcStatus::Stopped {
            exit_code: 5,
            stderr_tail: vec!["bye".into()]
        }
    );
    let grandchild = first_line_pid(&handle);
    assert!(alive(grandchild), "kept on request");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(grandchild as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    wait_gone(grandchild, SHOULD).await;
}

#[tokio::test]
async fn terminate_kills_grandchildren_in_the_group() {
    let (manager, sink) = watched("trap '' TERM; sleep 1000 & echo $!; echo armed; wait");
    let mut rx = sink.subscribe();
    let handle = manager.spawn(id("family"), backend()).await.unwrap();
    wait_line(&mut rx, "family", "armed").await;
    let grandchild = first_line_pid(&handle);
    let status = within(
        SHOULD,
        "terminate",
        handle.terminate(Duration::from_millis(300), "x"),
    )
    .await
    .unwrap();
    assert!(
        matches!(status, ProcStatus::Killed { signal: 9, .. }),
        "{status}"
    );
    wait_gone(grandchild, SHOULD).await;
}

#[tokio::test]
async fn dropping_the_manager_kills_every_live_group_and_removes_its_dir() {
    let (manager, sink) = watched("sleep 1000 & echo $!; echo armed; trap '' TERM; wait");
    let mut rx = sink.subscribe();
    let mut pids = Vec::new();
    for i in 0..3 {
        let name = format!("d{i}");
        let handle = manager.spawn(id(&name), backend()).await.unwrap();
        wait_line(&mut rx, &name, "armed").await;
        pids.push(handle.pid().unwrap());
        pids.push(first_line_pid(&handle));
    }
    let dir = manager.socket_dir().to_owned();
    assert!(dir.exists());
    // Drop on a plain thread: no runtime needed.
    std::thread::spawn(move || drop(manager)).join().unwrap();
    assert!(!dir.exists(), "runtime dir removed");
    for pid in pids {
        wait_gone(pid, SHOULD).await;
    }
}

/// Whether `fd` is open in this process without close-on-exec.
fn inheritable(fd: BorrowedFd<'_>) -> bool {
    rustix::io::fcntl_getfd(fd).is_ok_and(|flags| !flags.contains(rustix::io::FdFlags::CLOEXEC))
}

#[tokio::test]
async fn no_manager_fd_leaks_into_a_child() {
    // Other procs first, so the manager holds pipes, sockets and pidfds.
    let busy = manager("exec sleep 1000");
    let mut others = Vec::new();
    for i in 0..3 {
        others.push(busy.spawn(id(&format!("o{i}")), backend()).await.unwrap());
    }
    // And one the manager's process left inheritable, at a number far
    // above the child's stdio (a harness's or a careless library's).
    let stray = rustix::io::fcntl_dupfd_cloexec(std::io::stdin().as_fd(), 700).unwrap();
    rustix::io::fcntl_setfd(&stray, rustix::io::FdFlags::empty()).unwrap();
    assert!(inheritable(stray.as_fd()));
    let manager = manager("ls /proc/$$/fd");
    let handle = manager.spawn(id("fds"), backend()).await.unwrap();
    wait_end(&handle).await;
    let fds: Vec<i32> = handle
        .stdout_tail()
        .iter()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    // `ls` lists the shell's fds: its stdio and nothing else.
    assert_eq!(fds, [0, 1, 2], "the child's fds (stray one: {stray:?})");
    drop(stray);
    for other in others {
        other.kill().await.unwrap();
    }
}
