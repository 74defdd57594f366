//! [`ProcId`]: the validated logical name of a proc, and [`ProcIdError`],
//! why a name was refused.
//!
//! Only naming lives here; where a proc runs or how it is addressed is in
//! [`crate::addr`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string could not be parsed as a [`ProcId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProcIdError {
    /// The input is not a valid id.
    #[error("invalid proc id {input:?}: {reason}")]
    Invalid {
        /// The input (cut to 64 characters).
        input: String,
        /// Why it was refused.
        reason: &'static str,
    },
}

/// The longest name (without the rank) a [`ProcId`] accepts, in bytes.
pub const MAX_PROC_NAME_LEN: usize = 128;

/// A validated logical id for a proc: a plain name (`trainer`) or a ranked
/// one (`world[3]`).
///
/// Names are 1 to [`MAX_PROC_NAME_LEN`] bytes of ASCII letters, digits, `_`,
/// `-` and `.`, starting with a letter, a digit or `_`. That makes every id
/// safe as a file name and as a log prefix. Cloning is cheap (one reference
/// count).
///
/// ```
/// use proc_manager_core::ProcId;
///
/// let plain = ProcId::new("trainer")?;
/// let ranked = ProcId::ranked("world", 3)?;
/// assert_eq!(ranked.to_string(), "world[3]");
/// assert_eq!(ranked.name(), "world");
/// assert_eq!(ranked.rank(), Some(3));
/// assert_eq!("world[3]".parse::<ProcId>()?, ranked);
/// assert!(ProcId::new("../etc").is_err());
/// # let _ = plain;
/// # Ok::<(), proc_manager_core::ProcIdError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcId {
    repr: Arc<str>,
    name_len: usize,
    rank: Option<usize>,
}

impl ProcId {
    /// A plain id. Fails if `name` is empty, too long, or has a character
    /// outside `[A-Za-z0-9_.-]` (or starts with `.` or `-`).
    pub fn new(name: impl AsRef<str>) -> Result<Self, ProcIdError> {
        let name = name.as_ref();
        validate_name(name)?;
        Ok(Self {
            repr: Arc::from(name),
            name_len: name.len(),
            rank: None,
        })
    }

    /// A ranked id, displayed as `name[rank]`.
    pub fn ranked(name: impl AsRef<str>, rank: usize) -> Result<Self, ProcIdError> {
        let name = name.as_ref();
        validate_name(name)?;
        Ok(Self {
            repr: Arc::from(format!("{name}[{rank}]")),
            name_len: name.len(),
            rank: Some(rank),
        })
    }

    /// The name without the rank.
    pub fn name(&self) -> &str {
        &self.repr[..self.name_len]
    }

    /// The rank, for a ranked id.
    pub fn rank(&self) -> Option<usize> {
        self.rank
    }

    /// The id as displayed: `name` or `name[rank]`.
    pub fn as_str(&self) -> &str {
        &self.repr
    }
}

fn validate_name(name: &str) -> Result<(), ProcIdError> {
    let invalid = |reason: &'static str| ProcIdError::Invalid {
        input: truncate_for_error(name),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("empty name"));
    }
    if name.len() > MAX_PROC_NAME_LEN {
        return Err(invalid("name longer than 128 bytes"));
    }
    let first = name.as_bytes()[0];
    if first == b'.' || first == b'-' {
        return Err(invalid("name starts with '.' or '-'"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Err(invalid(
            "only ASCII letters, digits, '_', '-' and '.' are allowed",
        ));
    }
    Ok(())
}

fn truncate_for_error(input: &str) -> String {
    const SHOWN: usize = 64;
    match input.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &input[..cut]),
        None => input.to_owned(),
    }
}

impl fmt::Display for ProcId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr)
    }
}

impl fmt::Debug for ProcId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProcId({})", self.repr)
    }
}

impl FromStr for ProcId {
    type Err = ProcIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some(open) = s.find('[') else {
            return Self::new(s);
        };
        let rank_text = s[open + 1..]
            .strip_suffix(']')
            .ok_or_else(|| ProcIdError::Invalid {
                input: truncate_for_error(s),
                reason: "a ranked id must end with ']'",
            })?;
        // Only canonical decimal ranks, so that parse and display round-trip.
        let canonical = !rank_text.is_empty()
            && rank_text.bytes().all(|b| b.is_ascii_digit())
            && (rank_text == "0" || !rank_text.starts_with('0'));
        let rank = canonical
            .then(|| rank_text.parse::<usize>().ok())
            .flatten()
            .ok_or_else(|| ProcIdError::Invalid {
                input: truncate_for_error(s),
                reason: "the rank must be a decimal number without leading zeros",
            })?;
        Self::ranked(&s[..open], rank)
    }
}

impl TryFrom<&str> for ProcId {
    type Error = ProcIdError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl AsRef<str> for ProcId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Serialize for ProcId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.repr)
    }
}

impl<'de> Deserialize<'de> for ProcId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_ranked_round_trip() {
        for text in [
            "a",
            "trainer",
            "world[0]",
            "world[42]",
            "x_1.y-z",
            "_hidden",
        ] {
            let id: ProcId = text.parse().expect(text);
            assert_eq!(id.to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_input() {
        for text in [
            "", ".", "..", "-x", "a/b", "a b", "a[", "a[]", "a[01]", "a[-1]", "a]", "[1]", "é",
            "a\0", "a[1]x",
        ] {
            assert!(text.parse::<ProcId>().is_err(), "{text:?} was accepted");
        }
        assert!(ProcId::new("a".repeat(MAX_PROC_NAME_LEN + 1)).is_err());
        assert!(ProcId::new("a".repeat(MAX_PROC_NAME_LEN)).is_ok());
    }

    #[test]
    fn error_names_input_and_reason() {
        let err = ProcId::new("a/b").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("a/b") && text.contains("allowed"), "{text}");
    }

    #[test]
    fn serde_is_the_display_string() {
        let id = ProcId::ranked("w", 7).expect("valid");
        let json = serde_json::to_string(&id).expect("serialize");
        assert_eq!(json, "\"w[7]\"");
        let back: ProcId = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, id);
        assert!(serde_json::from_str::<ProcId>("\"../x\"").is_err());
    }
}
