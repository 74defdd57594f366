//! Waiting for a cgroup to empty, without busy looping: the kernel flags a
//! change of `cgroup.events` (its `populated` line) as `POLLPRI` on an open
//! descriptor of that file, so the async wait is an `AsyncFd` with
//! [`Interest::PRIORITY`] and the blocking one is `poll(2)`. Where the
//! registration fails, a poll with back-off (1 ms doubling to 100 ms) takes
//! over.
//!
//! A cgroup that no longer exists counts as empty.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// The longest pause of the fallback poll.
const MAX_BACKOFF: Duration = Duration::from_millis(100);

/// Whether a live process is in the cgroup at `dir`.
pub(crate) fn is_populated(dir: &Path) -> io::Result<bool> {
    match File::open(dir.join("cgroup.events")) {
        Ok(file) => read_populated(&file),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}

/// Reads the `populated` line from the start of an open `cgroup.events`
/// (reading also re-arms the change notification).
fn read_populated(file: &File) -> io::Result<bool> {
    let mut buf = [0u8; 256];
    let n = rustix::io::pread(file.as_fd(), &mut buf, 0)?;
    let text = std::str::from_utf8(&buf[..n]).map_err(io::Error::other)?;
    parse_populated(text).ok_or_else(|| io::Error::other("no populated line in cgroup.events"))
}

/// The value of the `populated` line of a `cgroup.events` text.
pub(crate) fn parse_populated(events: &str) -> Option<bool> {
    events
        .lines()
        .find_map(|line| match line.strip_prefix("populated ")? {
            "0" => Some(false),
            "1" => Some(true),
            _ => None,
        })
}

/// Waits until the cgroup at `dir` has no live process. `on_populated` is
/// called once, before waiting, if the first look finds it populated (the
/// caller's kill): an empty cgroup costs one read.
pub(crate) async fn wait_empty(dir: &Path, on_populated: impl FnOnce()) -> io::Result<()> {
    let file = match File::open(dir.join("cgroup.events")) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    if !read_populated(&file)? {
        return Ok(());
    }
    on_populated();
    // SAFETY: the `AsyncFd` owns `file`, so the descriptor is open, is not
    // closed by anyone else, and `as_raw_fd` returns the same number for the
    // `AsyncFd`'s whole life.
    let registered = unsafe { AsyncFd::register_with_interest(file, Interest::PRIORITY) };
    let afd = match registered.map_err(io::Error::from) {
        Ok(afd) => afd,
        Err(err) => {
            tracing::debug!(%err, "cannot watch cgroup.events; polling it instead");
            return poll_with_backoff(dir).await;
        }
    };
    loop {
        // Read before waiting: a change between the two is still reported,
        // since the wait is for a change after this read.
        if !read_populated(afd.get_ref())? {
            return Ok(());
        }
        afd.ready(Interest::PRIORITY).await?.clear_ready();
    }
}

async fn poll_with_backoff(dir: &Path) -> io::Result<()> {
    let mut pause = Duration::from_millis(1);
    while is_populated(dir)? {
        tokio::time::sleep(pause).await;
        pause = pause.saturating_mul(2).min(MAX_BACKOFF);
    }
    Ok(())
}

/// Waits up to `timeout` (blocking) until the cgroup at `dir` has no live
/// process; whether it is empty now.
pub(crate) fn wait_empty_blocking(dir: &Path, timeout: Duration) -> bool {
    let file = match File::open(dir.join("cgroup.events")) {
        Ok(file) => file,
        Err(_) => return true,
    };
    let started = Instant::now();
    loop {
        match read_populated(&file) {
            Ok(false) | Err(_) => return true,
            Ok(true) => {}
        }
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return false;
        }
        let mut fds = [rustix::event::PollFd::new(
            &file,
            rustix::event::PollFlags::PRI,
        )];
        let wait = rustix::event::Timespec::try_from(left.min(MAX_BACKOFF)).ok();
        let _ = rustix::event::poll(&mut fds, wait.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_populated_line() {
        assert_eq!(parse_populated("populated 1\nfrozen 0\n"), Some(true));
        assert_eq!(parse_populated("populated 0\nfrozen 0\n"), Some(false));
        assert_eq!(parse_populated("frozen 0\n"), None);
    }

    #[test]
    fn a_missing_cgroup_is_empty() {
        let gone = Path::new("/nonexistent/proc-manager-test");
        assert!(!is_populated(gone).unwrap());
        assert!(wait_empty_blocking(gone, Duration::ZERO));
    }

    /// A directory standing in for a cgroup: its `cgroup.events` is a
    /// plain file, which epoll refuses, so the wait takes the polling path.
    fn fake_cgroup(populated: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let line = format!("populated {}\nfrozen 0\n", u8::from(populated));
        std::fs::write(dir.path().join("cgroup.events"), line).unwrap();
        dir
    }

    #[tokio::test]
    async fn an_empty_cgroup_is_not_killed() {
        let dir = fake_cgroup(false);
        let mut killed = 0;
        wait_empty(dir.path(), || killed += 1).await.unwrap();
        assert_eq!(killed, 0, "an empty cgroup costs one read, no write");
    }

    #[tokio::test(start_paused = true)]
    async fn a_populated_cgroup_is_killed_once_then_waited_for() {
        let dir = fake_cgroup(true);
        let events = dir.path().join("cgroup.events");
        let mut killed = 0;
        // The "kill" empties it, as the kernel would; without it the wait
        // would go on, and the (virtual) timeout fails the test.
        let wait = wait_empty(dir.path(), || {
            killed += 1;
            std::fs::write(&events, "populated 0\nfrozen 0\n").unwrap();
        });
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .expect("emptied by the kill")
            .unwrap();
        assert_eq!(killed, 1);
    }
}
