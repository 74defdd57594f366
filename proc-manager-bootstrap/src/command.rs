//! [`BootstrapCommand`]: which program a bootstrap child runs, with what
//! arguments, environment and working directory.
//!
//! How the command is started (process group, stdio, payload) is the
//! spawner's business, not this module's.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// The program every proc of a [`crate::BootstrapProcManager`] starts from.
///
/// ```
/// use proc_manager_bootstrap::BootstrapCommand;
///
/// let command = BootstrapCommand::new("/usr/local/bin/my-worker")
///     .arg("--verbose")
///     .env("RUST_LOG", "info")
///     .cwd("/tmp");
/// assert_eq!(command.args, vec!["--verbose"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BootstrapCommand {
    /// The program to run (a path, or a name looked up in `PATH`).
    pub program: PathBuf,
    /// The `argv[0]` to give it, if not the program path.
    pub arg0: Option<OsString>,
    /// Arguments after `argv[0]`.
    pub args: Vec<OsString>,
    /// Extra environment variables (the manager's environment is inherited).
    pub env: BTreeMap<OsString, OsString>,
    /// The working directory, if not the manager's.
    pub cwd: Option<PathBuf>,
}

impl BootstrapCommand {
    /// A command running `program` with no arguments.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            arg0: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: None,
        }
    }

    /// The current executable: for programs that are their own bootstrap
    /// child (see [`crate::child`]).
    pub fn current_exe() -> std::io::Result<Self> {
        Ok(Self::new(std::env::current_exe()?))
    }

    /// Appends an argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets `argv[0]`.
    pub fn arg0(mut self, arg0: impl Into<OsString>) -> Self {
        self.arg0 = Some(arg0.into());
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Sets the working directory.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }
}
