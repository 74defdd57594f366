//! The bootstrap wire protocol, shared by the manager and the child side:
//! the payload carried in [`BOOTSTRAP_MODE_ENV`], and the newline-delimited
//! JSON frames exchanged on the callback and log sockets.
//!
//! Only encoding, decoding and validation live here; serving the sockets is
//! the manager's job, connecting to them the child's.

use std::io;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use proc_manager_core::{ChannelAddr, ProcId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

/// The environment variable that carries the payload: base64 of the JSON of a
/// [`Bootstrap`].
pub const BOOTSTRAP_MODE_ENV: &str = "PROC_MANAGER_BOOTSTRAP_MODE";

/// The environment variable that carries the address of the manager's log
/// channel for this child (see [`ChildFrame::LogHello`]).
pub const LOG_CHANNEL_ENV: &str = "BOOTSTRAP_LOG_CHANNEL";

/// The protocol version this crate speaks. A payload of another version is
/// refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// The hard cap on one frame, newline included.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// The longest failure reason a child sends ([`ChildFrame::Failure`]);
/// longer ones are cut on a char boundary.
pub const MAX_REASON_BYTES: usize = 16 * 1024;

/// The kernel's limit on one environment string (`MAX_ARG_STRLEN`, 32 pages),
/// counting `NAME=`, the value and the trailing NUL.
pub const MAX_ENV_STRING_BYTES: usize = 32 * 4096;

/// What a bootstrap child is told to be.
///
/// ```
/// use proc_manager_bootstrap::protocol::Bootstrap;
/// use proc_manager_bootstrap::{ChannelAddr, ProcId};
///
/// let payload = Bootstrap::Proc {
///     version: proc_manager_bootstrap::protocol::PROTOCOL_VERSION,
///     proc_id: ProcId::new("p")?,
///     backend_addr: "tcp:127.0.0.1:9000".parse()?,
///     callback_addr: "unix:/run/pm/p.sock".parse()?,
///     socket_dir: "/run/pm/p".into(),
///     parent_pid: 1,
///     token: "secret".into(),
///     config: None,
/// };
/// let encoded = payload.encode()?;
/// assert_eq!(Bootstrap::decode(&encoded)?, payload);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Bootstrap {
    /// Run as a supervised proc.
    Proc {
        /// Protocol version ([`PROTOCOL_VERSION`]).
        version: u32,
        /// The proc's id.
        proc_id: ProcId,
        /// Where the proc sends its outbound traffic.
        backend_addr: ChannelAddr,
        /// The manager's callback socket for this proc.
        callback_addr: ChannelAddr,
        /// A private directory where the proc may bind its own sockets.
        socket_dir: PathBuf,
        /// The pid of the manager process; the child exits if its parent is
        /// not this process.
        parent_pid: u32,
        /// The secret the child must present on the callback socket.
        token: String,
        /// User configuration for the child, as JSON.
        #[serde(default)]
        config: Option<serde_json::Value>,
    },
}

