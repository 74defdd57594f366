//! Starting every child at `vfork` cost and, when it has a cgroup, in its
//! cgroup before it runs a single instruction of the program: the child
//! shares our memory (`CLONE_VM | CLONE_VFORK`, nothing is copied, so the
//! cost is flat in the manager's size) and runs a function on a stack of
//! its own that sets its process group, wires stdio, puts every signal back
//! to its default and clears the mask, and `execve`s.
//!
//! # Why this way
//!
//! - The child must be in its cgroup before it can fork: joining after the
//!   spawn (the parent writing the pid) leaves a window in which a fast
//!   double fork escapes.
//! - `posix_spawn` (glibc 2.36) has no cgroup attribute, and std's
//!   `pre_exec` forces a plain `fork()`, whose cost grows with the
//!   manager's memory (page tables are copied). std's `posix_spawn` also
//!   resets only SIGPIPE, so a signal the manager ignores would start
//!   ignored in every program. Children without a cgroup (process-group
//!   containment) are started here too, so both ways behave alike.
//! - So the child is born in its cgroup: `clone3(CLONE_INTO_CGROUP)` with
//!   `CLONE_VM | CLONE_VFORK` ([`crate::clone3`], a few lines of assembly
//!   for the stack switch). Measured on this kind of machine: as cheap as a
//!   plain vfork spawn.
//! - Where `clone3` is unavailable (before Linux 5.7, or filtered by a
//!   seccomp profile), glibc's `clone()` with the same flags runs the same
//!   child function, which first moves itself into the cgroup by writing
//!   `0` to its `cgroup.procs` (still before the program runs; it costs the
//!   kernel's cgroup write locks, about 0.7 ms a spawn here). This is what
//!   glibc's own `posix_spawn` does internally, plus that one write.
//!
//! The child also shares our descriptor table at first (`CLONE_FILES`, so
//! the clone copies none of it) and then takes a private copy of only the
//! descriptors below three reserved low numbers ([`crate::stdio_slots`]),
//! through which it receives its stdio: a spawn costs the same with 100 or
//! 8,000 descriptors open in the manager, and the program gets 0, 1, 2 and
//! nothing else. (Before Linux 5.9, or where `close_range` is filtered, the
//! child starts with a whole copy, as from a fork.)
//!
//! The child shares our memory, so it only makes raw syscalls through libc
//! wrappers on data the parent prepared ([`CloneCommand`]): no allocation,
//! no locks, no unwinding. All signals are blocked in the parent across
//! the clone so none of our handlers can run on the child's side before it
//! has reset them. A failure in the child is written to a shared slot (the
//! stage and `errno`) before `_exit(127)`; the parent reads it once the
//! clone returns and reaps the dead child itself.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use crate::clone_command::{ChildStdio, CloneCommand};
use crate::stdio_slots::{SlotUse, StdioSlots};

/// The child's stack: its function calls only libc syscall wrappers.
const STACK_SIZE: usize = 64 * 1024;

/// What went wrong.
#[derive(Debug)]
pub(crate) enum CloneError {
    /// The program could not be executed (missing, not executable, bad
    /// working directory).
    Exec(io::Error),
    /// The child could not join its cgroup.
    Cgroup(io::Error),
    /// Anything else (out of processes or memory, pipes, stack).
    Setup(io::Error),
}

/// A started child: its pid and the parent's ends of its piped streams.
#[derive(Debug)]
pub(crate) struct CloneChild {
    pub(crate) pid: u32,
    /// Our end of a piped stdin.
    pub(crate) stdin: Option<OwnedFd>,
    pub(crate) stdout: Option<OwnedFd>,
    pub(crate) stderr: Option<OwnedFd>,
}

/// Where in the child a failure happened.
const STAGE_NONE: i32 = 0;
const STAGE_CGROUP: i32 = 1;
const STAGE_SETUP: i32 = 2;
const STAGE_EXEC: i32 = 3;

/// Everything the child reads, prepared by the parent. Only read by the
/// child while the parent is suspended in `clone`.
struct ChildContext {
    program: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    cwd: *const c_char,
    /// `cgroup.procs` to write `0` to, on the fallback path; else `-1`.
    cgroup_procs: RawFd,
    /// Source fds for 0, 1, 2 (`-1`: leave as inherited): the stdio slots,
    /// all ≥ 3 and below `files_below`.
    stdio: [RawFd; 3],
    /// Whether the child starts sharing our descriptor table, to make a
    /// private copy of ours below `files_below` only (see
    /// [`crate::stdio_slots`]); else it starts with a whole copy.
    share_files: bool,
    files_below: u32,
    stage: AtomicI32,
    errno: AtomicI32,
}

