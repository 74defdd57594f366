//! The scripted bootstrap child used by tests: see
//! `proc_manager_testkit::fake_child::FakeChildScript`.

fn main() {
    proc_manager_testkit::fake_child::record_inherited_fds();
    proc_manager_bootstrap::child::bootstrap(proc_manager_testkit::fake_child::run)
}
