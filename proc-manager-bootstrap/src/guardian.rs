//! [`Guardian`]: one small process per manager that cleans up after the
//! manager's process dies, however it dies (SIGKILL included).
//!
//! It is `/bin/sh` running [`SCRIPT`], in its own process group (so a
//! terminal's Ctrl-C or a kill of the manager's group does not take it
//! too) and in the manager's own cgroup (so no `cgroup.kill` of ours
//! reaches it). Its stdin is one end of a socket pair whose other end only
//! the manager holds (close-on-exec, so no child inherits it). When the
//! manager's process dies the kernel closes that end, the guardian reads
//! end-of-file, and it
//! - writes `1` to the manager cgroup's `cgroup.kill` (every process of
//!   every proc, whatever it did to leave its process group),
//! - SIGKILLs every process group the manager reported as live (the only
//!   reach without cgroups),
//! - removes the manager's runtime dir, and the proc cgroups and the
//!   manager cgroup once they are empty.
//!
//! Cost: one `sh` per manager, started on the first spawn. Per spawn with
//! cgroups: nothing. Per spawn without: two short `send`s (`+pgid`, then
//! `-pgid` after the reap). On an orderly drop the manager has already
//! cleaned up; it sends `done` and reaps the guardian (bounded).
//!
//! Why a pgid may be signalled by the guardian: it is reported only while
//! its leader is unreaped, and withdrawn right after the reap; when the
//! manager dies first, the kernel's reaper (init, or a subreaper) reaps the
//! orphaned leaders, and the guardian acts within milliseconds of the
//! end-of-file, before pids come round again.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// How long an orderly drop waits for the guardian to exit.
const EXIT_WAIT: Duration = Duration::from_secs(1);

/// The guardian's program. `$1`: the manager cgroup dir (or empty), `$2`:
/// the runtime dir to remove (or empty). Lines on stdin: `+<pgid>`,
/// `-<pgid>`, `done`. Each live pgid is a shell variable `g_<pgid>`: the
/// shell's variable table is a hash, so a message costs the same with
/// thousands of live groups (a list in one string cost O(n) per message and
/// kept a CPU busy for seconds at 500 procs).
pub(crate) const SCRIPT: &str = r#"trap '' HUP INT PIPE
cg=$1 dir=$2
while IFS= read -r line; do
  case $line in
    +*[!0-9]*|-*[!0-9]*) ;;
    +?*) eval "g_${line#+}=1" ;;
    -?*) unset "g_${line#-}" ;;
    done) exit 0 ;;
  esac
done
[ -n "$cg" ] && echo 1 > "$cg/cgroup.kill"
set | while IFS='=' read -r name value; do
  case $name in g_*[!0-9]*) ;; g_?*) kill -9 "-${name#g_}" ;; esac