/// Set once `clone3` was found unavailable: every later spawn takes the
/// fallback at once.
static NO_CLONE3: AtomicBool = AtomicBool::new(false);

/// Starts `command` in its own process group, inside the cgroup whose
/// directory is open as `cgroup_dir` when there is one.
pub(crate) fn spawn(
    command: &CloneCommand,
    cgroup_dir: Option<BorrowedFd<'_>>,
) -> Result<CloneChild, CloneError> {
    spawn_sharing(command, cgroup_dir, close_range_unshares())
}

/// [`spawn`], the child sharing our descriptor table until it copies the
/// low part (`share_files`), or starting with a whole copy.
fn spawn_sharing(
    command: &CloneCommand,
    cgroup_dir: Option<BorrowedFd<'_>>,
    share_files: bool,
) -> Result<CloneChild, CloneError> {
    let setup = CloneError::Setup;
    let mut child_ends: [Option<OwnedFd>; 3] = [None, None, None];
    let mut parent_ends: [Option<OwnedFd>; 3] = [None, None, None];
    for (i, mode) in command.stdio.iter().enumerate() {
        if let ChildStdio::Piped = mode {
            let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
                .map_err(|e| setup(e.into()))?;
            let (mine, theirs) = if i == 0 { (write, read) } else { (read, write) };
            child_ends[i] = Some(theirs);
            parent_ends[i] = Some(mine);
        }
    }
    let uses: [SlotUse<'_>; 3] =
        std::array::from_fn(|i| match (&command.stdio[i], &child_ends[i]) {
            (ChildStdio::Inherit, _) => SlotUse::Inherit,
            (_, Some(fd)) => SlotUse::Fd(fd.as_fd()),
            (_, None) => SlotUse::Null,
        });
    let argv = null_terminated(&command.argv);
    let envp = null_terminated(&command.envp);
    let mut context = ChildContext {
        program: command.program.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        cwd: command.cwd.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
        cgroup_procs: -1,
        stdio: [-1; 3],
        share_files,
        files_below: 3,
        stage: AtomicI32::new(STAGE_NONE),
        errno: AtomicI32::new(0),
    };
    let mut procs = None;
    let pid = SEAT.with(|seat| -> Result<u32, CloneError> {
        let mut seat = seat.borrow_mut();
        let seat = Seat::get_or_make(&mut seat).map_err(setup)?;
        context.files_below = seat.slots.limit();
        let stack = &seat.stack;
        let loaded = seat.slots.load(uses).map_err(setup)?;
        context.stdio = loaded.raw();
        if crate::clone3::SUPPORTED && !NO_CLONE3.load(Ordering::Relaxed) {
            let _blocked = BlockedSignals::block_all();
            // SAFETY: the stack is a private mapping this thread alone uses,
            // its top page-aligned; CLONE_VFORK suspends us until the child
            // has exec'd or exited, so `context` and everything it points
            // to (argv, envp, the C strings, the fds) outlive its use;
            // `child_main` only makes syscalls; all signals are blocked.
            let born = unsafe {
                crate::clone3::spawn(
                    cgroup_dir.map(|fd| fd.as_raw_fd()),
                    context.share_files,
                    stack.base(),
                    stack.size(),
                    child_main,
                    ptr::from_ref(&context).cast_mut().cast(),
                )
            };
            match born {
                Ok(pid) => return Ok(pid),
                Err(err) if matches!(err.raw_os_error(), Some(libc::ENOSYS | libc::E2BIG)) => {
                    tracing::debug!(%err, "clone3 unavailable; moving children into cgroups");
                    NO_CLONE3.store(true, Ordering::Relaxed);
                }
                Err(err) => return Err(setup(err)),
            }
        }
        if let Some(cgroup_dir) = cgroup_dir {
            let file = rustix::fs::openat(
                cgroup_dir,
                "cgroup.procs",
                rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .map_err(|e| CloneError::Cgroup(e.into()))?;
            context.cgroup_procs = file.as_raw_fd();
            procs = Some(file);
        }
        let _blocked = BlockedSignals::block_all();
        // SAFETY: as above, for glibc's clone() on the same stack.
        let pid = unsafe {
            libc::clone(
                child_main,
                stack.top(),
                crate::clone3::clone_flags(context.share_files) | libc::SIGCHLD,
                ptr::from_ref(&context).cast_mut().cast(),
            )
        };
        u32::try_from(pid).map_err(|_| setup(io::Error::last_os_error()))
    })?;
    drop(procs);
    drop(child_ends);
    let stage = context.stage.load(Ordering::Acquire);
    if stage != STAGE_NONE {
        let err = io::Error::from_raw_os_error(context.errno.load(Ordering::Acquire));
        // The child has exited (CLONE_VFORK returned); it is ours to reap.
        let mut status = 0;
        // SAFETY: waitpid on our own, just exited child; no pointers kept.
        unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        return Err(match stage {
            STAGE_CGROUP => CloneError::Cgroup(err),
            STAGE_EXEC => CloneError::Exec(err),
            _ => CloneError::Setup(err),
        });
    }
    let [stdin, stdout, stderr] = parent_ends;
    Ok(CloneChild {
        pid,
        stdin,
        stdout,
        stderr,
    })
}

fn null_terminated(strings: &[std::ffi::CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(ptr::null()))
        .collect()
}

/// What runs in the child, on the private stack, sharing the parent's
/// memory. Returns only through `_exit`.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `ChildContext` the parent keeps alive while it
    // is suspended in `clone` (see `spawn`).
    let context = unsafe { &*arg.cast::<ChildContext>() };
    // SAFETY: only syscall wrappers on fds and C strings the parent
    // prepared; nothing allocates, locks or unwinds.
    unsafe {
        if context.cgroup_procs >= 0
            && libc::write(context.cgroup_procs, b"0".as_ptr().cast(), 1) != 1
        {
            fail(context, STAGE_CGROUP);
        }
        if context.share_files && !own_descriptor_table(context.files_below) {
            fail(context, STAGE_SETUP);
        }
        if libc::setpgid(0, 0) != 0 {
            fail(context, STAGE_SETUP);
        }
        for (target, &source) in (0..).zip(context.stdio.iter()) {
            if source >= 0 && libc::dup2(source, target) < 0 {
                fail(context, STAGE_SETUP);
            }
        }
        // Nothing but 0, 1, 2 reaches the program, not even a descriptor
        // the manager's process left inheritable below the limit. (Where
        // close_range is missing, close-on-exec still closes the slots.)
        libc::syscall(libc::SYS_close_range, 3_u32, u32::MAX, 0_u32);
        if !context.cwd.is_null() && libc::chdir(context.cwd) != 0 {
            fail(context, STAGE_EXEC);
        }
        reset_signals();
        libc::execve(context.program, context.argv, context.envp);
        fail(context, STAGE_EXEC)
    }
}

/// Gives the child a descriptor table of its own, copied from ours below
/// `below` only, before it changes a single descriptor (until then it shares
/// ours: `CLONE_FILES`). Should `close_range` fail all the same (it was
/// probed, [`close_range_unshares`]; out of memory, say), `unshare` copies
/// the whole table, as a plain fork would.
///
/// # Safety
///
/// Only for the child of [`spawn`].
unsafe fn own_descriptor_table(below: u32) -> bool {
    // SAFETY: syscalls on this process's descriptor table only.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            below,
            u32::MAX,
            libc::CLOSE_RANGE_UNSHARE,
        ) == 0
            || libc::unshare(libc::CLONE_FILES) == 0
    }
}

