//! Helpers shared by the manager-side integration tests: shell commands as
//! children, bounded waits, process liveness through pidfds, and acting as a
//! bootstrap child from the test itself (reading the payload a child was
//! given from `/proc/<pid>/environ`).
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

pub fn child_env(pid: u32) -> ChildEnv {
    // While the child is in the middle of an exec (`sh -c 'exec …'`) its
    // environ reads empty for a moment: read again until it is there.
    let deadline = std::time::Instant::now() + SHOULD;
    let environ = loop {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        if !environ.is_empty() || std::time::Instant::now() > deadline {
            break environ;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut mode = None;
    let mut log = None;
    for var in environ.split(|&b| b == 0) {
        let var = String::from_utf8_lossy(var);
        if let Some(v) = var.strip_prefix(&format!("{BOOTSTRAP_MODE_ENV}=")) {
            mode = Some(v.to_owned());
        }
        if let Some(v) = var.strip_prefix(&format!("{LOG_CHANNEL_ENV}=")) {
            log = Some(v.to_owned());
        }
    }
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
