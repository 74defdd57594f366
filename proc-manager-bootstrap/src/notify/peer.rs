//! Whether a notify datagram's sender belongs to the proc: the credential
//! check, as systemd's `NotifyAccess=all` does it (any process of the
//! service), so another process cannot mark a proc ready.
//!
//! The kernel stamps each datagram with the sender's pid
//! (`SCM_CREDENTIALS`, on because the socket has `SO_PASSCRED`; only a
//! process with `CAP_SYS_ADMIN` can give another pid). The sender belongs to
//! the proc when it is the leader, or, looked up in `/proc` while it is
//! still alive, it is in the proc's cgroup (when the proc has one) or in the
//! leader's process group or session. A sender gone before the look-up is
//! refused: senders that exit at once should use the barrier handshake
//! (`systemd-notify` does by default), which keeps them alive until the
//! manager has read their messages.
//!
//! Reading `/proc` is behind [`ProcessTable`] so the decision is tested with
//! a fake.

use std::io;
use std::path::{Path, PathBuf};

/// What the decision needs to know about a sender.
pub(crate) trait ProcessTable {
    /// The process group and session of `pid`.
    fn group_and_session(&self, pid: u32) -> io::Result<(u32, u32)>;
    /// The cgroup v2 path of `pid` (the `0::` line of `/proc/PID/cgroup`).
    fn cgroup(&self, pid: u32) -> io::Result<PathBuf>;
}

/// The proc as the check sees it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The leader's pid, which is also its process group id.
    pub(crate) leader: u32,
    /// The proc's own cgroup, under cgroup containment.
    pub(crate) cgroup: Option<PathBuf>,
}

/// The verdict on one sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accept,
    Refuse(String),
}

/// Whether the process `sender` belongs to `member`.
pub(crate) fn check(sender: u32, member: &Member, table: &impl ProcessTable) -> Verdict {
    if sender == 0 {
        return Verdict::Refuse("no sender credentials".into());
    }
    if sender == member.leader {
        return Verdict::Accept;
    }
    let gone = |err: io::Error| {
        Verdict::Refuse(format!(
            "cannot look up sender pid {sender} ({err}); a sender that exits at once \
             should wait for the barrier (BARRIER=1)"
        ))
    };
    if let Some(cgroup) = &member.cgroup {
        return match table.cgroup(sender) {
            Ok(path) if path.starts_with(cgroup) => Verdict::Accept,
            Ok(path) => Verdict::Refuse(format!(
                "sender pid {sender} is in cgroup {}, not the proc's",
                path.display()
            )),
            Err(err) => gone(err),
        };
    }
    match table.group_and_session(sender) {
        Ok((pgid, sid)) if pgid == member.leader || sid == member.leader => Verdict::Accept,
        Ok((pgid, _)) => Verdict::Refuse(format!(
            "sender pid {sender} is in process group {pgid}, outside the proc's ({})",
            member.leader
        )),
        Err(err) => gone(err),
    }
}

/// The process group and session in a `/proc/PID/stat` line: the 5th and
/// 6th fields, counted after the command name, which is in parentheses and
/// may itself hold spaces and parentheses.
pub(crate) fn parse_stat(stat: &str) -> Option<(u32, u32)> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_ascii_whitespace();
    // state, ppid, pgrp, session
    let pgrp = fields.nth(2)?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    Some((pgrp, session))
}

/// The cgroup v2 path in a `/proc/PID/cgroup` file.
pub(crate) fn parse_cgroup(text: &str) -> Option<PathBuf> {
    text.lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(PathBuf::from)
}

/// The real process table, `/proc`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProcFs;

impl ProcessTable for ProcFs {
    fn group_and_session(&self, pid: u32) -> io::Result<(u32, u32)> {
        let stat = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat"))?;
        parse_stat(&stat).ok_or_else(|| io::Error::other("unreadable /proc/PID/stat"))
    }