/// The payload could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The variable is not set.
    #[error("{BOOTSTRAP_MODE_ENV} is not set: this program must be started by a proc manager")]
    Missing,
    /// The variable is not valid Unicode.
    #[error("{BOOTSTRAP_MODE_ENV} is not valid unicode")]
    NotUnicode,
    /// The variable is not base64.
    #[error("{BOOTSTRAP_MODE_ENV} is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The decoded bytes are not the JSON of a payload (truncated, garbage).
    #[error("{BOOTSTRAP_MODE_ENV} does not hold a valid payload: {0}")]
    Json(#[from] serde_json::Error),
    /// The payload speaks another protocol version.
    #[error("{BOOTSTRAP_MODE_ENV} has protocol version {found}, this program speaks {expected}")]
    Version {
        /// The version in the payload.
        found: u32,
        /// The version this crate speaks.
        expected: u32,
    },
    /// The encoded payload is larger than the kernel takes in one
    /// environment string.
    #[error(
        "{BOOTSTRAP_MODE_ENV} would be {len} bytes, over the kernel's limit of {max} bytes for one environment string (is the proc config too large?)"
    )]
    TooLarge {
        /// The size it would have (with `NAME=` and NUL).
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl Bootstrap {
    /// Encodes the payload for [`BOOTSTRAP_MODE_ENV`]; fails with
    /// [`PayloadError::TooLarge`] if the kernel would refuse it.
    pub fn encode(&self) -> Result<String, PayloadError> {
        let json = serde_json::to_vec(self)?;
        let encoded = BASE64.encode(json);
        let len = BOOTSTRAP_MODE_ENV.len() + 1 + encoded.len() + 1;
        if len > MAX_ENV_STRING_BYTES {
            return Err(PayloadError::TooLarge {
                len,
                max: MAX_ENV_STRING_BYTES,
            });
        }
        Ok(encoded)
    }

    /// Decodes and validates a payload.
    pub fn decode(text: &str) -> Result<Self, PayloadError> {
        let json = BASE64.decode(text.trim())?;
        let payload: Bootstrap = serde_json::from_slice(&json)?;
        match &payload {
            Bootstrap::Proc { version, .. } if *version != PROTOCOL_VERSION => {
                Err(PayloadError::Version {
                    found: *version,
                    expected: PROTOCOL_VERSION,
                })
            }
            _ => Ok(payload),
        }
    }

    /// Reads and validates the payload from [`BOOTSTRAP_MODE_ENV`].
    pub fn get_from_env() -> Result<Self, PayloadError> {
        match std::env::var(BOOTSTRAP_MODE_ENV) {
            Ok(text) => Self::decode(&text),
            Err(std::env::VarError::NotPresent) => Err(PayloadError::Missing),
            Err(std::env::VarError::NotUnicode(_)) => Err(PayloadError::NotUnicode),
        }
    }
}

/// A frame a child sends to its manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChildFrame {
    /// First and only required frame on the callback socket: "I am ready at
    /// `addr`". The connection then stays open as the control channel.
    Hello {
        /// The token from the payload.
        token: String,
        /// The child's pid.
        pid: u32,
        /// The address the child serves on.
        addr: ChannelAddr,
    },
    /// First frame on the log channel.
    LogHello {
        /// The token from the payload.
        token: String,
        /// The child's pid.
        pid: u32,
    },
    /// One structured log record on the log channel.
    Log {
        /// A level name (`"info"`, `"warn"`, …), free-form.
        level: String,
        /// The message.
        message: String,
    },
    /// "My code failed with `reason`; I exit next." Sent on the control
    /// connection after a hello, or as the first frame of a fresh callback
    /// connection when the child never became ready. The manager records
    /// `reason` as the proc's `Failed { reason }` and answers
    /// [`ManagerFrame::FailureNoted`]; the child waits for that (bounded)
    /// before it exits, so the reason is recorded before the exit is seen.
    Failure {
        /// The token from the payload.
        token: String,
        /// The error's text, or `panicked: <message>` (at most
        /// [`MAX_REASON_BYTES`]).
        reason: String,
    },
}

/// A frame the manager sends to a child on the control channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ManagerFrame {
    /// Please stop.
    Stop {
        /// Why.
        reason: String,
    },
    /// The [`ChildFrame::Failure`] was recorded: the child may exit.
    FailureNoted,
}

/// A frame could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The peer sent more than [`MAX_FRAME_BYTES`] without a newline.
    #[error("frame longer than {MAX_FRAME_BYTES} bytes")]
    TooLong,
    /// The frame is not valid JSON of the expected type.
    #[error("malformed frame: {0}")]
    Malformed(#[from] serde_json::Error),
    /// The connection ended in the middle of a frame.
    #[error("connection closed in the middle of a frame")]
    Truncated,
    /// Reading failed.
    #[error("i/o error reading a frame: {0}")]
    Io(#[from] io::Error),
}

/// Reads one newline-terminated JSON frame. `Ok(None)` on a clean end of
/// stream. Never buffers more than [`MAX_FRAME_BYTES`].
pub async fn read_frame<R, T>(reader: &mut R, buf: &mut Vec<u8>) -> Result<Option<T>, FrameError>
where
    R: AsyncBufRead + Unpin + Send,
    T: DeserializeOwned + Send,
{
    buf.clear();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(FrameError::Truncated)
            };
        }
        let (used, done) = match memchr_newline(available) {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if buf.len() + used > MAX_FRAME_BYTES {
            return Err(FrameError::TooLong);
        }
        buf.extend_from_slice(&available[..used]);
        reader.consume(used);
        if done {
            return Ok(Some(serde_json::from_slice(buf)?));
        }
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// Writes one frame as a JSON line and flushes.
pub async fn write_frame<W, T>(writer: &mut W, frame: &T) -> io::Result<()>
where
    W: AsyncWrite + Unpin + Send,
    T: Serialize + Sync,
{
    let mut line = serde_json::to_vec(frame).map_err(io::Error::other)?;
    line.push(b'\n');
    writer.write_all(&line).await?;
    writer.flush().await
}

/// Cuts `text` to at most `max` bytes, on a char boundary.
pub(crate) fn truncate_on_char_boundary(text: &mut String, max: usize) {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
}

/// A fresh random token (128 bits, hex).
pub fn generate_token() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut token = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        token.push(char::from(HEX[usize::from(byte >> 4)]));
        token.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    Ok(token)
}

