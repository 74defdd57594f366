//! [`CloneCommand`]: what [`crate::clone_spawn`] needs to start a program,
//! prepared in the parent so the child only makes syscalls: the resolved
//! program path, `argv` and `envp` as C strings, the working directory, and
//! which of stdin, stdout and stderr are null, inherited or piped.
//!
//! It is read off the same `std::process::Command` the process-group path
//! spawns, so both paths run the same program with the same arguments and
//! environment.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where one of the child's standard streams goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildStdio {
    /// `/dev/null`.
    Null,
    /// The manager's own stream.
    Inherit,
    /// A pipe to the manager.
    Piped,
}

/// A program to start, as C strings.
#[derive(Debug)]
pub(crate) struct CloneCommand {
    pub(crate) program: CString,
    pub(crate) argv: Vec<CString>,
    pub(crate) envp: Vec<CString>,
    pub(crate) cwd: Option<CString>,
    /// stdin, stdout, stderr.
    pub(crate) stdio: [ChildStdio; 3],
}

impl CloneCommand {
    /// Reads program, arguments, environment changes and working directory
    /// off `command`; `arg0` is `argv[0]` when set and `env_cleared` whether
    /// the environment starts empty (std keeps both private).
    pub(crate) fn from_std(
        command: &Command,
        arg0: Option<&OsStr>,
        env_cleared: bool,
        stdio: [ChildStdio; 3],
    ) -> io::Result<Self> {
        let overrides: Vec<(&OsStr, Option<&OsStr>)> = command.get_envs().collect();
        let overridden = |key: &OsStr| overrides.iter().any(|(k, _)| *k == key);
        let inherited: Vec<(OsString, OsString)> = if env_cleared {
            Vec::new()
        } else {
            std::env::vars_os().collect()
        };
        let kept = inherited.iter().filter(|(k, _)| !overridden(k));
        let set = overrides
            .iter()
            .filter_map(|(k, v)| v.map(|v| (*k, v)))
            .collect::<Vec<_>>();
        let env = kept
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
            .chain(set.iter().copied());
        let mut envp = Vec::with_capacity(inherited.len() + set.len());
        let mut path_var = None;
        for (key, value) in env {
            if key == "PATH" {
                path_var = Some(value);
            }
            envp.push(env_entry(key, value)?);
        }
        let program = resolve(command.get_program(), path_var)?;
        let mut argv = vec![c_string(arg0.unwrap_or(command.get_program()))?];
        for arg in command.get_args() {
            argv.push(c_string(arg)?);
        }
        let cwd = command
            .get_current_dir()
            .map(|d| c_string(d.as_os_str()))
            .transpose()?;
        Ok(Self {
            program: c_string(program.as_os_str())?,
            argv,
            envp,
            cwd,
            stdio,
        })
    }
}

/// `key=value` as one C string, built in one allocation.
fn env_entry(key: &OsStr, value: &OsStr) -> io::Result<CString> {
    let (key, value) = (key.as_bytes(), value.as_bytes());
    let mut bytes = Vec::with_capacity(key.len() + value.len() + 2);
    bytes.extend_from_slice(key);
    bytes.push(b'=');
    bytes.extend_from_slice(value);
    CString::new(bytes).map_err(|err| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} contains a NUL byte",
                String::from_utf8_lossy(&err.into_vec())
            ),
        )
    })
}

fn c_string(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} contains a NUL byte", s.to_string_lossy()),
        )
    })
}

/// The path to exec: `program` itself when it holds a `/`, else the first
/// executable file of that name in `path_var` (the child's `PATH`), else
/// `/bin:/usr/bin`.
fn resolve(program: &OsStr, path_var: Option<&OsStr>) -> io::Result<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    let search = path_var.unwrap_or(OsStr::new("/bin:/usr/bin"));
    search
        .as_bytes()
        .split(|&b| b == b':')
        .map(|dir| {
            let dir = if dir.is_empty() { b"." as &[u8] } else { dir };
            Path::new(OsStr::from_bytes(dir)).join(program)
        })
        .find(|candidate| is_executable_file(candidate))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} not found in PATH", program.to_string_lossy()),
            )
        })
}

fn is_executable_file(path: &Path) -> bool {
    path.is_file() && rustix::fs::access(path, rustix::fs::Access::EXEC_OK).is_ok()
}

/// One `KEY=value` entry as an OS string (for tests).
#[cfg(test)]
fn entry(s: &CString) -> OsString {
    OsStr::from_bytes(s.as_bytes()).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_program_args_env_and_cwd_off_a_std_command() {
        let mut command = Command::new("sh");
        command
            .args(["-c", "true"])
            .env("PM_TEST_SET", "1")
            .env_remove("HOME")
            .current_dir("/tmp");
        let spec = CloneCommand::from_std(
            &command,
            Some(OsStr::new("my-sh")),
            false,
            [ChildStdio::Null; 3],
        )
        .unwrap();
        assert!(
            spec.program.as_bytes().ends_with(b"/sh"),
            "{:?}",
            spec.program
        );
        let argv: Vec<_> = spec.argv.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(argv, ["my-sh", "-c", "true"]);
        let env: Vec<_> = spec.envp.iter().map(entry).collect();
        assert!(env.contains(&OsString::from("PM_TEST_SET=1")));
        assert!(!env.iter().any(|e| e.as_bytes().starts_with(b"HOME=")));
        assert_eq!(spec.cwd.unwrap().to_str().unwrap(), "/tmp");
    }

    #[test]
    fn a_missing_program_is_not_found() {
        let err = resolve(OsStr::new("no-such-program-xyz"), Some(OsStr::new("/bin"))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            resolve(OsStr::new("./x"), None).unwrap(),
            PathBuf::from("./x")
        );
    }
}
