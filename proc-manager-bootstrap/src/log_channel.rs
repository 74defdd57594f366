//! The manager's log socket (`BOOTSTRAP_LOG_CHANNEL`): one listener per
//! manager ([`LogHub`]) for all its procs. A child connects, presents its
//! token in a `LogHello` (the token says which proc it is), then sends `Log`
//! records, which reach the same sinks as its output lines, tagged
//! [`LogStream::Channel`]. One shared listener instead of one per proc saves
//! a socket, a bind and an unlink per spawn and an fd per live proc.
//!
//! A connection with an unknown or wrong token or a bad frame is dropped
//! with a warning. A proc is known from its spawn until its socket server
//! ends ([`LogRegistration`]); once it has exited, its connections get a
//! short grace period to deliver what is already buffered. The child-side
//! writer is in [`crate::child`].

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use proc_manager_core::{ChannelAddr, LogLine, LogSink, LogStream, ProcId, ProcLog};
use tokio::io::BufReader;
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::protocol::{ChildFrame, read_frame, tokens_match};

/// How long a connection may keep delivering after the proc exited.
const GRACE_AFTER_EXIT: Duration = Duration::from_millis(500);
/// How long a connection may take to present its token.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause after a failed accept, so a persistent error (out of fds)
/// does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// What a log connection needs.
#[derive(Clone)]
pub(crate) struct LogTarget {
    pub(crate) proc_id: ProcId,
    pub(crate) token: Arc<str>,
    pub(crate) sinks: Arc<[Arc<dyn LogSink>]>,
    pub(crate) exited: CancellationToken,
}

/// The procs a log connection may name, by token.
type Targets = Arc<Mutex<HashMap<Arc<str>, LogTarget>>>;

fn lock(targets: &Targets) -> MutexGuard<'_, HashMap<Arc<str>, LogTarget>> {
    targets.lock().unwrap_or_else(|p| p.into_inner())
}

/// The listener, once bound: where it is and the task serving it.
struct Bound {
    addr: ChannelAddr,
    path: PathBuf,
    task: JoinHandle<()>,
}

/// One manager's log socket and the procs it serves. See the module docs.
#[derive(Default)]
pub(crate) struct LogHub {
    targets: Targets,
    bound: Mutex<Option<Bound>>,
    stop: CancellationToken,
}

impl std::fmt::Debug for LogHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogHub")
            .field("procs", &lock(&self.targets).len())
            .finish_non_exhaustive()
    }
}

impl LogHub {
    /// The socket's address: bound at `path` and served by a task of the
    /// current runtime on first use (again if that runtime has gone away).
    pub(crate) fn addr(&self, path: &Path) -> io::Result<ChannelAddr> {
        let mut bound = self.bound.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = bound.as_ref().filter(|b| !b.task.is_finished()) {
            return Ok(b.addr.clone());
        }
        if let Some(old) = bound.take() {
            let _ = std::fs::remove_file(&old.path);
        }
        let addr = ChannelAddr::unix(path).map_err(io::Error::other)?;
        let listener = UnixListener::bind(path)?;
        let task = tokio::spawn(serve(listener, self.targets.clone(), self.stop.clone()));
        *bound = Some(Bound {
            addr: addr.clone(),
            path: path.to_owned(),
            task,
        });
        Ok(addr)
    }

    /// Makes `target` reachable by its token until the registration drops.
    pub(crate) fn register(&self, target: LogTarget) -> LogRegistration {
        let token = target.token.clone();
        lock(&self.targets).insert(token.clone(), target);
        LogRegistration {
            targets: self.targets.clone(),
            token,
        }
    }
}

impl Drop for LogHub {
    fn drop(&mut self) {
        self.stop.cancel();
        let bound = self.bound.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = bound.take() {
            let _ = std::fs::remove_file(&b.path);
        }
    }
}

/// A proc's entry in its manager's [`LogHub`]; removed on drop.
pub(crate) struct LogRegistration {
    targets: Targets,
    token: Arc<str>,
}

impl Drop for LogRegistration {
    fn drop(&mut self) {
        lock(&self.targets).remove(&self.token);
    }
}

/// Accepts log connections (one task each) until the hub is dropped.
async fn serve(listener: UnixListener, targets: Targets, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, targets.clone()));
                }
                Err(err) => {
                    tracing::warn!(%err, "accept on log socket failed");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            },
        }
    }
}

/// The running proc whose token `presented` is.
fn find(targets: &Targets, presented: &str) -> Option<LogTarget> {
    lock(targets)
        .get(presented)
        .filter(|t| tokens_match(&t.token, presented) && !t.exited.is_cancelled())
        .cloned()
}