    fn cgroup(&self, pid: u32) -> io::Result<PathBuf> {
        let text =
            std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("cgroup"))?;
        parse_cgroup(&text).ok_or_else(|| io::Error::other("no cgroup v2 line"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// pid → (pgid, sid, cgroup).
    struct FakeTable(HashMap<u32, (u32, u32, &'static str)>);

    impl ProcessTable for FakeTable {
        fn group_and_session(&self, pid: u32) -> io::Result<(u32, u32)> {
            self.0
                .get(&pid)
                .map(|(g, s, _)| (*g, *s))
                .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
        }
        fn cgroup(&self, pid: u32) -> io::Result<PathBuf> {
            self.0
                .get(&pid)
                .map(|(_, _, c)| PathBuf::from(c))
                .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
        }
    }

    fn table() -> FakeTable {
        FakeTable(HashMap::from([
            (100, (100, 1, "/pm/web")),       // the leader
            (101, (100, 1, "/pm/web")),       // its child, same group
            (102, (102, 102, "/pm/web/sub")), // a daemon that called setsid
            (200, (200, 1, "/user")),         // an unrelated process
            (201, (201, 100, "/user")),       // a session member of the leader
        ]))
    }

    const GROUP: Member = Member {
        leader: 100,
        cgroup: None,
    };

    #[test]
    fn process_group_members_and_the_leader_are_accepted() {
        let table = table();
        assert_eq!(check(100, &GROUP, &table), Verdict::Accept);
        assert_eq!(check(101, &GROUP, &table), Verdict::Accept);
        assert_eq!(check(201, &GROUP, &table), Verdict::Accept);
    }

    #[test]
    fn outsiders_missing_senders_and_pid_zero_are_refused() {
        let table = table();
        assert!(matches!(check(200, &GROUP, &table), Verdict::Refuse(r) if r.contains("outside")));
        assert!(matches!(check(102, &GROUP, &table), Verdict::Refuse(_)));
        assert!(matches!(check(999, &GROUP, &table), Verdict::Refuse(r) if r.contains("BARRIER")));
        assert!(matches!(check(0, &GROUP, &table), Verdict::Refuse(_)));
    }

    #[test]
    fn under_a_cgroup_membership_of_the_cgroup_decides() {
        let table = table();
        let member = Member {
            leader: 100,
            cgroup: Some(PathBuf::from("/pm/web")),
        };
        assert_eq!(
            check(102, &member, &table),
            Verdict::Accept,
            "setsid cannot escape"
        );
        assert!(matches!(check(200, &member, &table), Verdict::Refuse(_)));
        let sibling = Member {
            leader: 100,
            cgroup: Some(PathBuf::from("/pm/we")),
        };
        assert!(
            matches!(check(101, &sibling, &table), Verdict::Refuse(_)),
            "no prefix match"
        );
    }

    #[test]
    fn stat_and_cgroup_parsing() {
        assert_eq!(
            parse_stat("4242 (my (odd) prog) S 1 4240 4200 0 -1 4194560 ..."),
            Some((4240, 4200))
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1"), None);
        assert_eq!(
            parse_cgroup("1:name=systemd:/x\n0::/pm/web\n"),
            Some(PathBuf::from("/pm/web"))
        );
        assert_eq!(parse_cgroup("1:cpu:/x\n"), None);
    }

    #[test]
    fn the_real_table_reads_this_process() {
        // Both may be 0 (a session or group led from outside this pid
        // namespace, as under a container runtime), so compare with the
        // kernel's own answer rather than assume a positive id.
        let me = std::process::id();
        let (pgid, sid) = ProcFs.group_and_session(me).expect("own stat");
        // SAFETY: getpgrp and getsid(0) only read the calling process's ids.
        let (want_pgid, want_sid) = unsafe { (libc::getpgrp(), libc::getsid(0)) };
        assert_eq!(i64::from(pgid), i64::from(want_pgid));
        assert_eq!(i64::from(sid), i64::from(want_sid));
    }
}
