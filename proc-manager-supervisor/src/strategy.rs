//! [`Strategy`]: which children a restart takes along (OTP's
//! `one_for_one`, `one_for_all`, `rest_for_one`), as one pure function over
//! start-order positions.
//!
//! Whether a child is restarted at all is [`crate::Restart`]'s rule; the
//! stopping and starting is the supervision loop's.

use std::ops::Range;

/// Which children are stopped and started again when one child ends and is
/// to be restarted.
///
/// A child that ends and is *not* to be restarted (a `Temporary` one, a
/// `Transient` one that exited with code 0) takes nobody along, whatever the
/// strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Strategy {
    /// Only the ended child is restarted (the default).
    #[default]
    OneForOne,
    /// Every other child is stopped (in reverse start order), then all are
    /// started again in start order.
    OneForAll,
    /// The children started after the ended one are stopped (in reverse
    /// start order), then the ended child and those after it are started
    /// again in start order.
    RestForOne,
}

impl Strategy {
    /// The start-order positions restarted when the child at `ended` (of
    /// `len` children) ends and is to be restarted.
    pub(crate) fn group(self, ended: usize, len: usize) -> Range<usize> {
        match self {
            Self::OneForOne => ended..ended.saturating_add(1).min(len),
            Self::OneForAll => 0..len,
            Self::RestForOne => ended..len,
        }
    }

    /// Whether restarts must follow start order. Under `OneForOne` the
    /// children are independent once started, so an earlier-due restart
    /// may go first.
    pub(crate) fn ordered(self) -> bool {
        !matches!(self, Self::OneForOne)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_follow_otp() {
        assert_eq!(Strategy::OneForOne.group(1, 4), 1..2);
        assert_eq!(Strategy::OneForAll.group(1, 4), 0..4);
        assert_eq!(Strategy::RestForOne.group(1, 4), 1..4);
        assert_eq!(Strategy::RestForOne.group(3, 4), 3..4);
        assert_eq!(Strategy::OneForOne.group(3, 4), 3..4);
    }

    #[test]
    fn only_one_for_one_is_unordered() {
        assert!(!Strategy::OneForOne.ordered());
        assert!(Strategy::OneForAll.ordered());
        assert!(Strategy::RestForOne.ordered());
    }
}