/// Whether `close_range` can unshare a descriptor table (Linux 5.9), asked
/// once, for real: on a short-lived thread of its own, which unshares its
/// own table (a copy, dropped when it ends; nothing of ours is closed: the
/// range starts past every fd). Where the call or the flag is missing or
/// filtered (`ENOSYS`, `EPERM`, `EINVAL`), children start with a whole copy
/// of the table, as from a plain fork, since `unshare` may be filtered too.
fn close_range_unshares() -> bool {
    static UNSHARES: OnceLock<bool> = OnceLock::new();
    *UNSHARES.get_or_init(|| {
        let probe = std::thread::Builder::new()
            .name("proc-manager-probe".into())
            .spawn(|| {
                // SAFETY: on this thread's own table only: unshared, then
                // fds from u32::MAX - 1 up (none) closed in the copy.
                let ret = unsafe {
                    libc::syscall(
                        libc::SYS_close_range,
                        u32::MAX - 1,
                        u32::MAX,
                        libc::CLOSE_RANGE_UNSHARE,
                    )
                };
                ret == 0
            });
        let unshares = probe.is_ok_and(|probe| probe.join().unwrap_or(false));
        if !unshares {
            tracing::debug!("close_range cannot unshare: children copy the whole fd table");
        }
        unshares
    })
}

