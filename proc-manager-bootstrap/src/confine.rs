//! [`Confinement`]: the containment in effect for one manager, decided once
//! at build: the manager cgroup (or why there is none), the manager-death
//! guardian (started on the first spawn), and the subreaper.
//!
//! The public switch is [`Containment`]; the cgroups are
//! [`crate::cgroup`]'s, the guardian [`crate::guardian`]'s, reaping orphans
//! [`crate::subreaper`]'s.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use proc_manager_core::{ProcId, SpawnError};

use crate::cgroup::{CgroupUnavailable, ManagerCgroup, ProcCgroup};
use crate::containment::Containment;
use crate::guardian::Guardian;
use crate::runtime_dir::RuntimeDir;
use crate::table::GroupTable;

/// The containment options of the builder.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContainmentOptions {
    pub(crate) containment: Containment,
    pub(crate) cgroup_root: Option<PathBuf>,
    pub(crate) subreaper: bool,
}

/// What one manager does to keep its procs contained. See the module docs.
#[derive(Debug)]
pub(crate) struct Confinement {
    /// `Cgroup` or `ProcessGroup`.
    mode: Containment,
    /// Dropped before the guardian (declaration order): cleanup first.
    cgroup: Option<ManagerCgroup>,
    /// Cgroups were demanded and cannot be made: every spawn fails so.
    unavailable: Option<CgroupUnavailable>,
    subreaper: bool,
    guardian: OnceLock<Option<Arc<Guardian>>>,
}

impl Confinement {
    /// Decides the mode: `Cgroup` when asked for (or `Auto`) and a manager
    /// cgroup can be made; `Auto` without a `cgroup_root` falls back to
    /// process groups with one `info` line saying why; `Cgroup`, or an
    /// explicit `cgroup_root` that does not work, keeps the reason for
    /// every spawn to fail with.
    pub(crate) fn new(options: &ContainmentOptions) -> Self {
        let subreaper = options.subreaper || crate::subreaper::is_pid1();
        if subreaper {
            if let Err(err) = crate::subreaper::become_subreaper() {
                tracing::warn!(%err, "cannot become a child subreaper");
            }
        }
        let mut made = Self {
            mode: Containment::ProcessGroup,
            cgroup: None,
            unavailable: None,
            subreaper,
            guardian: OnceLock::new(),
        };
        if options.containment == Containment::ProcessGroup {
            return made;
        }
        match ManagerCgroup::create(options.cgroup_root.as_deref()) {
            Ok(cgroup) => {
                tracing::debug!(path = %cgroup.dir().display(), "containment: a cgroup per proc");
                made.mode = Containment::Cgroup;
                made.cgroup = Some(cgroup);
            }
            Err(why)
                if options.containment == Containment::Auto && options.cgroup_root.is_none() =>
            {
                tracing::info!("containment: process groups, not cgroups ({why})");
            }
            Err(why) => {
                tracing::error!("containment: cgroups demanded but unavailable ({why})");
                made.mode = Containment::Cgroup;
                made.unavailable = Some(why);
            }
        }
        made
    }

    /// The mode in effect: `Cgroup` or `ProcessGroup`.
    pub(crate) fn mode(&self) -> Containment {
        self.mode
    }

    /// The manager cgroup, when procs get cgroups.
    pub(crate) fn manager_cgroup(&self) -> Option<&Path> {
        self.cgroup.as_ref().map(ManagerCgroup::dir)
    }

    /// Checks a spawn may go ahead and makes its cgroup (none without
    /// cgroups).
    pub(crate) fn prepare(&self, proc_id: &ProcId) -> Result<Option<ProcCgroup>, SpawnError> {
        if let Some(why) = &self.unavailable {
            return Err(SpawnError::BadConfig {
                proc_id: proc_id.clone(),
                reason: format!("Containment::Cgroup is impossible here: {why}"),
            });
        }
        let Some(cgroup) = &self.cgroup else {
            return Ok(None);
        };
        cgroup
            .new_proc()
            .map(Some)
            .map_err(|source| SpawnError::Io {
                proc_id: proc_id.clone(),
                source: std::io::Error::new(
                    source.kind(),
                    format!(
                        "cannot create a cgroup in {}: {source}",
                        cgroup.dir().display()
                    ),
                ),
            })
    }

    /// On the first spawn (the runtime dir exists, and we are on the
    /// caller's runtime): starts the guardian, mirrors the live groups to it
    /// when there are no cgroups, starts reaping orphans when a subreaper,
    /// and sweeps what dead managers left. A guardian that cannot start is
    /// logged; the spawn goes on (the manager's own `Drop` still cleans up).
    pub(crate) fn first_spawn(&self, runtime: &RuntimeDir, table: &Arc<GroupTable>) {
        self.guardian.get_or_init(|| {
            let owned = runtime.owned().then(|| runtime.path());
            let guardian = match Guardian::start(self.manager_cgroup(), owned) {
                Ok(guardian) => Some(Arc::new(guardian)),
                Err(err) => {
                    tracing::warn!(%err, "cannot start the manager-death guardian");
                    None
                }
            };
            if let (Some(guardian), None) = (&guardian, &self.cgroup) {
                table.mirror_to(guardian.clone());
            }
            if self.subreaper {
                let name = self
                    .manager_cgroup()
                    .and_then(Path::file_name)
                    .map(|n| n.to_string_lossy().into_owned());
                let guardian_pid = guardian.as_ref().map(|g| g.pid());
                crate::subreaper::start_reaping(Arc::downgrade(table), guardian_pid, name);
            }
            let cgroup_base = self
                .manager_cgroup()
                .and_then(Path::parent)
                .map(Path::to_path_buf);
            crate::sweep::sweep_in_background(crate::runtime_dir::default_bases(), cgroup_base);
            guardian
        });
    }

    /// SIGKILLs every process of every proc, when procs have cgroups.
    pub(crate) fn kill_all(&self) {
        if let Some(cgroup) = &self.cgroup {
            if let Err(err) = cgroup.kill_all() {
                tracing::warn!(%err, "cgroup.kill of the manager cgroup failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> ProcId {
        ProcId::new("p").expect("valid id")
    }

    #[test]
    fn process_groups_never_touch_cgroups() {
        let confinement = Confinement::new(&ContainmentOptions {
            containment: Containment::ProcessGroup,
            cgroup_root: Some(PathBuf::from("/nonexistent")),
            subreaper: false,
        });
        assert_eq!(confinement.mode(), Containment::ProcessGroup);
        assert!(confinement.manager_cgroup().is_none());
        assert!(
            confinement
                .prepare(&id())
                .expect("no cgroup needed")
                .is_none()
        );
    }

    #[test]
    fn a_bad_root_fails_every_spawn_naming_it_under_auto_and_cgroup() {
        for containment in [Containment::Auto, Containment::Cgroup] {
            let confinement = Confinement::new(&ContainmentOptions {
                containment,
                cgroup_root: Some(PathBuf::from("/nonexistent/cg")),
                subreaper: false,
            });
            assert_eq!(confinement.mode(), Containment::Cgroup);
            match confinement.prepare(&id()) {
                Err(SpawnError::BadConfig { reason, .. }) => {
                    assert!(reason.contains("/nonexistent/cg"), "{reason}")
                }
                other => panic!("expected BadConfig, got {other:?}"),
            }
        }
    }
}
