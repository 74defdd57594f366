//! Checks of the manager's registry: duplicate ids, reusing an id after the
//! proc ended, unknown ids, and the synchronous lookups.

use std::collections::BTreeSet;

use proc_manager_core::{ProcHandle, ProcId, ProcManager, ProcStatus, SpawnError};

use super::POLITE_TIMEOUT;
use crate::conformance::runner::{Ctx, SHOULD, Step, ensure, entry, fail, within};
use crate::conformance::target::{Behavior, ConformanceTarget};

entry! {
    /// Spawning a live proc's id again fails with `SpawnError::Duplicate`
    /// naming it, and leaves the first proc untouched (still `Ready` at the same
    /// address, still the one `manager.handle()` gives, listed once).
    check_duplicate_id => duplicate_id
}

async fn duplicate_id<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let id = cx.fresh_id();
    let first = cx.spawn_as(id.clone(), Behavior::ReadyThenServe).await?;
    let addr = cx.ready(&first).await?;
    let before = first.status();
    match cx
        .try_spawn_as(id.clone(), Behavior::ReadyThenServe)
        .await?
    {
        Err(SpawnError::Duplicate { proc_id }) => ensure!(
            proc_id == id,
            "expected SpawnError::Duplicate to name {id}, it named {proc_id}"
        ),
        Err(other) => fail!(
            "expected spawning live id {id} again to fail with SpawnError::Duplicate, got {other:?}"
        ),
        Ok(second) => fail!(
            "expected spawning live id {id} again to fail with SpawnError::Duplicate, it spawned a second proc (status {:?})",
            second.status()
        ),
    }
    let after = first.status();
    ensure!(
        after == before,
        "expected the first proc to be untouched by the refused duplicate, its status went from {before:?} to {after:?}"
    );
    let Some(looked_up) = cx.manager.handle(&id) else {
        fail!("expected manager.handle({id}) to give the first proc, saw None");
    };
    ensure!(
        looked_up.status() == before && looked_up.addr() == Some(addr.clone()),
        "expected manager.handle({id}) to be the first proc (Ready at {addr}), its status is {:?}",
        looked_up.status()
    );
    let listed = cx.manager.proc_ids().iter().filter(|p| **p == id).count();
    ensure!(
        listed == 1,
        "expected proc_ids() to list {id} once, it lists it {listed} times"
    );
    Ok(())
}

entry! {
    /// Once a proc has ended, its id can be spawned again; lookups then give the
    /// new proc.
    check_id_reusable_after_end => id_reusable_after_end
}

async fn id_reusable_after_end<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let id = cx.fresh_id();
    let old = cx
        .spawn_as(
            id.clone(),
            Behavior::ExitBeforeReady {
                code: 3,
                after_ms: 200,
            },
        )
        .await?;
    let ended = cx.wait(&old).await?;
    let visible = cx.manager.status(&id);
    ensure!(
        visible.as_ref() == Some(&ended),
        "expected an ended proc to stay visible with its terminal status {ended:?} until its id is reused, manager.status() gave {visible:?}"
    );
    let new = match cx
        .try_spawn_as(id.clone(), Behavior::ReadyThenServe)
        .await?
    {
        Ok(handle) => handle,
        Err(err) => {
            fail!("expected the id {id} of an ended proc to be reusable, spawn gave error: {err}")
        }
    };
    let addr = cx.ready(&new).await?;
    let status = cx.manager.status(&id);
    ensure!(
        status.as_ref().is_some_and(|s| s.addr() == Some(&addr)),
        "expected manager.status({id}) to be the new proc (Ready at {addr}), saw {status:?}"
    );
    ensure!(
        old.status() == ended,
        "expected the old handle to keep its terminal status {ended:?}, saw {:?}",
        old.status()
    );
    let listed = cx.manager.proc_ids().iter().filter(|p| **p == id).count();
    ensure!(
        listed == 1,
        "expected proc_ids() to list reused id {id} once, it lists it {listed} times"
    );
    Ok(())
}

