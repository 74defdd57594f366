//! Test shorthands over [`ChildHarness`] for driving `fake-child`
//! directly: unwrapping, generous timeouts, one script per harness.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

use std::time::Duration;

use proc_manager_bootstrap::ChannelAddr;
use proc_manager_bootstrap::protocol::{Bootstrap, ChildFrame};
pub use proc_manager_fake_child::{ChildHarness, FakeChildScript, HarnessConn};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::UnixStream;
use tokio::process::{Child, ChildStderr, Command};

pub const PROGRAM: &str = env!("CARGO_BIN_EXE_fake-child");

/// Generous bound for things that should happen.
pub const LONG: Duration = Duration::from_secs(20);

pub struct FakeManager {
    pub harness: ChildHarness,
    pub payload: Bootstrap,
}

impl FakeManager {
    pub fn new(script: Option<&FakeChildScript>) -> Self {
        Self::with_config(script.map(FakeChildScript::to_config))
    }

    pub fn with_config(config: Option<serde_json::Value>) -> Self {
        let harness = ChildHarness::new().unwrap();
        let payload = harness.payload(config);
        Self { harness, payload }
    }

    pub fn token(&self) -> &str {
        self.harness.token()
    }

    pub fn command(&self) -> Command {
        self.harness.command(PROGRAM, &self.payload).unwrap()
    }

    pub fn spawn(&self) -> Child {
        self.command().spawn().unwrap()
    }

    pub async fn accept(&self) -> (HarnessConn, ChildFrame) {
        self.harness.accept(LONG).await.unwrap()
    }

    /// Accepts the hello and checks token and pid; returns the control
    /// connection and the ready address.
    pub async fn hello(&self, child: &Child) -> (HarnessConn, ChannelAddr) {
        let (conn, frame) = self.accept().await;
        let ChildFrame::Hello { token, pid, addr } = frame else {
            panic!("expected a hello, got {frame:?}");
        };
        assert_eq!(token, self.token());
        assert_eq!(Some(pid), child.id());
        (conn, addr)
    }

    pub async fn accept_log(&self) -> HarnessConn {
        self.harness.accept_log(LONG).await.unwrap()
    }

    pub fn no_call_back_pending(&self) -> bool {
        !self.harness.call_back_pending().unwrap()
    }
}

pub async fn read(conn: &mut HarnessConn) -> Option<ChildFrame> {
    conn.read(LONG).await.unwrap()
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
