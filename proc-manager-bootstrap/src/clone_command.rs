//! [`CloneCommand`]: what [`crate::clone_spawn`] needs to start a program,
//! prepared in the parent so the child only makes syscalls: the resolved
//! program path, `argv` and `envp` as C strings, the working directory, and
//! which of stdin, stdout and stderr are null, inherited or piped.
//!
//! It is read off the `std::process::Command` that [`crate::spawn_command`]
//! builds (std keeps its rules for environment changes); the inherited
//! environment is copied straight from `environ`, one allocation a variable.

use std::ffi::{CStr, CString, OsStr, c_char};
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
        let overridden = |key: &[u8]| overrides.iter().any(|(k, _)| k.as_bytes() == key);
        let mut envp = Vec::new();
        let mut path_var: Option<Vec<u8>> = None;
        if !env_cleared {
            for entry in inherited_env() {
                let Some((key, value)) = split_entry(entry.to_bytes()) else {
                    continue;
                };
                if overridden(key) {
                    continue;
                }
                if key == b"PATH" {
                    path_var = Some(value.to_vec());
                }
                envp.push(entry.to_owned());
            }
        }
        for (key, value) in &overrides {
            let Some(value) = value else { continue };
            if key.as_bytes() == b"PATH" {
                path_var = Some(value.as_bytes().to_vec());
            }
            envp.push(env_entry(key, value)?);
        }
        let path_var = path_var.as_deref().map(OsStr::from_bytes);
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

/// The manager's own environment, each entry `KEY=value`, as `execve` would
/// pass it on: read straight off `environ`, as libc's `getenv` reads it.
fn inherited_env() -> impl Iterator<Item = &'static CStr> {
    unsafe extern "C" {
        static environ: *const *const c_char;
    }
    // SAFETY: `environ` is a null-terminated array of C strings, changed
    // only by setenv/putenv/unsetenv, which Rust's `set_var` and
    // `remove_var` reach only under their `unsafe` contract (no other
    // thread reads the environment meanwhile), as for `getenv`; the
    // entries are copied before anything else can run on this thread.
    let mut next = unsafe { environ };
    std::iter::from_fn(move || {
        if next.is_null() {
            return None;
        }
        // SAFETY: `next` points into the array, at or before its null end.
        let entry = unsafe { *next };
        if entry.is_null() {
            return None;
        }
        // SAFETY: a non-null entry is a NUL-terminated string, and the next
        // slot is still inside the array (its end is the null slot).
        unsafe {
            next = next.add(1);
            Some(CStr::from_ptr(entry))
        }
    })
}

/// `KEY=value` split at its first `=` after the first byte (a key may
/// start with one), or `None` for an entry that is no variable, which std
/// would not pass on either.
fn split_entry(entry: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = entry
        .iter()
        .skip(1)
        .position(|&b| b == b'=')?
        .checked_add(1)?;
    Some((entry.get(..at)?, entry.get(at + 1..)?))
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
fn entry(s: &CString) -> std::ffi::OsString {
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
        assert!(env.contains(&"PM_TEST_SET=1".into()));
        assert!(!env.iter().any(|e| e.as_bytes().starts_with(b"HOME=")));
        // The rest is the manager's environment, as std reads it.
        let inherited: Vec<std::ffi::OsString> = std::env::vars_os()
            .filter(|(key, _)| key != "HOME")
            .map(|(key, value)| {
                let mut entry = key;
                entry.push("=");
                entry.push(value);
                entry
            })
            .collect();
        assert_eq!(env.len(), inherited.len() + 1, "{env:?}");
        assert!(inherited.iter().all(|e| env.contains(e)), "{env:?}");
        assert_eq!(spec.cwd.unwrap().to_str().unwrap(), "/tmp");
    }

    #[test]
    fn an_entry_splits_at_its_first_equals_sign() {
        assert_eq!(split_entry(b"A=b=c"), Some((&b"A"[..], &b"b=c"[..])));
        assert_eq!(split_entry(b"A="), Some((&b"A"[..], &b""[..])));
        assert_eq!(split_entry(b"=C:=x"), Some((&b"=C:"[..], &b"x"[..])));
        assert_eq!(split_entry(b"odd"), None);
        assert_eq!(split_entry(b""), None);
    }

    #[test]
    fn a_cleared_environment_keeps_only_what_the_command_sets() {
        let mut command = Command::new("/bin/true");
        command.env("ONLY", "this");
        let spec = CloneCommand::from_std(&command, None, true, [ChildStdio::Null; 3]).unwrap();
        let env: Vec<_> = spec.envp.iter().map(entry).collect();
        assert_eq!(env, [std::ffi::OsString::from("ONLY=this")]);
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
