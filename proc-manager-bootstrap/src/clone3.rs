//! `clone3(CLONE_VM | CLONE_VFORK)`, with `CLONE_FILES` when asked and
//! `CLONE_INTO_CGROUP` when the child has a cgroup, and a child that runs a
//! function on a stack of its own: the syscall and the stack switch in a few
//! lines of inline assembly (x86_64 and aarch64), because the child starts on
//! a fresh stack and must never return into the caller's frame.
//!
//! Why not just glibc's `clone()`: it cannot place the child in a cgroup,
//! and moving the child in afterwards (it writing to `cgroup.procs`) takes
//! the kernel's cgroup write locks on every spawn, measured at about 0.7 ms
//! on this kind of machine, against nothing for a child born in its cgroup.
//! Where `clone3` is missing or filtered (kernels before 5.7, seccomp
//! profiles that answer `ENOSYS`), [`crate::clone_spawn`] falls back to
//! glibc's `clone()` and the move.

use std::ffi::{c_int, c_void};
use std::io;
use std::os::fd::RawFd;

/// `clone3` on every architecture of the generic syscall table.
const SYS_CLONE3: i64 = 435;
/// Spawn straight into the cgroup given by `CloneArgs::cgroup`.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` up to `cgroup` (`CLONE_ARGS_SIZE_VER2`).
#[repr(C)]
#[derive(Debug, Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Whether this build can make the call at all.
pub(crate) const SUPPORTED: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// Starts `child(arg)` in a new process sharing our memory and, with
/// `share_files`, our descriptor table (until it unshares it), on the stack
/// `[stack_base, stack_base + stack_size)`, born in the cgroup whose
/// directory is open as `cgroup_dir` (else in ours); returns its pid once it
/// has exec'd or exited (`CLONE_VFORK`). `child` must end with `execve` or
/// `_exit`.
///
/// # Safety
///
/// `stack_base..+stack_size` must be writable memory nobody else uses
/// until this returns, its top 16-byte aligned; `child` may only make
/// async-signal-safe calls on data that stays valid until this returns;
/// all signals should be blocked by the caller.
pub(crate) unsafe fn spawn(
    cgroup_dir: Option<RawFd>,
    share_files: bool,
    stack_base: *mut c_void,
    stack_size: usize,
    child: extern "C" fn(*mut c_void) -> c_int,
    arg: *mut c_void,
) -> io::Result<u32> {
    let (into_cgroup, cgroup) = match cgroup_dir {
        Some(fd) => (
            CLONE_INTO_CGROUP,
            u64::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?,
        ),
        None => (0, 0),
    };
    let args = CloneArgs {
        flags: clone_flags(share_files) as u64 | into_cgroup,
        exit_signal: libc::SIGCHLD as u64,
        stack: stack_base as u64,
        stack_size: stack_size as u64,
        cgroup,
        ..CloneArgs::default()
    };
    // SAFETY: the caller's contract; `args` lives across the call.
    let ret = unsafe { raw_clone3(&args, child, arg) };
    if ret < 0 {
        return Err(io::Error::from_raw_os_error(
            i32::try_from(-ret).unwrap_or(libc::EINVAL),
        ));
    }
    u32::try_from(ret).map_err(|_| io::Error::other("clone3 returned a bad pid"))
}

/// `CLONE_VM | CLONE_VFORK`, and `CLONE_FILES` with `share_files`.
pub(crate) fn clone_flags(share_files: bool) -> c_int {
    let files = if share_files { libc::CLONE_FILES } else { 0 };
    libc::CLONE_VM | libc::CLONE_VFORK | files
}

/// The syscall. In the child (return value 0, on the new stack) it calls
/// `child(arg)` and exits with its result should it ever return.
#[cfg(target_arch = "x86_64")]
unsafe fn raw_clone3(
    args: &CloneArgs,
    child: extern "C" fn(*mut c_void) -> c_int,
    arg: *mut c_void,
) -> i64 {
    let ret: i64;
    // SAFETY: see `spawn`. r12/r13 survive the syscall into
    // the child; the parent path touches no stack and only rax/rcx/r11.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            // Child: on its own, 16-byte aligned stack.
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r12",
            "mov edi, eax",
            "mov eax, 60", // exit
            "syscall",
            "ud2",
            "2:",
            inlateout("rax") SYS_CLONE3 => ret,
            in("rdi") std::ptr::from_ref(args),
            in("rsi") std::mem::size_of::<CloneArgs>(),
            in("r12") child,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(target_arch = "aarch64")]
unsafe fn raw_clone3(
    args: &CloneArgs,
    child: extern "C" fn(*mut c_void) -> c_int,
    arg: *mut c_void,
) -> i64 {
    let ret: i64;
    // SAFETY: see `spawn`. x20/x21 survive the syscall into
    // the child; the parent path touches no stack and only x0.
    unsafe {
        std::arch::asm!(
            "svc 0",
            "cbnz x0, 2f",
            // Child: on its own, 16-byte aligned stack.
            "mov x29, xzr",
            "mov x30, xzr",
            "mov x0, x21",
            "blr x20",
            "mov x8, 93", // exit
            "svc 0",
            "udf 0",
            "2:",
            inlateout("x0") std::ptr::from_ref(args) => ret,
            in("x1") std::mem::size_of::<CloneArgs>(),
            in("x8") SYS_CLONE3,
            in("x20") child,
            in("x21") arg,
            options(nostack),
        );
    }
    ret
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe fn raw_clone3(
    _args: &CloneArgs,
    _child: extern "C" fn(*mut c_void) -> c_int,
    _arg: *mut c_void,
) -> i64 {
    -i64::from(libc::ENOSYS)
}
