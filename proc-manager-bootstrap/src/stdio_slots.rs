//! Three low descriptor numbers, reserved per spawning thread, through which
//! a child receives its stdin, stdout and stderr, so that the child can take
//! a private copy of only the descriptors below them instead of the
//! manager's whole table.
//!
//! # Why
//!
//! A child normally gets a copy of every descriptor its parent holds (the
//! fork copies the table, the exec then closes the close-on-exec ones), so a
//! spawn costs O(open fds). A manager holds four per live proc: at 2,000
//! procs, 8,000 descriptors copied and closed on every spawn, which more than
//! doubled a spawn's cost (measured on a 2-core VM: 540–610 µs a spawn with
//! 100 fds open, 1,560–1,575 µs with 8,000). The child of [`crate::clone_spawn`] shares
//! the table (`CLONE_FILES`) and unshares it with
//! `close_range(limit, ~0, CLOSE_RANGE_UNSHARE)`, which copies only the
//! descriptors below `limit`: the manager's own stdio, a few it opened early,
//! and these slots.
//!
//! # What lives here
//!
//! [`StdioSlots`]: the reserved numbers (each holds `/dev/null` when idle,
//! close-on-exec) and [`Loaded`], a spawn's use of them, which puts the
//! `/dev/null` back (closing the parent's reference to the pipe end it held)
//! when the spawn is over. What the child does with them is in
//! `clone_spawn.rs`.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::OnceLock;

/// What a child's stream 0, 1 or 2 is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SlotUse<'a> {
    /// The manager's own stream: the slot is not used.
    Inherit,
    /// `/dev/null`: the slot as it is.
    Null,
    /// This descriptor (a pipe end), put into the slot for the spawn.
    Fd(BorrowedFd<'a>),
}

/// The reserved numbers of one thread. Each slot is `None` only after a
/// failed restore, which closed it; [`StdioSlots::usable`] then says so and
/// the owner makes a new set.
#[derive(Debug)]
pub(crate) struct StdioSlots {
    slots: [Option<OwnedFd>; 3],
}

impl StdioSlots {
    /// Reserves the three lowest free numbers at or above 3, each holding
    /// `/dev/null`. Made when a spawner thread starts, or at the main
    /// thread's first spawn, when the manager's table is usually still short.
    pub(crate) fn new() -> io::Result<Self> {
        let null = dev_null()?;
        let slot = || -> io::Result<Option<OwnedFd>> {
            Ok(Some(rustix::io::fcntl_dupfd_cloexec(null, 3)?))
        };
        Ok(Self {
            slots: [slot()?, slot()?, slot()?],
        })
    }

    /// Whether every slot is still held.
    pub(crate) fn usable(&self) -> bool {
        self.slots.iter().all(Option::is_some)
    }

    /// One past the highest slot: the child copies the descriptors below it.
    pub(crate) fn limit(&self) -> u32 {
        let highest = self
            .slots
            .iter()
            .flatten()
            .map(AsRawFd::as_raw_fd)
            .max()
            .unwrap_or(2);
        u32::try_from(highest).map_or(u32::MAX, |fd| fd.saturating_add(1))
    }

    /// Puts each [`SlotUse::Fd`] into its slot (close-on-exec, as every
    /// slot is) until the returned [`Loaded`] is dropped.
    pub(crate) fn load(&mut self, uses: [SlotUse<'_>; 3]) -> io::Result<Loaded<'_>> {
        let mut loaded = Loaded {
            slots: self,
            raw: [-1; 3],
            filled: [false; 3],
        };
        for (i, slot_use) in uses.iter().enumerate() {
            let Some(slot) = loaded.slots.slots[i].as_mut() else {
                return Err(io::Error::other("stdio slot closed"));
            };
            match slot_use {
                SlotUse::Inherit => {}
                SlotUse::Null => loaded.raw[i] = slot.as_raw_fd(),
                SlotUse::Fd(source) => {
                    rustix::io::dup3(source, slot, rustix::io::DupFlags::CLOEXEC)?;
                    loaded.filled[i] = true;
                    loaded.raw[i] = slot.as_raw_fd();
                }
            }
        }
        Ok(loaded)
    }
}

/// A spawn's use of the slots: the descriptor numbers the child moves to
/// 0, 1, 2 (`-1`: inherited). Dropping it puts `/dev/null` back into every
/// slot that was filled.
#[derive(Debug)]
pub(crate) struct Loaded<'a> {
    slots: &'a mut StdioSlots,
    raw: [RawFd; 3],
    filled: [bool; 3],
}

impl Loaded<'_> {
    /// Source numbers for the child's 0, 1, 2; `-1` leaves one as inherited.
    pub(crate) fn raw(&self) -> [RawFd; 3] {
        self.raw
    }
}

