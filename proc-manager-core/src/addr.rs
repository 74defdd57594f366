//! [`ChannelTransport`] and [`ChannelAddr`]: where a proc can be reached,
//! and [`AddrError`], why an address was refused.
//!
//! Only the address vocabulary lives here (parsing, display, fresh
//! addresses); binding and connecting are the backends' business.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string could not be parsed as a [`ChannelAddr`] or
/// [`ChannelTransport`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddrError {
    /// The transport prefix is not one we know.
    #[error("unknown channel transport {input:?} (expected unix, tcp or local)")]
    UnknownTransport {
        /// The input (cut to 64 characters).
        input: String,
    },
    /// The address part is malformed.
    #[error("invalid channel address {input:?}: {reason}")]
    Invalid {
        /// The input (cut to 64 characters).
        input: String,
        /// Why it was refused.
        reason: &'static str,
    },
}

/// The kind of channel an address belongs to.
///
/// ```
/// use proc_manager_core::ChannelTransport;
/// assert_eq!("unix".parse::<ChannelTransport>()?, ChannelTransport::Unix);
/// assert_eq!(ChannelTransport::Tcp.to_string(), "tcp");
/// # Ok::<(), proc_manager_core::AddrError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ChannelTransport {
    /// A Unix-domain stream socket, addressed by path.
    Unix,
    /// A TCP socket.
    Tcp,
    /// An in-process channel, addressed by a number.
    Local,
}

impl ChannelTransport {
    fn scheme(self) -> &'static str {
        match self {
            Self::Unix => "unix",
            Self::Tcp => "tcp",
            Self::Local => "local",
        }
    }
}

impl fmt::Display for ChannelTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme())
    }
}

impl FromStr for ChannelTransport {
    type Err = AddrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unix" => Ok(Self::Unix),
            "tcp" => Ok(Self::Tcp),
            "local" => Ok(Self::Local),
            other => Err(AddrError::UnknownTransport {
                input: other.chars().take(64).collect(),
            }),
        }
    }
}

/// An address a proc serves on or sends to: `unix:/path`,
/// `tcp:127.0.0.1:4000` or `local:7`.
///
/// ```
/// use proc_manager_core::{ChannelAddr, ChannelTransport};
///
/// let addr: ChannelAddr = "tcp:127.0.0.1:4000".parse()?;
/// assert_eq!(addr.transport(), ChannelTransport::Tcp);
/// assert_eq!(addr.to_string(), "tcp:127.0.0.1:4000");
///
/// let fresh = ChannelAddr::any(ChannelTransport::Local);
/// assert_eq!(fresh.transport(), ChannelTransport::Local);
/// assert!("ftp:host".parse::<ChannelAddr>().is_err());
/// # Ok::<(), proc_manager_core::AddrError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChannelAddr {
    /// A Unix-domain socket at this path (UTF-8, no NUL byte).
    Unix(PathBuf),
    /// A TCP socket address.
    Tcp(SocketAddr),
    /// An in-process channel number.
    Local(u64),
}

static NEXT_ANY: AtomicU64 = AtomicU64::new(1);

impl ChannelAddr {
    /// The transport of this address.
    pub fn transport(&self) -> ChannelTransport {
        match self {
            Self::Unix(_) => ChannelTransport::Unix,
            Self::Tcp(_) => ChannelTransport::Tcp,
            Self::Local(_) => ChannelTransport::Local,
        }
    }

    /// A fresh address of the given transport: a new socket path under the
    /// system temp dir, `127.0.0.1:0` (any free port), or a new local number.
    pub fn any(transport: ChannelTransport) -> Self {
        let n = NEXT_ANY.fetch_add(1, Ordering::Relaxed);
        match transport {
            ChannelTransport::Unix => Self::Unix(
                std::env::temp_dir().join(format!("proc-manager-{}-{n}.sock", std::process::id())),
            ),
            ChannelTransport::Tcp => Self::Tcp(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)),
            ChannelTransport::Local => Self::Local(n),
        }
    }

    /// A Unix address for `path`. Fails for a path that is empty, not UTF-8,
    /// or holds a NUL byte.
    pub fn unix(path: impl AsRef<Path>) -> Result<Self, AddrError> {
        let path = path.as_ref();
        let text = path.to_str().ok_or_else(|| AddrError::Invalid {
            input: path.to_string_lossy().chars().take(64).collect(),
            reason: "a unix socket path must be UTF-8",
        })?;
        parse_unix(text)
    }

    /// The socket path, for a Unix address.
    pub fn as_unix_path(&self) -> Option<&Path> {
        match self {
            Self::Unix(path) => Some(path),
            _ => None,
        }
    }
}

