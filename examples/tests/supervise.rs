//! The `supervise` example runs to completion on its own, brings every
//! proc of its fleet to ready, stops them all and leaves nothing behind.

use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn supervise_runs_to_completion_and_leaves_nothing_behind() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_supervise"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start supervise");
    // Read while it runs, so a full pipe can never stall it.
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).map(|_| out)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("supervise did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().expect("reader").expect("read stdout");
    assert!(status.success(), "{status}\n{out}");
    for expected in [
        "[web] GET /index.html: HTTP/1.0 200 OK",
        "[worker] ready at",
        "[echo] echoed \"hello fleet\"",
        "[worker] ended: stopped (exit code 0)",
        "left behind: 0 live process groups, runtime dir removed",
    ] {
        assert!(out.contains(expected), "{expected:?} missing from:\n{out}");
    }
}
