//! The bench as a child: when `PROC_MANAGER_BOOTSTRAP_MODE` is set, the bench
//! binary runs `proc_manager_bootstrap::child::bootstrap` with the [`Mode`]
//! its payload's config selects — for our manager and for the hand-written
//! baselines alike, so both sides supervise the very same child.
//!
//! The modes themselves are described in `mode.rs`.

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