fn parse_unix(text: &str) -> Result<ChannelAddr, AddrError> {
    let invalid = |reason| AddrError::Invalid {
        input: format!("unix:{}", text.chars().take(64).collect::<String>()),
        reason,
    };
    if text.is_empty() {
        return Err(invalid("empty unix socket path"));
    }
    if text.contains('\0') {
        return Err(invalid("a unix socket path cannot hold a NUL byte"));
    }
    Ok(ChannelAddr::Unix(PathBuf::from(text)))
}

impl fmt::Display for ChannelAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
            Self::Tcp(addr) => write!(f, "tcp:{addr}"),
            Self::Local(n) => write!(f, "local:{n}"),
        }
    }
}

impl FromStr for ChannelAddr {
    type Err = AddrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = s.split_once(':').ok_or_else(|| AddrError::Invalid {
            input: s.chars().take(64).collect(),
            reason: "expected <transport>:<address>",
        })?;
        match scheme.parse::<ChannelTransport>()? {
            ChannelTransport::Unix => parse_unix(rest),
            ChannelTransport::Tcp => {
                rest.parse::<SocketAddr>()
                    .map(Self::Tcp)
                    .map_err(|_| AddrError::Invalid {
                        input: s.chars().take(64).collect(),
                        reason: "expected tcp:<ip>:<port>",
                    })
            }
            ChannelTransport::Local => {
                let canonical = !rest.is_empty()
                    && rest.bytes().all(|b| b.is_ascii_digit())
                    && (rest == "0" || !rest.starts_with('0'));
                canonical
                    .then(|| rest.parse::<u64>().ok())
                    .flatten()
                    .map(Self::Local)
                    .ok_or_else(|| AddrError::Invalid {
                        input: s.chars().take(64).collect(),
                        reason: "expected local:<decimal number>",
                    })
            }
        }
    }
}

impl Serialize for ChannelAddr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChannelAddr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for text in [
            "unix:/tmp/a.sock",
            "unix:relative/path",
            "tcp:127.0.0.1:4000",
            "tcp:[::1]:80",
            "local:0",
            "local:7",
        ] {
            let addr: ChannelAddr = text.parse().expect(text);
            assert_eq!(addr.to_string(), text);
            let json = serde_json::to_string(&addr).expect("serialize");
            assert_eq!(
                serde_json::from_str::<ChannelAddr>(&json).expect("deserialize"),
                addr
            );
        }
    }

    #[test]
    fn rejects_bad_input() {
        for text in [
            "",
            "unix",
            "unix:",
            "tcp:",
            "tcp:host",
            "tcp:1.2.3.4",
            "local:",
            "local:x",
            "local:07",
            "local:-1",
            "udp:1.2.3.4:5",
            "unix:a\0b",
        ] {
            assert!(
                text.parse::<ChannelAddr>().is_err(),
                "{text:?} was accepted"
            );
        }
    }

    #[test]
    fn any_gives_fresh_addresses_of_the_transport() {
        for transport in [
            ChannelTransport::Unix,
            ChannelTransport::Tcp,
            ChannelTransport::Local,
        ] {
            let a = ChannelAddr::any(transport);
            assert_eq!(a.transport(), transport);
        }
        assert_ne!(
            ChannelAddr::any(ChannelTransport::Unix),
            ChannelAddr::any(ChannelTransport::Unix)
        );
        assert_ne!(
            ChannelAddr::any(ChannelTransport::Local),
            ChannelAddr::any(ChannelTransport::Local)
        );
    }
}