impl Drop for Loaded<'_> {
    fn drop(&mut self) {
        for (i, filled) in self.filled.iter().enumerate() {
            if !filled {
                continue;
            }
            let restored = match (dev_null(), self.slots.slots[i].as_mut()) {
                (Ok(null), Some(slot)) => {
                    rustix::io::dup3(null, slot, rustix::io::DupFlags::CLOEXEC).map_err(Into::into)
                }
                (Err(err), _) => Err(err),
                (_, None) => Ok(()),
            };
            if let Err(err) = restored {
                // The slot still holds a pipe end, which would keep the
                // child's stream open: close it; the thread makes new slots.
                tracing::warn!(%err, slot = i, "could not restore a stdio slot; closing it");
                self.slots.slots[i] = None;
            }
        }
    }
}

/// The `/dev/null` every slot is a copy of, opened once per process.
pub(crate) fn dev_null() -> io::Result<BorrowedFd<'static>> {
    static NULL: OnceLock<io::Result<OwnedFd>> = OnceLock::new();
    let null = NULL.get_or_init(|| {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map(OwnedFd::from)
    });
    match null {
        Ok(fd) => Ok(fd.as_fd()),
        Err(err) => Err(io::Error::new(err.kind(), err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn target(fd: RawFd) -> String {
        std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .unwrap()
            .display()
            .to_string()
    }

    #[test]
    fn slots_are_low_distinct_close_on_exec_and_hold_dev_null() {
        let slots = StdioSlots::new().unwrap();
        let raw: Vec<RawFd> = slots
            .slots
            .iter()
            .flatten()
            .map(AsRawFd::as_raw_fd)
            .collect();
        assert_eq!(raw.len(), 3);
        assert!(raw.iter().all(|&fd| fd > 2), "{raw:?}");
        assert!(raw[0] != raw[1] && raw[1] != raw[2] && raw[0] != raw[2]);
        let highest = *raw.iter().max().unwrap();
        assert_eq!(slots.limit(), u32::try_from(highest).unwrap() + 1);
        for slot in slots.slots.iter().flatten() {
            assert_eq!(target(slot.as_raw_fd()), "/dev/null");
            let flags = rustix::io::fcntl_getfd(slot).unwrap();
            assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
        }
        assert!(slots.usable());
    }

    #[test]
    fn a_lost_slot_makes_the_set_unusable_and_refuses_a_load() {
        // What a failed restore leaves (the slot closed): the thread's next
        // spawn makes a new set (`clone_spawn::Seat::get_or_make`).
        let mut slots = StdioSlots::new().unwrap();
        slots.slots[1] = None;
        assert!(!slots.usable());
        let uses = [SlotUse::Null, SlotUse::Null, SlotUse::Null];
        assert!(slots.load(uses).is_err());
    }

    #[test]
    fn a_loaded_pipe_end_is_released_when_the_spawn_is_over() {
        let mut slots = StdioSlots::new().unwrap();
        let (mut read, write) = std::io::pipe().unwrap();
        let write = OwnedFd::from(write);
        let loaded = slots
            .load([SlotUse::Null, SlotUse::Fd(write.as_fd()), SlotUse::Inherit])
            .unwrap();
        let [stdin, stdout, stderr] = loaded.raw();
        assert_eq!(target(stdin), "/dev/null");
        assert!(target(stdout).starts_with("pipe:"), "{}", target(stdout));
        assert_eq!(stderr, -1);
        drop(loaded);
        assert_eq!(
            target(stdout),
            "/dev/null",
            "the slot holds /dev/null again"
        );
        drop(write);
        let mut rest = Vec::new();
        // EOF: no copy of the write end is left in a slot.
        assert_eq!(read.read_to_end(&mut rest).unwrap(), 0);
        assert!(slots.usable());
    }
}
