//! The bench as a child: when `PROC_MANAGER_BOOTSTRAP_MODE` is set, the bench
//! binary runs `proc_manager_bootstrap::child::bootstrap` with the [`Mode`]
//! its payload's config selects — for our manager and for the hand-written
//! baselines alike, so both sides supervise the very same child.
//!
//! The modes themselves are described in `mode.rs`.
//!
//! The `readiness_modes` scenario also starts the bench as a plain program
//! that knows nothing of the bootstrap protocol ([`run_plain`]): it binds
//! its serving socket like `ready_wait` and then says so the notify way
//! (`READY=1` to `$NOTIFY_SOCKET`) or simply listens (for a connection
//! probe), and runs until a signal ends it.

use std::path::{Path, PathBuf};

use proc_manager_bootstrap::ChannelAddr;
use proc_manager_bootstrap::child::{self, BoxError, ChildContext};

use crate::mode::{Mode, flood};

/// Runs the child and exits; never returns.
pub(crate) fn run() -> ! {
    child::bootstrap(|ctx: ChildContext| async move { serve(ctx).await })
}

async fn serve(ctx: ChildContext) -> Result<i32, BoxError> {
    let mode = Mode::from_config(ctx.config())?;
    match mode {
        Mode::Exit => Ok(0),
        Mode::Flood { bytes } => {
            flood(bytes)?;
            Ok(0)
        }
        Mode::ReadyWait | Mode::ReadyIgnore => {
            let path = ctx
                .socket_dir()
                .join(format!("serve-{}.sock", std::process::id()));
            // A child killed earlier with the same (recycled) pid may have
            // left its socket file behind in a shared socket dir.
            let _ = std::fs::remove_file(&path);
            let listener = tokio::net::UnixListener::bind(&path)?;
            ctx.ready(ChannelAddr::unix(&path)?).await?;
            if matches!(mode, Mode::ReadyWait) {
                ctx.shutdown_requested().await;
            } else {
                // Ignores SIGTERM and the stop message alike; only a kill (or
                // the manager going away) ends this child.
                std::future::pending::<()>().await;
            }
            drop(listener);
            let _ = std::fs::remove_file(&path);
            Ok(0)
        }
    }
}

/// The argument that starts the bench as a plain notify child.
pub(crate) const NOTIFY_CHILD_ARG: &str = "--notify-child";
/// The argument (followed by a socket path) that starts the bench as a
/// plain child listening there.
pub(crate) const LISTEN_CHILD_ARG: &str = "--listen-child";

/// A plain child's way of being ready.
#[derive(Debug)]
pub(crate) enum Plain {
    /// Bind a socket in the notify socket's dir, then send `READY=1`.
    Notify,
    /// Listen at this path.
    Listen(PathBuf),
}

impl Plain {
    /// The plain role the command line asks for, if any.
    pub(crate) fn from_args() -> Option<Self> {
        let mut args = std::env::args().skip(1);
        match args.next()?.as_str() {
            NOTIFY_CHILD_ARG => Some(Plain::Notify),
            LISTEN_CHILD_ARG => args.next().map(|p| Plain::Listen(p.into())),
            _ => None,
        }
    }
}

/// Runs a plain child in the same kind of runtime a bootstrap child gets,
/// until SIGTERM; never returns.
pub(crate) fn run_plain(role: Plain) -> ! {
    let code = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BoxError::from)
        .and_then(|rt| rt.block_on(serve_plain(role)))
    {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("bench plain child: {e}");
            1
        }
    };
    std::process::exit(code)
}

async fn serve_plain(role: Plain) -> Result<(), BoxError> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let path = match &role {
        Plain::Listen(path) => path.clone(),
        Plain::Notify => {
            let notify = std::env::var_os("NOTIFY_SOCKET").ok_or("NOTIFY_SOCKET is not set")?;
            let dir = Path::new(&notify)
                .parent()
                .ok_or("NOTIFY_SOCKET has no dir")?;
            dir.join(format!("serve-{}.sock", std::process::id()))
        }
    };
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)?;
    if let Plain::Notify = role {
        let notify = std::env::var_os("NOTIFY_SOCKET").ok_or("NOTIFY_SOCKET is not set")?;
        let socket = std::os::unix::net::UnixDatagram::unbound()?;
        socket.send_to(b"READY=1", &notify)?;
    }
    terminate.recv().await;
    drop(listener);
    let _ = std::fs::remove_file(&path);
    Ok(())
}
