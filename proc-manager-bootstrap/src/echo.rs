//! A small echo service: the ready-made bootstrap child behind the
//! `proc-bootstrap` binary. It binds a socket under the proc's socket dir,
//! reports ready there, sends every byte it receives back on the same
//! connection (so each line comes back as written), and exits 0 when
//! shutdown is requested.
//!
//! The child entry point and context live in [`crate::child`].

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};

use proc_manager_core::ChannelAddr;
use tokio::net::{TcpListener, UnixListener};
use tokio::task::JoinSet;

use crate::child::{BoxError, ChildContext};

/// The longest Unix socket path the kernel takes (`sun_path` is 108 bytes,
/// NUL included).
const MAX_UNIX_PATH: usize = 107;

/// Serves the echo service for `ctx`: binds, calls
/// [`ChildContext::ready`], echoes until shutdown is requested, and returns
/// `Ok(0)`. With the proc config `{"log": true}` it also sends a record on
/// the log channel when it starts serving and when it stops.
///
/// ```no_run
/// // The whole `main` of the `proc-bootstrap` binary:
/// proc_manager_bootstrap::child::bootstrap(proc_manager_bootstrap::echo::serve)
/// ```
pub async fn serve(ctx: ChildContext) -> Result<i32, BoxError> {
    let server = EchoServer::bind(ctx.socket_dir()).await?;
    ctx.ready(server.addr().clone()).await?;
    let log = wants_log(&ctx).then(|| ctx.log());
    if let Some(log) = &log {
        log.info(format!("echo serving at {}", server.addr()));
    }
    let reason = server.run(ctx.shutdown_requested()).await;
    if let Some(log) = &log {
        log.info(format!("echo stopping: {reason}"));
    }
    Ok(0)
}

/// Whether the proc config asks for log records (`{"log": true}`): off by
/// default, so an idle echo child costs the manager no log connection.
fn wants_log(ctx: &ChildContext) -> bool {
    ctx.config()
        .and_then(|config| config.get("log"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

enum Listener {
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener),
}

/// A bound echo listener. Used by [`serve`] and by other children that want
/// their ready address to answer.
#[derive(Debug)]
pub struct EchoServer {
    listener: Listener,
    addr: ChannelAddr,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(_, path) => write!(f, "unix:{}", path.display()),
            Self::Tcp(_) => f.write_str("tcp"),
        }
    }
}

impl EchoServer {
    /// Binds `<dir>/echo.sock` (a stale file there is replaced), or
    /// `tcp:127.0.0.1:<any>` when that path is too long for a Unix socket.
    pub async fn bind(dir: &Path) -> io::Result<Self> {
        let path = dir.join("echo.sock");
        if path.as_os_str().len() <= MAX_UNIX_PATH {
            if let Ok(addr) = ChannelAddr::unix(&path) {
                std::fs::create_dir_all(dir)?;
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                let listener = UnixListener::bind(&path)?;
                return Ok(Self {
                    listener: Listener::Unix(listener, path),
                    addr,
                });
            }
        }
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = ChannelAddr::Tcp(listener.local_addr()?);
        Ok(Self {
            listener: Listener::Tcp(listener),
            addr,
        })
    }

    /// The address the server answers on.
    pub fn addr(&self) -> &ChannelAddr {
        &self.addr
    }

    /// Echoes on every connection until `stop` resolves; then closes every
    /// connection, removes the socket file and returns what `stop` gave.
    pub async fn run<S: Future + Send>(self, stop: S) -> S::Output {
        let mut connections = JoinSet::new();
        tokio::pin!(stop);
        let output = loop {
            tokio::select! {
                output = &mut stop => break output,
                accepted = accept(&self.listener) => match accepted {
                    Ok(conn) => {
                        connections.spawn(conn);
                    }
                    Err(e) => tracing::debug!(error = %e, "echo accept failed"),
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        };
        connections.shutdown().await;
        if let Listener::Unix(_, path) = &self.listener {
            let _ = std::fs::remove_file(path);
        }
        output
    }
}

type Connection = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

async fn accept(listener: &Listener) -> io::Result<Connection> {
    Ok(match listener {
        Listener::Unix(l, _) => {
            let (stream, _) = l.accept().await?;
            Box::pin(echo(stream))
        }
        Listener::Tcp(l) => {
            let (stream, _) = l.accept().await?;
            stream.set_nodelay(true)?;
            Box::pin(echo(stream))
        }
    })
}

async fn echo<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send>(stream: S) {
    let (mut read, mut write) = tokio::io::split(stream);
    if let Err(e) = tokio::io::copy(&mut read, &mut write).await {
        tracing::debug!(error = %e, "echo connection ended");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_socket_dir_too_long_for_a_unix_path_falls_back_to_tcp() {
        let long = std::env::temp_dir().join("d".repeat(120));
        let server = EchoServer::bind(&long).await.expect("bind");
        assert!(
            matches!(server.addr(), ChannelAddr::Tcp(a) if a.ip().is_loopback() && a.port() != 0),
            "{:?}",
            server.addr()
        );
        assert!(!long.exists(), "nothing is created for the tcp fallback");
    }
}