async fn connection(stream: UnixStream, targets: Targets) {
    // Small: records are short lines (`read_frame` copes with long ones).
    let mut reader = BufReader::with_capacity(1024, stream);
    let mut buf = Vec::new();
    let hello = tokio::time::timeout(
        HELLO_TIMEOUT,
        read_frame::<_, ChildFrame>(&mut reader, &mut buf),
    )
    .await;
    let target = match hello {
        Ok(Ok(Some(ChildFrame::LogHello { token, .. }))) => match find(&targets, &token) {
            Some(target) => target,
            None => {
                tracing::warn!(
                    reason = "an unknown or wrong token",
                    "dropped a log connection"
                );
                return;
            }
        },
        Ok(Ok(None)) => return,
        other => {
            let what = match other {
                Ok(Ok(frame)) => format!("{frame:?} instead of a log hello"),
                Ok(Err(err)) => err.to_string(),
                Err(_) => format!("no log hello within {HELLO_TIMEOUT:?}"),
            };
            tracing::warn!(reason = %what, "dropped a log connection");
            return;
        }
    };
    let span = tracing::info_span!("proc", proc_id = %target.proc_id);
    forward(reader, buf, target).instrument(span).await;
}

/// Delivers `Log` records to the sinks until the connection ends or the
/// grace period after the proc's exit is over.
async fn forward(mut reader: BufReader<UnixStream>, mut buf: Vec<u8>, target: LogTarget) {
    let grace = async {
        target.exited.cancelled().await;
        tokio::time::sleep(GRACE_AFTER_EXIT).await;
    };
    tokio::pin!(grace);
    let mut line = LogLine::new(target.proc_id.clone(), LogStream::Channel, Vec::new());
    loop {
        let frame = tokio::select! {
            _ = &mut grace => return,
            frame = read_frame::<_, ChildFrame>(&mut reader, &mut buf) => frame,
        };
        match frame {
            Ok(Some(ChildFrame::Log { level, message })) => {
                line.timestamp = std::time::SystemTime::now();
                line.bytes = ProcLog::record_text(&level, &message).into();
                for sink in target.sinks.iter() {
                    sink.log(&line);
                }
            }
            Ok(Some(other)) => tracing::debug!(frame = ?other, "ignored frame on log channel"),
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(%err, "dropped a log connection");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::write_frame;

    /// Keeps every line it is given.
    #[derive(Default)]
    struct Keep(Mutex<Vec<(ProcId, String)>>);

    impl LogSink for Keep {
        fn log(&self, line: &LogLine) {
            let text = String::from_utf8_lossy(&line.bytes).into_owned();
            self.0
                .lock()
                .expect("lock")
                .push((line.proc_id.clone(), text));
        }
    }

    fn target(name: &str, token: &str, sink: &Arc<Keep>) -> LogTarget {
        LogTarget {
            proc_id: ProcId::new(name).expect("id"),
            token: Arc::from(token),
            sinks: Arc::from(vec![sink.clone() as Arc<dyn LogSink>]),
            exited: CancellationToken::new(),
        }
    }

    async fn send(addr: &ChannelAddr, token: &str, message: &str) -> UnixStream {
        let path = addr.as_unix_path().expect("unix");
        let mut stream = UnixStream::connect(path).await.expect("connect");
        let hello = ChildFrame::LogHello {
            token: token.into(),
            pid: 1,
        };
        write_frame(&mut stream, &hello).await.expect("hello");
        let log = ChildFrame::Log {
            level: "info".into(),
            message: message.into(),
        };
        write_frame(&mut stream, &log).await.expect("log");
        stream
    }

    async fn until(sink: &Keep, count: usize) {
        let wait = async {
            while sink.0.lock().expect("lock").len() < count {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .expect("lines in time");
    }

    #[tokio::test]
    async fn one_socket_serves_each_proc_by_its_token_and_only_while_registered() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("log.sock");
        let hub = LogHub::default();
        let addr = hub.addr(&path).expect("bound");
        assert_eq!(hub.addr(&path).expect("same"), addr, "bound once");
        let sink = Arc::new(Keep::default());
        let a = hub.register(target("a", "token-a", &sink));
        let _b = hub.register(target("b", "token-b", &sink));

        let _sa = send(&addr, "token-a", "from a").await;
        let _sb = send(&addr, "token-b", "from b").await;
        until(&sink, 2).await;
        // Unknown token, and a proc no longer registered: dropped, no line.
        let mut bad = send(&addr, "token-x", "forged").await;
        drop(a);
        let mut late = send(&addr, "token-a", "too late").await;
        for stream in [&mut bad, &mut late] {
            let mut byte = [0u8; 1];
            let read = tokio::io::AsyncReadExt::read(stream, &mut byte);
            let n = tokio::time::timeout(Duration::from_secs(10), read)
                .await
                .expect("closed in time")
                .unwrap_or(0);
            assert_eq!(n, 0, "the hub closes a connection it does not serve");
        }
        let mut lines = sink.0.lock().expect("lock").clone();
        lines.sort();
        assert_eq!(
            lines,
            vec![
                (ProcId::new("a").expect("id"), "info: from a".to_owned()),
                (ProcId::new("b").expect("id"), "info: from b".to_owned()),
            ]
        );
        drop(hub);
        assert!(!path.exists(), "the hub removes its socket");
    }
}
