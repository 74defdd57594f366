//! `containment_overhead`: what a cgroup per proc plus the manager-death
//! guardian cost on spawn → exit, against process groups.
//!
//! Both sides are our manager spawning the same tiny child; ours contains
//! each proc in a cgroup (made before the spawn, the child `clone`d into
//! it, emptied and removed after the exit; the guardian needs nothing per
//! spawn), the baseline in a process group (the guardian is told of each
//! group: two short writes per proc).

use std::path::Path;
use std::time::Duration;

use proc_manager_bootstrap::{BootstrapProcManager, Containment};

use crate::harness::{Better, Result, Rounds, Row, Spec, Target, alternate, bounded};
use crate::scenarios::spawn::{TINY, ours_spawn_to_exit};
use crate::scenarios::{Ctx, ours};

fn manager(containment: Containment) -> BootstrapProcManager {
    ours::manager_with(Path::new(TINY), containment)
}

pub(crate) async fn containment_overhead(ctx: &Ctx) -> Result<Row> {
    let n = ctx.pick(20, 25);
    let rounds = Rounds {
        warmup: 2,
        measured: ctx.pick(8, 30),
    };
    let cgroup = manager(Containment::Auto);
    let plain = manager(Containment::ProcessGroup);
    let in_effect = cgroup.containment();
    let spec = Spec {
        name: "containment_overhead",
        unit: "ms/proc",
        n,
        better: Better::Lower,
        targets: vec![Target::RatioAtMost(1.15)],
        note: format!(
            "{n} sequential `{TINY}` children per round, spawn then wait for the exit status; \
             ours = a cgroup per proc (containment in effect: {in_effect}) + the manager-death \
             guardian; baseline = process groups (+ the guardian told of each group).{}",
            if in_effect == Containment::Cgroup {
                ""
            } else {
                " NO WRITABLE CGROUP V2 HERE: both sides use process groups."
            }
        ),
    };
    let limit = Duration::from_secs(60);
    alternate(
        spec,
        rounds,
        async || bounded(limit, "ours (cgroup)", ours_spawn_to_exit(&cgroup, n)).await,
        async || {
            bounded(
                limit,
                "baseline (process group)",
                ours_spawn_to_exit(&plain, n),
            )
            .await
        },
    )
    .await
}