/// Records where and why the child failed, then ends it.
///
/// # Safety
///
/// Only for the child of [`spawn`].
unsafe fn fail(context: &ChildContext, stage: i32) -> ! {
    // SAFETY: reading errno of this (shared) thread control block.
    let errno = unsafe { *libc::__errno_location() };
    context.errno.store(errno, Ordering::Release);
    context.stage.store(stage, Ordering::Release);
    // SAFETY: ends the child without running any of the parent's exit
    // handlers.
    unsafe { libc::_exit(127) }
}

/// Puts every signal that is caught or ignored back to its default action,
/// then unblocks all. Caught: so none of the parent's handlers can run in
/// the child. Ignored: an ignored signal stays ignored across `execve`, and
/// a shell cannot even trap one it was started with ignored, so a manager
/// started as a script's background job (SIGINT and SIGQUIT ignored), under
/// `nohup` (SIGHUP) or by Rust (SIGPIPE) would pass that on to every
/// program; each starts as a service manager starts it, with defaults.
///
/// # Safety
///
/// Only for the child of [`spawn`], with all signals blocked.
unsafe fn reset_signals() {
    // SAFETY: sigaction and sigprocmask on this process only, with
    // pointers to locals.
    unsafe {
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        for signal in 1..=libc::SIGRTMAX() {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, ptr::null(), &mut old) != 0 {
                continue;
            }
            if old.sa_sigaction != libc::SIG_DFL {
                libc::sigaction(signal, &default, ptr::null_mut());
            }
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, ptr::null_mut());
    }
}

/// Blocks every signal on this thread until dropped.
struct BlockedSignals(libc::sigset_t);

impl BlockedSignals {
    fn block_all() -> Self {
        // SAFETY: plain sigset and pthread_sigmask calls on locals.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            Self(old)
        }
    }
}

impl Drop for BlockedSignals {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved in `block_all`.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, ptr::null_mut()) };
    }
}

thread_local! {
    /// What each spawning thread reuses for every spawn.
    static SEAT: RefCell<Option<Seat>> = const { RefCell::new(None) };
}

/// A spawning thread's child stack and stdio slots.
struct Seat {
    stack: Stack,
    slots: StdioSlots,
}

impl Seat {
    /// This thread's seat, made on first use or after a slot was lost.
    fn get_or_make(seat: &mut Option<Self>) -> io::Result<&mut Self> {
        if !seat.as_ref().is_some_and(|seat| seat.slots.usable()) {
            *seat = Some(Self {
                stack: Stack::new()?,
                slots: StdioSlots::new()?,
            });
        }
        seat.as_mut()
            .ok_or_else(|| io::Error::other("no spawn seat"))
    }
}

/// Makes this thread's child stack and stdio slots ahead of its first
/// spawn (a thread that spawns again and again keeps them for its life).
pub(crate) fn prepare_thread() -> io::Result<()> {
    SEAT.with(|seat| Seat::get_or_make(&mut seat.borrow_mut()).map(|_| ()))
}

/// A private mapping with a guard page below it, for the child's stack.
struct Stack {
    base: *mut c_void,
    len: usize,
}

impl Stack {
    fn new() -> io::Result<Self> {
        let guard = page_size();
        let len = STACK_SIZE + guard;
        // SAFETY: a fresh anonymous private mapping; no existing memory is
        // touched.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the lowest page of the mapping made above; a stack
        // overflow in the child then faults instead of corrupting memory.
        if unsafe { libc::mprotect(base, guard, libc::PROT_NONE) } != 0 {
            let err = io::Error::last_os_error();
            // SAFETY: unmapping the mapping made above.
            unsafe { libc::munmap(base, len) };
            return Err(err);
        }
        Ok(Self { base, len })
    }

