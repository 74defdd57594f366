//! The janitor: one low-priority thread, started on first use, that does
//! the housekeeping an ended proc leaves, off the path of whoever waits for
//! the end: removing its private dir (unlinks on a disk-backed temp dir
//! cost up to a millisecond each) and its empty cgroup (an `rmdir` that
//! takes the kernel's cgroup lock). Hundreds of procs ending at once must
//! not stall the async runtime, nor delay their terminal statuses, on that.
//!
//! What a job removes, and how, is its sender's business; this module only
//! runs jobs, in order, and runs one inline if the thread cannot be had.

use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

/// One piece of housekeeping.
type Job = Box<dyn FnOnce() + Send>;

/// Runs `job` on the janitor thread, or here if it cannot be started.
pub(crate) fn later(job: impl FnOnce() + Send + 'static) {
    static JANITOR: OnceLock<Option<Mutex<mpsc::Sender<Job>>>> = OnceLock::new();
    let janitor = JANITOR.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("proc-manager-janitor".into())
            .spawn(move || {
                lower_this_threads_priority();
                while let Ok(job) = rx.recv() {
                    job();
                }
            })
            .ok()
            .map(|_| Mutex::new(tx))
    });
    let job: Job = Box::new(job);
    let unsent = match janitor {
        Some(tx) => tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .err()
            .map(|e| e.0),
        None => Some(job),
    };
    if let Some(job) = unsent {
        job();
    }
}

/// Housekeeping yields to real work: on a busy machine the janitor runs
/// when the CPU is otherwise idle (Linux `setpriority` is per thread).
fn lower_this_threads_priority() {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    // SAFETY: plain syscall on our own thread id; failure is harmless.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19) };
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn jobs_run_in_order_off_the_calling_thread() {
        let (tx, rx) = std::sync::mpsc::channel();
        let caller = std::thread::current().id();
        for i in 0..3 {
            let tx = tx.clone();
            super::later(move || {
                let _ = tx.send((i, std::thread::current().id()));
            });
        }
        let got: Vec<_> = (0..3)
            .map(|_| rx.recv_timeout(Duration::from_secs(30)).expect("job ran"))
            .collect();
        assert_eq!(got.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(got.iter().all(|(_, thread)| *thread != caller));
    }
}
