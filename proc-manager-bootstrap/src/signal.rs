//! [`Signal`]: the signals a caller names (nix's enum, re-exported), and
//! their conversion to the type the syscall edge ([`crate::group`]) sends.
//!
//! Which signal is sent when (the stop signal, `handle.signal(..)`) is the
//! handle's and [`crate::proc_state`]'s business.

use std::io;

/// A POSIX signal, for [`crate::BootstrapProcHandle::signal`] and the stop
/// signal (`stop_signal(..)` on the builder and per spawn). This is
/// `nix::sys::signal::Signal`.
///
/// ```
/// use proc_manager_bootstrap::Signal;
///
/// assert_eq!(Signal::SIGQUIT as i32, 3);
/// assert_eq!(Signal::SIGINT.as_str(), "SIGINT");
/// ```
pub use nix::sys::signal::Signal;

/// The same signal as the syscall edge's type.
pub(crate) fn to_os(signal: Signal) -> io::Result<rustix::process::Signal> {
    rustix::process::Signal::from_named_raw(signal as i32).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{signal} cannot be sent to a process group"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_signal_converts_to_the_same_number() {
        for signal in Signal::iterator() {
            let os = to_os(signal).expect("convertible");
            assert_eq!(os.as_raw(), signal as i32, "{signal}");
        }
    }
}
