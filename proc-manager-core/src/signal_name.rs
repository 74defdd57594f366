//! Names of the Linux signals by number (`11` → `"SIGSEGV"`), so a status
//! can say which signal ended a proc without core knowing any OS API.
//!
//! The numbers are the Linux ones shared by x86, x86-64, ARM, AArch64 and
//! RISC-V (the platforms a backend here runs on); real-time signals are
//! named `SIGRTMIN+n` from 34. Sending signals is a backend's business.

/// The standard signals, indexed by number (index 0 is unused).
const NAMES: [&str; 32] = [
    "",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// The first real-time signal as user space sees it (glibc and musl keep
/// 32 and 33 for themselves).
const SIGRTMIN: i32 = 34;
/// The last real-time signal.
const SIGRTMAX: i32 = 64;

/// How a signal number is shown: its name where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignalName {
    /// A standard signal.
    Named(&'static str),
    /// A real-time signal, `SIGRTMIN + n`.
    RealTime(i32),
    /// A number with no name.
    Unknown(i32),
}

impl SignalName {
    pub(crate) fn of(signal: i32) -> Self {
        match usize::try_from(signal).ok().and_then(|i| NAMES.get(i)) {
            Some(name) if !name.is_empty() => Self::Named(name),
            _ if (SIGRTMIN..=SIGRTMAX).contains(&signal) => Self::RealTime(signal - SIGRTMIN),
            _ => Self::Unknown(signal),
        }
    }
}

impl std::fmt::Display for SignalName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Named(name) => f.write_str(name),
            Self::RealTime(0) => f.write_str("SIGRTMIN"),
            Self::RealTime(n) => write!(f, "SIGRTMIN+{n}"),
            Self::Unknown(n) => write!(f, "signal {n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SignalName;

    #[test]
    fn names_the_common_signals() {
        assert_eq!(SignalName::of(9).to_string(), "SIGKILL");
        assert_eq!(SignalName::of(11).to_string(), "SIGSEGV");
        assert_eq!(SignalName::of(15).to_string(), "SIGTERM");
        assert_eq!(SignalName::of(31).to_string(), "SIGSYS");
    }

    #[test]
    fn real_time_and_unknown_numbers() {
        assert_eq!(SignalName::of(34).to_string(), "SIGRTMIN");
        assert_eq!(SignalName::of(36).to_string(), "SIGRTMIN+2");
        assert_eq!(SignalName::of(0).to_string(), "signal 0");
        assert_eq!(SignalName::of(32).to_string(), "signal 32");
        assert_eq!(SignalName::of(-3).to_string(), "signal -3");
        assert_eq!(SignalName::of(200).to_string(), "signal 200");
    }
}
