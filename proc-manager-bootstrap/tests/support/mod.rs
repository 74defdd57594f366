//! Helpers shared by the manager-side integration tests: shell commands as
//! children, bounded waits, process liveness through pidfds, and acting as a
//! bootstrap child from the test itself (reading the payload a child was
//! given from `/proc/<pid>/environ`, in single-read snapshots that cannot
//! span the child's exec).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proc_manager_bootstrap::protocol::{
    BOOTSTRAP_MODE_ENV, Bootstrap, ChildFrame, LOG_CHANNEL_ENV, write_frame,
};
use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcHandle, BootstrapProcManager, ChannelAddr, ChannelTransport,
    LogLine, LogSink, ProcHandle, ProcId,
};
use tokio::io::unix::AsyncFd;
use tokio::net::UnixStream;

/// Generous bound for things that should happen.
pub const SHOULD: Duration = Duration::from_secs(20);

pub fn sh(script: &str) -> BootstrapCommand {
    BootstrapCommand::new("/bin/sh").args(["-c", script])
}

pub fn id(name: &str) -> ProcId {
    ProcId::new(name).unwrap()
}

pub fn backend() -> ChannelAddr {
    ChannelAddr::any(ChannelTransport::Unix)
}

/// Awaits `fut` within `limit` or panics naming `what`.
pub async fn within<T>(limit: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: not done within {limit:?}"),
    }
}

pub async fn wait_end(handle: &BootstrapProcHandle) -> proc_manager_bootstrap::ProcStatus {
    within(SHOULD, "proc end", handle.wait()).await.unwrap()
}

/// Whether `pid` names a live (non-zombie) process.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X") | None)
        }
        Err(_) => false,
    }
}

/// Waits (through a pidfd, no polling) until `pid` has exited.
pub async fn wait_gone(pid: u32, limit: Duration) {
    let Some(raw) = rustix::process::Pid::from_raw(pid as i32) else {
        return;
    };
    let fd = match rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(_) => return, // already gone
    };
    struct Fd(std::os::fd::OwnedFd);
    impl AsRawFd for Fd {
        fn as_raw_fd(&self) -> std::os::fd::RawFd {
            self.0.as_raw_fd()
        }
    }
    // SAFETY: `Fd` owns the pidfd for the life of the AsyncFd.
    let afd = unsafe { AsyncFd::register_with_interest(Fd(fd), tokio::io::Interest::READABLE) }
        .map_err(|e| e.into_parts().1)
        .unwrap();
    within(limit, &format!("pid {pid} to exit"), afd.readable())
        .await
        .unwrap()
        .retain_ready();
}

/// A sink collecting every line.
#[derive(Clone, Default)]
pub struct Collect(pub Arc<Mutex<Vec<LogLine>>>);

impl Collect {
    pub fn sink(&self) -> Arc<dyn LogSink> {
        let lines = self.0.clone();
        Arc::new(move |line: &LogLine| lines.lock().unwrap().push(line.clone()))
    }

    pub fn lines(&self) -> Vec<LogLine> {
        self.0.lock().unwrap().clone()
    }
}

/// The payload and log channel a child was started with.
pub struct ChildEnv {
    pub token: String,
    pub callback: std::path::PathBuf,
    pub socket_dir: std::path::PathBuf,
    pub parent_pid: u32,
    pub config: Option<serde_json::Value>,
    pub log_channel: std::path::PathBuf,
    pub proc_id: ProcId,
}

/// One consistent snapshot of `/proc/<pid>/environ`: the bytes one `read`
/// returns (the kernel serves a single read from one address space, so it
/// cannot span an exec; several reads, as `std::fs::read` makes, can, and
/// then come back truncated). `None` if the buffer was too small.
fn environ_snapshot(pid: u32, capacity: usize) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut file = std::fs::File::open(format!("/proc/{pid}/environ"))?;
    let mut buf = vec![0; capacity];
    let n = file.read(&mut buf)?;
    if n == capacity {
        return Ok(None);
    }
    buf.truncate(n);
    Ok(Some(buf))
}

/// The environment of process `pid`, as `KEY=value` byte strings, once a
/// snapshot of it satisfies `complete`. A process in the middle of an exec
/// (`sh -c '…; exec sleep …'`) reads empty for a moment, so snapshots are
/// taken until one is complete, within [`SHOULD`].
pub fn environ_where(pid: u32, complete: impl Fn(&[Vec<u8>]) -> bool) -> Vec<Vec<u8>> {
    let deadline = std::time::Instant::now() + SHOULD;
    let mut capacity = 64 * 1024;
    loop {
        let snapshot = match environ_snapshot(pid, capacity) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                capacity = capacity.saturating_mul(2);
                continue;
            }
            Err(err) => panic!("reading /proc/{pid}/environ: {err}"),
        };
        let vars: Vec<Vec<u8>> = snapshot
            .split(|&b| b == 0)
            .filter(|v| !v.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        if complete(&vars) {
            return vars;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no complete environ for pid {pid} within {SHOULD:?}; last read: {:?}",
            String::from_utf8_lossy(&snapshot)
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The value of `key` in a list of `KEY=value` byte strings.
fn var<'a>(vars: &'a [Vec<u8>], key: &str) -> Option<&'a [u8]> {
    vars.iter()
        .find_map(|v| v.strip_prefix(key.as_bytes())?.strip_prefix(b"="))
}

