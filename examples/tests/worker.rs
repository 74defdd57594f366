//! The `worker` example end to end: the binary runs its one worker function
//! as real child processes (itself, re-executed) and every job ends as the
//! example says — including the error and the panic, whose reasons reach
//! the manager's status. (The same function as local procs is tested in the
//! binary's own tests.)

use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn the_worker_example_runs_its_jobs_as_children() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_worker"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the example starts");
    // Bounded: poll for the exit instead of waiting forever.
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the worker example did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{}\n{stdout}\n{stderr}",
        output.status
    );
    for line in [
        "[serve] ended: stopped (exit code 0)",
        "[count] ended: stopped (exit code 3)",
        "[fail] ended: failed: fail: the input shard is missing",
        "[panic] ended: failed: panicked: panic: index out of range",
        "[count] counted 3",
        "every job ended as expected",
    ] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}\n{stderr}");
    }
}
