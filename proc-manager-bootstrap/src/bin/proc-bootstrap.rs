//! The ready-made bootstrap child: a small echo service (see
//! `proc_manager_bootstrap::echo`), started by a proc manager with the
//! payload in `PROC_MANAGER_BOOTSTRAP_MODE`.

fn main() {
    proc_manager_bootstrap::child::bootstrap(proc_manager_bootstrap::echo::serve)
}