/// The environment of a bootstrap child: once it holds a payload that
/// decodes and a log channel that parses (see [`environ_where`]).
pub fn environ(pid: u32) -> Vec<Vec<u8>> {
    environ_where(pid, |vars| {
        let payload = var(vars, BOOTSTRAP_MODE_ENV)
            .and_then(|v| std::str::from_utf8(v).ok())
            .is_some_and(|v| Bootstrap::decode(v).is_ok());
        let log = var(vars, LOG_CHANNEL_ENV)
            .and_then(|v| std::str::from_utf8(v).ok())
            .is_some_and(|v| v.parse::<ChannelAddr>().is_ok());
        payload && log
    })
}

pub fn child_env(pid: u32) -> ChildEnv {
    let vars = environ(pid);
    let text = |key: &str| var(&vars, key).map(|v| String::from_utf8_lossy(v).into_owned());
    let mode = text(BOOTSTRAP_MODE_ENV);
    let log = text(LOG_CHANNEL_ENV);
    let payload = Bootstrap::decode(&mode.expect("payload in environ")).unwrap();
    let log: ChannelAddr = log.expect("log channel in environ").parse().unwrap();
    match payload {
        Bootstrap::Proc {
            token,
            callback_addr,
            socket_dir,
            parent_pid,
            config,
            proc_id,
            ..
        } => ChildEnv {
            token,
            callback: callback_addr.as_unix_path().unwrap().to_owned(),
            socket_dir,
            parent_pid,
            config,
            log_channel: log.as_unix_path().unwrap().to_owned(),
            proc_id,
        },
        _ => panic!("unexpected payload"),
    }
}

/// Connects to the callback socket and sends a hello.
pub async fn hello(env: &ChildEnv, token: &str, addr: &str) -> UnixStream {
    let mut stream = UnixStream::connect(&env.callback).await.unwrap();
    let frame = ChildFrame::Hello {
        token: token.to_owned(),
        pid: std::process::id(),
        addr: addr.parse().unwrap(),
    };
    write_frame(&mut stream, &frame).await.unwrap();
    stream
}

/// A manager whose children run `script` under `/bin/sh`.
pub fn manager(script: &str) -> BootstrapProcManager {
    BootstrapProcManager::new(sh(script))
}

/// A manager with a channel sink, for waiting on a child's output.
pub fn watched(script: &str) -> (BootstrapProcManager, proc_manager_bootstrap::ChannelSink) {
    watched_with(proc_manager_bootstrap::BootstrapProcManager::builder(sh(
        script,
    )))
}

pub fn watched_with(
    builder: proc_manager_bootstrap::BootstrapProcManagerBuilder,
) -> (BootstrapProcManager, proc_manager_bootstrap::ChannelSink) {
    let sink = proc_manager_bootstrap::ChannelSink::new(4096);
    (builder.sink(Arc::new(sink.clone())).build(), sink)
}

/// Waits until `done()` holds, looking every 10 ms, within [`SHOULD`]:
/// for what the manager does in the background after an end (removing a
/// proc's dir and cgroup), which has no event to wait on.
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    within(SHOULD, what, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

/// Waits until proc `proc` writes the line `text`.
pub async fn wait_line(rx: &mut tokio::sync::broadcast::Receiver<LogLine>, proc: &str, text: &str) {
    within(SHOULD, &format!("{proc} to print {text:?}"), async {
        loop {
            let line = rx.recv().await.unwrap();
            if line.proc_id.as_str() == proc && line.text() == text {
                return;
            }
        }
    })
    .await
}

/// Whether this machine gives managers a cgroup per proc; says so loudly
/// when it does not (the caller then checks nothing that needs one).
pub fn cgroups_here() -> bool {
    let probe = BootstrapProcManager::builder(sh("true")).build();
    let here = probe.containment() == proc_manager_bootstrap::Containment::Cgroup;
    if !here {
        eprintln!(
            "!!! NO WRITABLE CGROUP V2 ON THIS MACHINE: cgroup containment is not checked here \
             (Auto fell back to {})",
            probe.containment()
        );
    }
    here
}
