//! A hand-written stand-in for the manager, for driving `fake-child`
//! directly: a private dir, callback and log listeners, a payload.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use proc_manager_bootstrap::protocol::{
    BOOTSTRAP_MODE_ENV, Bootstrap, ChildFrame, LOG_CHANNEL_ENV, ManagerFrame, PROTOCOL_VERSION,
    generate_token, read_frame, write_frame,
};
use proc_manager_bootstrap::{ChannelAddr, ProcId};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::net::{UnixListener, UnixStream};
use tokio::process::{Child, ChildStderr, Command};

pub use proc_manager_testkit::fake_child::FakeChildScript;

pub const PROGRAM: &str = env!("CARGO_BIN_EXE_fake-child");

/// Generous bound for things that should happen.
pub const LONG: Duration = Duration::from_secs(20);

pub struct FakeManager {
    pub dir: PathBuf,
    pub callback: UnixListener,
    pub log: UnixListener,
    pub log_addr: ChannelAddr,
    pub payload: Bootstrap,
    pub token: String,
    pub socket_dir: PathBuf,
}

impl Drop for FakeManager {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl FakeManager {
    pub fn new(script: Option<&FakeChildScript>) -> Self {
        Self::with_config(script.map(FakeChildScript::to_config))
    }

    pub fn with_config(config: Option<serde_json::Value>) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = PathBuf::from(format!("/tmp/pmfc-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let socket_dir = dir.join("proc");
        std::fs::create_dir_all(&socket_dir).unwrap();
        let callback_path = dir.join("cb.sock");
        let log_path = dir.join("log.sock");
        let token = generate_token().unwrap();
        let payload = Bootstrap::Proc {
            version: PROTOCOL_VERSION,
            proc_id: ProcId::new("fake").unwrap(),
            backend_addr: "tcp:127.0.0.1:9".parse().unwrap(),
            callback_addr: ChannelAddr::unix(&callback_path).unwrap(),
            socket_dir: socket_dir.clone(),
            parent_pid: std::process::id(),
            token: token.clone(),
            config,
        };
        Self {
            callback: UnixListener::bind(&callback_path).unwrap(),
            log: UnixListener::bind(&log_path).unwrap(),
            log_addr: ChannelAddr::unix(&log_path).unwrap(),
            payload,
            token,
            socket_dir,
            dir,
        }
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(PROGRAM);
        command
            .env(BOOTSTRAP_MODE_ENV, self.payload.encode().unwrap())
            .env(LOG_CHANNEL_ENV, self.log_addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    pub fn spawn(&self) -> Child {
        self.command().spawn().unwrap()
    }

    /// Accepts one callback connection and reads its first frame.
    pub async fn accept(&self) -> (Conn, ChildFrame) {
        let (stream, _) = tokio::time::timeout(LONG, self.callback.accept())
            .await
            .expect("no call-back in time")
            .unwrap();
        let mut conn = Conn {
            stream: BufReader::new(stream),
            buf: Vec::new(),
        };
        let frame = conn.read().await.expect("a first frame");
        (conn, frame)
    }

    /// Accepts the hello and checks its token; returns the control
    /// connection and the ready address.
    pub async fn hello(&self, child: &Child) -> (Conn, ChannelAddr) {
        let (conn, frame) = self.accept().await;
        let ChildFrame::Hello { token, pid, addr } = frame else {
            panic!("expected a hello, got {frame:?}");
        };
        assert_eq!(token, self.token);
        assert_eq!(Some(pid), child.id());
        (conn, addr)
    }

    pub async fn accept_log(&self) -> Conn {
        let (stream, _) = tokio::time::timeout(LONG, self.log.accept())
            .await
            .expect("no log connection in time")
            .unwrap();
        Conn {
            stream: BufReader::new(stream),
            buf: Vec::new(),
        }
    }

    /// No call-back is waiting (meaningful once the child has exited).
    pub fn no_call_back_pending(&self) -> bool {
        // Accept on a non-blocking duplicate of the listening socket.
        let std = callback_to_std(&self.callback);
        matches!(std.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }
}

fn callback_to_std(listener: &UnixListener) -> std::os::unix::net::UnixListener {
    use std::os::fd::AsFd;
    let fd = listener.as_fd().try_clone_to_owned().unwrap();
    let std = std::os::unix::net::UnixListener::from(fd);
    std.set_nonblocking(true).unwrap();
    std
}

/// The manager's end of a callback or log connection.
pub struct Conn {
    pub stream: BufReader<UnixStream>,
    buf: Vec<u8>,
}

impl Conn {
    pub async fn read(&mut self) -> Option<ChildFrame> {
        tokio::time::timeout(LONG, read_frame(&mut self.stream, &mut self.buf))
            .await
            .expect("no frame in time")
            .unwrap()
    }

    pub async fn stop(&mut self, reason: &str) {
        let frame = ManagerFrame::Stop {
            reason: reason.into(),
        };
        write_frame(self.stream.get_mut(), &frame).await.unwrap();
    }
}

/// Reads stderr lines until one contains `needle` (bounded); returns the
/// lines read so far.
pub async fn stderr_until(lines: &mut Lines<BufReader<ChildStderr>>, needle: &str) -> Vec<String> {
    let mut seen = Vec::new();
    tokio::time::timeout(LONG, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return;
            }
        }
        panic!("stderr ended before {needle:?}: {seen:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("no {needle:?} on stderr in time"));
    seen
}

pub fn stderr_lines(child: &mut Child) -> Lines<BufReader<ChildStderr>> {
    BufReader::new(child.stderr.take().unwrap()).lines()
}

pub async fn wait(child: &mut Child) -> std::process::ExitStatus {
    tokio::time::timeout(LONG, child.wait())
        .await
        .expect("child did not exit in time")
        .unwrap()
}

pub async fn output(child: Child) -> std::process::Output {
    tokio::time::timeout(LONG, child.wait_with_output())
        .await
        .expect("child did not exit in time")
        .unwrap()
}

pub fn signal(child: &Child, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, signal).unwrap();
}

/// Sends one line to an echo address and returns what comes back.
pub async fn echo_round_trip(addr: &ChannelAddr, line: &str) -> Option<String> {
    use tokio::io::AsyncWriteExt;
    let stream = UnixStream::connect(addr.as_unix_path().unwrap())
        .await
        .unwrap();
    let (read, mut write) = stream.into_split();
    write
        .write_all(format!("{line}\n").as_bytes())
        .await
        .unwrap();
    let mut lines = BufReader::new(read).lines();
    tokio::time::timeout(LONG, lines.next_line())
        .await
        .unwrap()
        .unwrap()
}
