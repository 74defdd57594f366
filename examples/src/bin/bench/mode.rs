//! The behaviours the bench's child can have ([`Mode`]), chosen by the
//! payload's config (`{"mode": ...}`), and the output writer of `flood`.
//!
//! Running the child (the bootstrap entry point) is `child.rs`'s job.

use std::io::Write as _;
use std::os::fd::AsFd as _;

use serde::Deserialize;

/// What the child does.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub(crate) enum Mode {
    /// Exit 0 at once.
    Exit,
    /// Bind a Unix socket under the socket dir, report ready, exit 0 on the
    /// shutdown request.
    ReadyWait,
    /// Report ready, then ignore the shutdown request (only a kill ends it).
    ReadyIgnore,
    /// Write `bytes` bytes of [`LINE_LEN`]-byte lines to stdout, exit 0.
    Flood {
        /// How many bytes (rounded down to whole lines).
        bytes: u64,
    },
}

/// The length of every line `flood` writes, newline included.
pub(crate) const LINE_LEN: usize = 100;

impl Mode {
    /// The config JSON that selects this mode.
    pub(crate) fn config(self) -> serde_json::Value {
        match self {
            Mode::Exit => serde_json::json!({"mode": "exit"}),
            Mode::ReadyWait => serde_json::json!({"mode": "ready_wait"}),
            Mode::ReadyIgnore => serde_json::json!({"mode": "ready_ignore"}),
            Mode::Flood { bytes } => serde_json::json!({"mode": "flood", "bytes": bytes}),
        }
    }

    /// The mode a config selects (`exit` when there is none).
    pub(crate) fn from_config(config: Option<&serde_json::Value>) -> Result<Self, String> {
        match config {
            Some(value) => serde_json::from_value(value.clone())
                .map_err(|e| format!("bad bench child config {value}: {e}")),
            None => Ok(Mode::Exit),
        }
    }
}

/// Writes `bytes` bytes of 100-byte lines to stdout in 64 KiB writes
/// straight to the fd, so the child is never what limits the reader.
pub(crate) fn flood(bytes: u64) -> std::io::Result<()> {
    let mut out = std::fs::File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    let mut line = [b'x'; LINE_LEN];
    line[LINE_LEN - 1] = b'\n';
    let per_chunk = 64 * 1024 / LINE_LEN;
    let chunk: Vec<u8> = line.repeat(per_chunk);
    let mut lines_left = bytes / LINE_LEN as u64;
    while lines_left > 0 {
        let n = lines_left.min(per_chunk as u64) as usize;
        out.write_all(&chunk[..n * LINE_LEN])?;
        lines_left -= n as u64;
    }
    out.flush()
}
