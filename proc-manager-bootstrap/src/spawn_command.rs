//! The [`std::process::Command`] for one spawn: the program, its arguments
//! and working dir, the environment (inherited, less the manager's own
//! protocol and notify variables, with the command's and the spawn's
//! changes, plus the variables of the proc's readiness mode: the bootstrap
//! payload only in `Callback` mode, `NOTIFY_SOCKET` and `WATCHDOG_USEC` only
//! in `Notify` mode). Its stdio and process group are set where the child
//! is started ([`crate::launcher`], [`crate::clone_spawn`]).
//!
//! What goes into it is decided by [`crate::launcher`]; forking it is
//! [`crate::spawner`]'s job.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use proc_manager_core::ChannelAddr;

use crate::command::BootstrapCommand;
use crate::config::BootstrapProcConfig;
use crate::notify::{NOTIFY_SOCKET_ENV, WATCHDOG_PID_ENV, WATCHDOG_USEC_ENV};
use crate::protocol::{BOOTSTRAP_MODE_ENV, LOG_CHANNEL_ENV};

/// The variables the manager itself gives a child, by readiness mode.
pub(crate) enum ChildEnv<'a> {
    /// Callback mode: the payload and the log channel's address.
    Protocol {
        payload: &'a str,
        log_addr: &'a ChannelAddr,
    },
    /// Notify mode: the socket and the watchdog period.
    Notify {
        socket: &'a Path,
        watchdog: Option<Duration>,
    },
    /// Nothing.
    Plain,
}

/// The command for one spawn: `spec` with this proc's extra variables and
/// the mode's own variables. (Its stdio and process group are the
/// spawner's: [`crate::launcher`] reads this command into the child it
/// starts.)
pub(crate) fn build_command(
    spec: &BootstrapCommand,
    config: &BootstrapProcConfig,
    child_env: &ChildEnv<'_>,
) -> Command {
    let mut command = Command::new(&spec.program);
    if let Some(arg0) = &spec.arg0 {
        command.arg0(arg0);
    }
    command.args(&spec.args);
    // Never pass on the manager's own protocol or notify variables (a
    // manager that is itself a bootstrap child, or runs under systemd):
    // only the ones set below for this proc's mode.
    for key in [
        BOOTSTRAP_MODE_ENV,
        LOG_CHANNEL_ENV,
        NOTIFY_SOCKET_ENV,
        WATCHDOG_USEC_ENV,
        WATCHDOG_PID_ENV,
    ] {
        command.env_remove(key);
    }
    spec.apply_env(&mut command);
    command.envs(&config.env);
    match child_env {
        ChildEnv::Protocol { payload, log_addr } => {
            command
                .env(BOOTSTRAP_MODE_ENV, payload)
                .env(LOG_CHANNEL_ENV, OsString::from(log_addr.to_string()));
        }
        ChildEnv::Notify { socket, watchdog } => {
            command.env(NOTIFY_SOCKET_ENV, socket);
            if let Some(period) = watchdog {
                command.env(WATCHDOG_USEC_ENV, period.as_micros().to_string());
            }
        }
        ChildEnv::Plain => {}
    }
    if let Some(cwd) = &spec.cwd {
        command.current_dir(cwd);
    }
    command
}
