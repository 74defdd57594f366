//! The checks, one public async function per behaviour of the contract,
//! grouped by concern: [`lifecycle`] (spawn, ready, wait, watch), [`stop`]
//! (terminate and kill of one proc), [`registry`] (ids and lookups),
//! [`bulk`] (`terminate_all`) and [`outcome`] (how a worker's end becomes
//! its status; these need procs running the reference worker).
//!
//! The timing constants every check shares are here; the machinery that
//! runs a check is in [`super::runner`].

use std::time::Duration;

mod bulk;
mod lifecycle;
mod outcome;
mod registry;
mod stop;

pub use bulk::*;
pub use lifecycle::*;
pub use outcome::*;
pub use registry::*;
pub use stop::*;

/// The `timeout` given to `terminate` when the proc is expected to be
/// forced at the deadline. Every "must be within bound" assertion is
/// against this plus [`super::Capabilities::stop_bound`].
pub const DEADLINE: Duration = Duration::from_millis(1500);

/// The `timeout` given to `terminate` when the proc is expected to stop
/// politely; it must stop well before it.
pub const POLITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a [`super::Behavior::ReadyThenSlowStop`] proc takes to stop.
pub const SLOW_STOP_MS: u64 = 400;

/// Slack on "not before the deadline": timer granularity.
pub(crate) const EARLY_SLACK: Duration = Duration::from_millis(20);

/// SIGKILL's number, which `Killed` must carry after a forced stop when the
/// backend reports signals.
pub(crate) const SIGKILL: i32 = 9;
