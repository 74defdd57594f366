//! Running out of file descriptors, explained: a spawn refused with
//! `EMFILE` (this process's `RLIMIT_NOFILE`) or `ENFILE` (the system's file
//! table) gets an error that names the limit and what each proc costs, so
//! the user knows which knob to turn.
//!
//! Which fds a proc holds is decided by the launch code; this module only
//! words the error.

use std::io;

/// The fds the manager holds for one live proc with captured stdio: its
/// pidfd, the stdout and stderr pipes and the control connection (the log
/// socket is one for the whole manager). With inherited stdio, two fewer.
pub(crate) const FDS_PER_PROC: u64 = 4;

/// `err`, with the open-files limit named if that is what it hit; any other
/// error is returned as it is.
pub(crate) fn explain(err: io::Error) -> io::Error {
    match err.raw_os_error() {
        Some(libc::EMFILE) => {
            let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
            io::Error::new(err.kind(), emfile_message(soft, &err))
        }
        Some(libc::ENFILE) => io::Error::new(
            err.kind(),
            format!("the system-wide table of open files is full (fs.file-max): {err}"),
        ),
        _ => err,
    }
}

fn emfile_message(soft: Option<u64>, err: &io::Error) -> String {
    let limit = match soft {
        Some(soft) => format!(
            "its RLIMIT_NOFILE soft limit of {soft} open files (about {} live procs at \
             {FDS_PER_PROC} fds each)",
            soft / FDS_PER_PROC
        ),
        None => "its RLIMIT_NOFILE soft limit".to_owned(),
    };
    format!(
        "the manager process has reached {limit}; raise the limit (`ulimit -n`, \
         `setrlimit`) or run fewer procs: {err}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emfile_names_the_limit_and_the_cost_per_proc() {
        let err = explain(io::Error::from_raw_os_error(libc::EMFILE));
        let text = err.to_string();
        assert!(text.contains("RLIMIT_NOFILE soft limit"), "{text}");
        assert!(text.contains("Too many open files"), "{text}");
        let text = emfile_message(Some(1024), &io::Error::from_raw_os_error(libc::EMFILE));
        assert!(
            text.contains("1024 open files (about 256 live procs"),
            "{text}"
        );
    }

    #[test]
    fn enfile_names_the_system_table_and_others_pass_through() {
        let text = explain(io::Error::from_raw_os_error(libc::ENFILE)).to_string();
        assert!(text.contains("system-wide"), "{text}");
        let other = explain(io::Error::from_raw_os_error(libc::EACCES));
        assert_eq!(other.raw_os_error(), Some(libc::EACCES));
    }
}