/// Compares two tokens without an early exit on the first difference.
pub fn tokens_match(expected: &str, presented: &str) -> bool {
    expected.len() == presented.len()
        && expected
            .bytes()
            .zip(presented.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> Bootstrap {
        Bootstrap::Proc {
            version: PROTOCOL_VERSION,
            proc_id: ProcId::ranked("w", 2).expect("valid"),
            backend_addr: "local:1".parse().expect("valid"),
            callback_addr: "unix:/tmp/x.sock".parse().expect("valid"),
            socket_dir: "/tmp".into(),
            parent_pid: 42,
            token: generate_token().expect("token"),
            config: Some(serde_json::json!({"k": [1, 2]})),
        }
    }

    #[test]
    fn payload_round_trips_and_rejects_bad_input() {
        let p = payload();
        let text = p.encode().expect("encode");
        assert_eq!(Bootstrap::decode(&text).expect("decode"), p);
        assert!(matches!(
            Bootstrap::decode("!!!"),
            Err(PayloadError::Base64(_))
        ));
        assert!(matches!(
            Bootstrap::decode(&text[..text.len() / 2 / 4 * 4]),
            Err(PayloadError::Json(_))
        ));
        let other = BASE64.encode(
            serde_json::to_string(&p)
                .expect("json")
                .replace("\"version\":1", "\"version\":99"),
        );
        assert!(matches!(
            Bootstrap::decode(&other),
            Err(PayloadError::Version { found: 99, .. })
        ));
    }

    #[test]
    fn oversized_payload_is_refused() {
        let mut p = payload();
        let Bootstrap::Proc { config, .. } = &mut p;
        *config = Some(serde_json::Value::String("x".repeat(MAX_ENV_STRING_BYTES)));
        let err = p.encode().unwrap_err();
        assert!(err.to_string().contains("limit"), "{err}");
    }

    #[tokio::test]
    async fn frames_round_trip_and_are_capped() {
        let mut wire = Vec::new();
        let hello = ChildFrame::Hello {
            token: "t".into(),
            pid: 1,
            addr: "local:3".parse().expect("valid"),
        };
        write_frame(&mut wire, &hello).await.expect("write");
        let mut reader = &wire[..];
        let mut buf = Vec::new();
        let got: Option<ChildFrame> = read_frame(&mut reader, &mut buf).await.expect("read");
        assert_eq!(got, Some(hello));
        let end: Option<ChildFrame> = read_frame(&mut reader, &mut buf).await.expect("eof");
        assert_eq!(end, None);

        let long = vec![b'x'; MAX_FRAME_BYTES + 10];
        let mut reader = &long[..];
        let err = read_frame::<_, ChildFrame>(&mut reader, &mut buf)
            .await
            .unwrap_err();
        assert!(matches!(err, FrameError::TooLong));

        let mut reader = &b"{\"type\":\"nope\"}\n"[..];
        let err = read_frame::<_, ChildFrame>(&mut reader, &mut buf)
            .await
            .unwrap_err();
        assert!(matches!(err, FrameError::Malformed(_)));

        let mut reader = &b"{\"type\""[..];
        let err = read_frame::<_, ChildFrame>(&mut reader, &mut buf)
            .await
            .unwrap_err();
        assert!(matches!(err, FrameError::Truncated));
    }

    #[test]
    fn failure_frames_round_trip_and_cut_on_a_char_boundary() {
        let frame = ChildFrame::Failure {
            token: "t".into(),
            reason: "panicked: boom".into(),
        };
        let json = serde_json::to_string(&frame).expect("json");
        assert_eq!(
            json,
            r#"{"type":"failure","token":"t","reason":"panicked: boom"}"#
        );
        assert_eq!(
            serde_json::to_string(&ManagerFrame::FailureNoted).expect("json"),
            r#"{"type":"failure_noted"}"#
        );
        let mut text = "aé".to_owned();
        truncate_on_char_boundary(&mut text, 2);
        assert_eq!(text, "a");
        let mut short = "ab".to_owned();
        truncate_on_char_boundary(&mut short, 5);
        assert_eq!(short, "ab");
    }

    #[test]
    fn tokens_are_32_lowercase_hex_digits_and_differ() {
        let (a, b) = (generate_token().unwrap(), generate_token().unwrap());
        for token in [&a, &b] {
            assert_eq!(token.len(), 32, "{token}");
            assert!(
                token
                    .bytes()
                    .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
                "{token}"
            );
        }
        assert_ne!(a, b);
    }

    #[test]
    fn token_comparison() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "ab"));
    }
}