done
[ -n "$dir" ] && rm -rf -- "$dir"
n=0
while [ -n "$cg" ] && [ -d "$cg" ] && [ $n -lt 300 ]; do
  for d in "$cg"/*/; do [ -d "$d" ] && rmdir "$d"; done
  rmdir "$cg" || { n=$((n+1)); sleep 0.01; }
done 2>/dev/null
"#;

/// The manager's side of its guardian.
#[derive(Debug)]
pub(crate) struct Guardian {
    socket: Mutex<UnixStream>,
    child: Mutex<Child>,
    pidfd: Option<OwnedFd>,
}

impl Guardian {
    /// Starts the guardian for a manager whose procs live under `cgroup`
    /// (if any) and whose runtime dir `runtime_dir` (if the manager owns
    /// it) must go with it.
    pub(crate) fn start(cgroup: Option<&Path>, runtime_dir: Option<&Path>) -> io::Result<Self> {
        let (ours, theirs) = UnixStream::pair()?;
        let arg = |p: Option<&Path>| p.map(|p| p.as_os_str().to_owned()).unwrap_or_default();
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("proc-manager-guardian")
            .arg(arg(cgroup))
            .arg(arg(runtime_dir))
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let pidfd = i32::try_from(child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .and_then(|pid| {
                rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
            });
        tracing::debug!(pid = child.id(), "manager-death guardian started");
        Ok(Self {
            socket: Mutex::new(ours),
            child: Mutex::new(child),
            pidfd,
        })
    }

    /// The guardian's pid.
    pub(crate) fn pid(&self) -> u32 {
        self.child.lock().unwrap_or_else(|p| p.into_inner()).id()
    }

    /// Reports a live process group (its leader is unreaped).
    pub(crate) fn track(&self, pgid: u32) {
        self.send(&format!("+{pgid}\n"));
    }

    /// Withdraws a process group (its leader was reaped).
    pub(crate) fn untrack(&self, pgid: u32) {
        self.send(&format!("-{pgid}\n"));
    }

    fn send(&self, line: &str) {
        let socket = self.socket.lock().unwrap_or_else(|p| p.into_inner());
        let mut rest = line.as_bytes();
        while !rest.is_empty() {
            // MSG_NOSIGNAL: a dead guardian is an error here, not a SIGPIPE.
            match rustix::net::send(socket.as_fd(), rest, rustix::net::SendFlags::NOSIGNAL) {
                Ok(n) => rest = &rest[n..],
                Err(rustix::io::Errno::INTR) => {}
                Err(err) => {
                    tracing::warn!(%err, "the manager-death guardian is gone");
                    return;
                }
            }
        }
    }
}

impl Drop for Guardian {
    fn drop(&mut self) {
        self.send("done\n");
        let child = self.child.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(pidfd) = &self.pidfd {
            let mut fds = [rustix::event::PollFd::new(
                pidfd,
                rustix::event::PollFlags::IN,
            )];
            let wait = rustix::event::Timespec::try_from(EXIT_WAIT).ok();
            let _ = rustix::event::poll(&mut fds, wait.as_ref());
        }
        if !matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn gone(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        })
    }

    #[test]
    fn on_end_of_file_it_kills_reported_groups_and_removes_the_dir() {
        let runtime = tempfile::tempdir().unwrap();
        let dir = runtime.path().join("rt");
        std::fs::create_dir(&dir).unwrap();
        let mut sleeper = Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        // Reported, then withdrawn (reaped, as far as the guardian knows):
        // must be left alone.
        let mut withdrawn = Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let guardian = Guardian::start(None, Some(&dir)).unwrap();
        guardian.track(sleeper.id());
        guardian.track(withdrawn.id());
        // Many others come and go, as under a busy manager.
        for pgid in 1_000_000..1_002_000 {
            guardian.track(pgid);
        }
        for pgid in 1_000_000..1_002_000 {
            guardian.untrack(pgid);
        }
        guardian.untrack(withdrawn.id());
        // The manager "dies": its end closes without `done`.
        let socket = guardian.socket.lock().unwrap();
        socket.shutdown(std::net::Shutdown::Both).unwrap();
        drop(socket);
        let status = guardian.child.lock().unwrap().wait().unwrap();
        assert!(status.success(), "{status}");
        let started = Instant::now();
        while !gone(sleeper.id()) && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(gone(sleeper.id()), "the reported group survived");
        let _ = sleeper.wait();
        assert!(!gone(withdrawn.id()), "a withdrawn group was killed");
        let _ = withdrawn.kill();
        let _ = withdrawn.wait();
        assert!(!dir.exists(), "the runtime dir survived");
        drop(guardian);
    }

    #[test]
    fn an_orderly_drop_ends_the_guardian_without_touching_anything() {
        let runtime = tempfile::tempdir().unwrap();
        let guardian = Guardian::start(None, Some(runtime.path())).unwrap();
        let pid = guardian.pid();
        drop(guardian);
        assert!(gone(pid));
        assert!(runtime.path().exists());
    }
}