    /// The top of the stack (it grows down), page-aligned.
    fn top(&self) -> *mut c_void {
        self.base.wrapping_byte_add(self.len)
    }

    /// The lowest usable byte (above the guard page).
    fn base(&self) -> *mut c_void {
        self.base.wrapping_byte_add(self.len - STACK_SIZE)
    }

    /// The usable size.
    fn size(&self) -> usize {
        STACK_SIZE
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `Stack::new`, used by nobody now.
        unsafe { libc::munmap(self.base, self.len) };
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096).max(4096)
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::os::fd::AsFd;
    use std::process::Command;

    use super::*;
    use crate::cgroup::ManagerCgroup;

    fn command(script: &str) -> CloneCommand {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        let stdio = [ChildStdio::Null, ChildStdio::Piped, ChildStdio::Inherit];
        CloneCommand::from_std(&command, None, false, stdio).unwrap()
    }

    fn output(child: CloneChild) -> String {
        let mut out = String::new();
        std::fs::File::from(child.stdout.unwrap())
            .read_to_string(&mut out)
            .unwrap();
        let mut status = 0;
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(child.pid as i32, &mut status, 0) };
        out
    }

    /// A manager cgroup to spawn into, or `None` (said loudly) on a
    /// machine without a writable cgroup v2.
    fn manager_cgroup() -> Option<ManagerCgroup> {
        match ManagerCgroup::create(None) {
            Ok(cgroup) => Some(cgroup),
            Err(why) => {
                eprintln!("!!! NO WRITABLE CGROUP V2 ({why}): clone_spawn test not run");
                None
            }
        }
    }

    #[test]
    fn the_child_runs_in_its_cgroup_and_its_own_group() {
        let Some(manager) = manager_cgroup() else {
            return;
        };
        let mut proc_cgroup = manager.new_proc().unwrap();
        let procs = proc_cgroup.take_dir().unwrap();
        let child = spawn(
            &command("cat /proc/self/cgroup; ps -o pgid= -p $$ || echo; echo $$"),
            Some(procs.as_fd()),
        )
        .unwrap();
        let pid = child.pid;
        let out = output(child);
        let manager_name = manager.dir().file_name().unwrap().to_str().unwrap();
        let v2_line = out
            .lines()
            .find(|l| l.starts_with("0::"))
            .unwrap_or_default();
        assert!(v2_line.ends_with(&format!("/{manager_name}/p0")), "{out}");
        let numbers: Vec<&str> = out.lines().rev().take(2).map(str::trim).collect();
        assert_eq!(
            numbers,
            [pid.to_string(), pid.to_string()],
            "pgid = pid: {out}"
        );
        assert!(!proc_cgroup.is_populated().unwrap());
        proc_cgroup.remove();
    }

    #[test]
    fn either_way_the_child_gets_its_stdio_and_its_output_ends() {
        // The second way is the one for kernels without close_range.
        for share_files in [true, false] {
            let child = spawn_sharing(&command("ls /proc/self/fd"), None, share_files).unwrap();
            // Read to the end: the slot that held the pipe's write end
            // holds /dev/null again, or this would never return.
            let out = output(child);
            let fds: Vec<&str> = out.lines().collect();
            assert_eq!(fds.get(..3), Some(&["0", "1", "2"][..]), "{out}");
            if share_files {
                // 3 is the dir `ls` reads; nothing of ours came along.
                assert_eq!(fds, ["0", "1", "2", "3"], "{out}");
            }
        }
    }

    #[test]
    fn a_missing_program_is_an_exec_error_and_leaves_no_child() {
        let Some(manager) = manager_cgroup() else {
            return;
        };
        let mut proc_cgroup = manager.new_proc().unwrap();
        let procs = proc_cgroup.take_dir().unwrap();
        let mut spec = command("true");
        spec.program = std::ffi::CString::new("/nonexistent/program").unwrap();
        match spawn(&spec, Some(procs.as_fd())) {
            Err(CloneError::Exec(err)) => assert_eq!(err.kind(), io::ErrorKind::NotFound),
            other => panic!("expected an exec error, got {other:?}"),
        }
        assert!(!proc_cgroup.is_populated().unwrap());
    }
}