entry! {
    /// An id the manager never spawned: `status` and `handle` give `None` and
    /// `proc_ids` does not list it, on a fresh manager and on one with procs.
    check_unknown_id => unknown_id
}

async fn unknown_id<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let unknown = cx.fresh_id();
    let listed = cx.manager.proc_ids();
    ensure!(
        listed.is_empty(),
        "expected a fresh manager to list no procs, it lists {listed:?}"
    );
    for round in ["a fresh manager", "a manager with a live proc"] {
        let status = cx.manager.status(&unknown);
        ensure!(
            status.is_none(),
            "expected status() of unknown id {unknown} on {round} to be None, saw {status:?}"
        );
        let handle = cx.manager.handle(&unknown);
        ensure!(
            handle.is_none(),
            "expected handle() of unknown id {unknown} on {round} to be None, it gave a handle with status {:?}",
            handle.map(|h| h.status())
        );
        ensure!(
            !cx.manager.proc_ids().contains(&unknown),
            "expected proc_ids() on {round} not to list unknown id {unknown}"
        );
        if round == "a fresh manager" {
            cx.spawn(Behavior::ReadyThenServe).await?;
        }
    }
    Ok(())
}

entry! {
    /// `proc_ids` lists exactly the procs spawned; `handle(id)` gives a handle
    /// to the same proc (same id, same address, a stop through it is seen by the
    /// original); `status(id)` follows the proc to its end and keeps the
    /// terminal status.
    check_lookups => lookups
}

async fn lookups<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let serving = cx.spawn(Behavior::ReadyThenServe).await?;
    let exiting = cx
        .spawn(Behavior::ExitAfterReady {
            code: 5,
            after_ms: 300,
        })
        .await?;
    let expected: BTreeSet<ProcId> = [serving.proc_id().clone(), exiting.proc_id().clone()].into();
    let listed: BTreeSet<ProcId> = cx.manager.proc_ids().into_iter().collect();
    ensure!(
        listed == expected,
        "expected proc_ids() to be {expected:?}, saw {listed:?}"
    );

    let id = serving.proc_id().clone();
    let addr = cx.ready(&serving).await?;
    let Some(looked_up) = cx.manager.handle(&id) else {
        fail!("expected manager.handle({id}) to give a handle, saw None");
    };
    ensure!(
        looked_up.proc_id() == &id,
        "expected the looked-up handle's id to be {id}, saw {}",
        looked_up.proc_id()
    );
    let again = cx.ready(&looked_up).await?;
    ensure!(
        again == addr,
        "expected the looked-up handle to be ready at {addr}, saw {again}"
    );
    let status = cx.manager.status(&id);
    ensure!(
        status.as_ref().is_some_and(ProcStatus::is_ready),
        "expected manager.status({id}) of a ready proc to be Ready, saw {status:?}"
    );

    let stopped = match within(
        SHOULD,
        "terminate() through a looked-up handle",
        looked_up.terminate(POLITE_TIMEOUT, "conformance"),
    )
    .await?
    {
        Ok(status) => status,
        Err(err) => {
            fail!("expected terminate() through manager.handle() to succeed, got error: {err}")
        }
    };
    let original = cx.wait(&serving).await?;
    ensure!(
        original == stopped,
        "expected the original handle to see the stop made through the looked-up one ({stopped:?}), saw {original:?}"
    );

    let ended = cx.wait(&exiting).await?;
    let exiting_id = exiting.proc_id().clone();
    let kept = cx.manager.status(&exiting_id);
    ensure!(
        kept.as_ref() == Some(&ended),
        "expected manager.status() of a proc that ended to keep its terminal status {ended:?}, saw {kept:?}"
    );
    ensure!(
        cx.manager.proc_ids().contains(&exiting_id),
        "expected proc_ids() to keep listing {exiting_id} after it ended"
    );
    Ok(())
}
