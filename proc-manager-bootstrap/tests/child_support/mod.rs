//! A hand-written stand-in for the manager side, for the child-side tests:
//! a private dir, a callback listener, a log listener and a payload.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use proc_manager_bootstrap::protocol::{
    BOOTSTRAP_MODE_ENV, Bootstrap, ChildFrame, LOG_CHANNEL_ENV, ManagerFrame, PROTOCOL_VERSION,
    generate_token, read_frame, write_frame,
};
use proc_manager_bootstrap::{ChannelAddr, ProcId};
use tokio::io::BufReader;
use tokio::net::{UnixListener, UnixStream};
use tokio::process::{Child, Command};

/// Generous bound for things that should happen.
pub const LONG: Duration = Duration::from_secs(20);

pub struct FakeManager {
    pub dir: tempfile::TempDir,
    pub callback: UnixListener,
    pub callback_addr: ChannelAddr,
    pub log: UnixListener,
    pub log_addr: ChannelAddr,
    pub socket_dir: PathBuf,
    pub token: String,
}

impl FakeManager {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("pmc")
            .tempdir_in("/tmp")
            .unwrap();
        let callback_path = dir.path().join("cb.sock");
        let log_path = dir.path().join("log.sock");
        let socket_dir = dir.path().join("proc");
        std::fs::create_dir(&socket_dir).unwrap();
        Self {
            callback: UnixListener::bind(&callback_path).unwrap(),
            callback_addr: ChannelAddr::unix(&callback_path).unwrap(),
            log: UnixListener::bind(&log_path).unwrap(),
            log_addr: ChannelAddr::unix(&log_path).unwrap(),
            socket_dir,
            token: generate_token().unwrap(),
            dir,
        }
    }

    pub fn payload_for_parent(
        &self,
        parent_pid: u32,
        config: Option<serde_json::Value>,
    ) -> Bootstrap {
        Bootstrap::Proc {
            version: PROTOCOL_VERSION,
            proc_id: ProcId::ranked("child", 1).unwrap(),
            backend_addr: "tcp:127.0.0.1:9".parse().unwrap(),
            callback_addr: self.callback_addr.clone(),
            socket_dir: self.socket_dir.clone(),
            parent_pid,
            token: self.token.clone(),
            config,
        }
    }

    pub fn payload(&self) -> Bootstrap {
        self.payload_for_parent(std::process::id(), None)
    }

    /// Starts `program` with `payload` (already encoded) and the log channel.
    pub fn spawn_raw(&self, program: &str, encoded: Option<&str>) -> Child {
        let mut command = Command::new(program);
        command
            .env_remove(BOOTSTRAP_MODE_ENV)
            .env(LOG_CHANNEL_ENV, self.log_addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(encoded) = encoded {
            command.env(BOOTSTRAP_MODE_ENV, encoded);
        }
        command.spawn().unwrap()
    }

    pub fn spawn(&self, program: &str, payload: &Bootstrap) -> Child {
        self.spawn_raw(program, Some(&payload.encode().unwrap()))
    }

    /// Accepts one callback connection and reads its first frame.
    pub async fn accept_hello(&self) -> (Control, ChildFrame) {
        let (stream, _) = tokio::time::timeout(LONG, self.callback.accept())
            .await
            .expect("no call-back in time")
            .unwrap();
        let mut control = Control {
            stream: BufReader::new(stream),
            buf: Vec::new(),
        };
        let frame = control.read().await.expect("the hello frame");
        (control, frame)
    }

    /// Accepts the log connection and returns its frames as they come.
    pub async fn accept_log(&self) -> Control {
        let (stream, _) = tokio::time::timeout(LONG, self.log.accept())
            .await
            .expect("no log connection in time")
            .unwrap();
        Control {
            stream: BufReader::new(stream),
            buf: Vec::new(),
        }
    }
}

/// The manager's end of a control (or log) connection.
pub struct Control {
    pub stream: BufReader<UnixStream>,
    buf: Vec<u8>,
}

impl Control {
    /// The next child frame, `None` at end of stream.
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

/// Waits (bounded) for the child to exit and returns its exit code.
pub async fn exit_code(child: &mut Child) -> Option<i32> {
    tokio::time::timeout(LONG, child.wait())
        .await
        .expect("child did not exit in time")
        .unwrap()
        .code()
}

/// Waits (bounded) for the child's whole output.
pub async fn output(child: Child) -> std::process::Output {
    tokio::time::timeout(LONG, child.wait_with_output())
        .await
        .expect("child did not exit in time")
        .unwrap()
}
