//! [`BootstrapCommand`]: which program a bootstrap child runs, with what
//! arguments, environment and working directory.
//!
//! How the command is started (process group, stdio, payload) is the
//! spawner's business, not this module's.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::PathBuf;

/// The program a proc of a [`crate::BootstrapProcManager`] starts from: the
/// manager's, or one given per spawn with
/// [`crate::BootstrapProcConfig::command`].
///
/// The child inherits the manager's environment, less what
/// [`env_remove`](Self::env_remove) and [`env_clear`](Self::env_clear)
/// take away, plus what [`env`](Self::env) sets.
///
/// ```
/// use proc_manager_bootstrap::BootstrapCommand;
///
/// let command = BootstrapCommand::new("/usr/local/bin/my-worker")
///     .arg("--verbose")
///     .env_remove("HTTP_PROXY")
///     .env("RUST_LOG", "info")
///     .cwd("/tmp");
/// assert_eq!(command.args, vec!["--verbose"]);
///
/// // Nothing inherited: only PATH.
/// let bare = BootstrapCommand::new("/bin/sh").env_clear().env("PATH", "/usr/bin:/bin");
/// assert!(bare.env_cleared);
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
    /// Inherited variables the child does not get.
    pub env_removed: BTreeSet<OsString>,
    /// Whether the child inherits nothing of the manager's environment.
    pub env_cleared: bool,
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
            env_removed: BTreeSet::new(),
            env_cleared: false,
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
        let key = key.into();
        self.env_removed.remove(&key);
        self.env.insert(key, value.into());
        self
    }

    /// Removes a variable: the child neither inherits it nor gets one set
    /// earlier with [`env`](Self::env).
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        let key = key.into();
        self.env.remove(&key);
        self.env_removed.insert(key);
        self
    }

    /// Clears the environment: the child inherits nothing, and variables set
    /// earlier are dropped; variables set afterwards are kept.
    pub fn env_clear(mut self) -> Self {
        self.env.clear();
        self.env_removed.clear();
        self.env_cleared = true;
        self
    }

    /// Puts this command's environment changes on `command`.
    pub(crate) fn apply_env(&self, command: &mut std::process::Command) {
        if self.env_cleared {
            command.env_clear();
        }
        for key in &self.env_removed {
            command.env_remove(key);
        }
        command.envs(&self.env);
    }

    /// Sets the working directory.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child_env(command: &BootstrapCommand) -> Vec<(OsString, Option<OsString>)> {
        let mut std_command = std::process::Command::new("x");
        command.apply_env(&mut std_command);
        std_command
            .get_envs()
            .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
            .collect()
    }

    #[test]
    fn remove_then_set_and_set_then_remove() {
        let command = BootstrapCommand::new("x")
            .env("A", "1")
            .env_remove("A")
            .env_remove("B")
            .env("B", "2");
        assert_eq!(
            child_env(&command),
            vec![("A".into(), None), ("B".into(), Some("2".into()))]
        );
    }

    #[test]
    fn clear_drops_earlier_settings_and_keeps_later_ones() {
        let command = BootstrapCommand::new("x")
            .env("A", "1")
            .env_remove("B")
            .env_clear()
            .env("C", "3");
        assert!(command.env_cleared);
        assert_eq!(child_env(&command), vec![("C".into(), Some("3".into()))]);
    }
}
