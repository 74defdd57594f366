//! Checks of how a worker's end becomes its proc's status, the same on
//! every backend: `Ok(code)` is `Stopped { exit_code: code }`, `Err(e)` is
//! `Failed { reason: e.to_string() }`, a panic is
//! `Failed { reason: "panicked: …" }` — before and after the proc became
//! ready.
//!
//! They need procs running the reference [`crate::conformance::worker`], so
//! they are listed in [`crate::conformance::WORKER_CHECKS`], not in
//! [`crate::conformance::CHECKS`].

use proc_manager_core::{ProcHandle, ProcStatus};

use crate::conformance::runner::{Ctx, Step, ensure, entry, fail};
use crate::conformance::target::{Behavior, ConformanceTarget};
use crate::conformance::worker::{WORKER_ERROR, WORKER_PANIC};

entry! {
    /// A worker that returns `Ok(6)` after becoming ready ends
    /// `Stopped { exit_code: 6 }`.
    check_worker_ok_code => worker_ok_code
}

async fn worker_ok_code<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let handle = cx
        .spawn(Behavior::ExitAfterReady {
            code: 6,
            after_ms: 50,
        })
        .await?;
    let status = cx.wait(&handle).await?;
    ensure!(
        matches!(status, ProcStatus::Stopped { exit_code: 6, .. }),
        "expected a worker that returns Ok(6) to end Stopped {{ exit_code: 6 }}, saw {status:?}"
    );
    Ok(())
}

entry! {
    /// A worker that returns `Err(e)` ends `Failed { reason: e.to_string() }`,
    /// whether it failed before or after becoming ready (a child process
    /// must tell its manager the error: its exit code alone does not say
    /// it).
    check_worker_error_reason => worker_error_reason
}

async fn worker_error_reason<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    for after_ready in [false, true] {
        let behavior = Behavior::FailWithError { after_ready };
        expect_failed(cx, behavior, WORKER_ERROR).await?;
    }
    Ok(())
}

entry! {
    /// A worker that panics ends `Failed { reason: "panicked: <message>" }`,
    /// whether it panicked before or after becoming ready (a child process
    /// must tell its manager the panic: "exit code 101" does not say it).
    check_worker_panic_reason => worker_panic_reason
}

async fn worker_panic_reason<T: ConformanceTarget>(cx: &mut Ctx<'_, T>) -> Step {
    let expected = format!("panicked: {WORKER_PANIC}");
    for after_ready in [false, true] {
        expect_failed(cx, Behavior::Panic { after_ready }, &expected).await?;
    }
    Ok(())
}

/// Spawns `behavior` (becoming ready first if it says so), waits for its
/// end and checks it is `Failed { reason: expected }`.
async fn expect_failed<T: ConformanceTarget>(
    cx: &mut Ctx<'_, T>,
    behavior: Behavior,
    expected: &str,
) -> Step {
    let handle = cx.spawn(behavior).await?;
    let status = cx.wait(&handle).await?;
    let ProcStatus::Failed { reason, .. } = &status else {
        fail!(
            "expected a worker acting {behavior:?} to end Failed {{ reason: {expected:?} }}, saw {status:?}"
        );
    };
    ensure!(
        reason == expected,
        "expected a worker acting {behavior:?} to end Failed {{ reason: {expected:?} }}, the reason was {reason:?}"
    );
    let via_manager = handle.status();
    ensure!(
        via_manager == status,
        "expected the handle's status after wait() to be {status:?}, saw {via_manager:?}"
    );
    Ok(())
}
