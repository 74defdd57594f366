//! [`LineMatch`]: the [`Readiness::LogLine`](crate::Readiness::LogLine)
//! watch on a proc's output. The stdout and stderr splitters share one; each
//! line is matched against the pattern until a line matches, once, and then
//! never again (so a long-running proc pays nothing after it is ready).
//!
//! What a match does (mark the proc ready) is given by the caller as a
//! closure; splitting lines is [`crate::stdio`]'s business.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use regex::bytes::Regex;

/// The shared watch: a compiled pattern and what to do on the first match.
pub(crate) struct LineMatch {
    regex: Regex,
    matched: AtomicBool,
    on_match: Box<dyn Fn() + Send + Sync>,
}

impl LineMatch {
    pub(crate) fn new(regex: Regex, on_match: impl Fn() + Send + Sync + 'static) -> Self {
        Self {
            regex,
            matched: AtomicBool::new(false),
            on_match: Box::new(on_match),
        }
    }

    /// Whether a line has matched already (the watch is spent).
    pub(crate) fn is_spent(&self) -> bool {
        self.matched.load(Ordering::Relaxed)
    }

    /// Matches `line`; on the first match of all runs the action. Returns
    /// whether the watch is spent, so the caller can drop it.
    pub(crate) fn check(&self, line: &[u8]) -> bool {
        if self.is_spent() {
            return true;
        }
        if self.regex.is_match(line) {
            if !self.matched.swap(true, Ordering::AcqRel) {
                (self.on_match)();
            }
            return true;
        }
        false
    }
}

impl fmt::Debug for LineMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineMatch")
            .field("pattern", &self.regex.as_str())
            .field("matched", &self.is_spent())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[test]
    fn fires_once_on_the_first_matching_line() {
        let fired = Arc::new(AtomicUsize::new(0));
        let watch = {
            let fired = fired.clone();
            LineMatch::new(
                Regex::new(r"listening on :\d+").expect("regex"),
                move || {
                    fired.fetch_add(1, Ordering::SeqCst);
                },
            )
        };
        assert!(!watch.check(b"starting up"));
        assert!(!watch.check(b"\xff\xfe not utf-8"));
        assert!(watch.check(b"2024 listening on :8080 now"));
        assert!(watch.check(b"listening on :9090"));
        assert!(watch.check(b"anything"));
        assert_eq!(fired.load(Ordering::SeqCst), 1);
        assert!(watch.is_spent());
    }
}
