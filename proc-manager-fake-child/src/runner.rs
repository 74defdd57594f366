//! Executes a [`FakeChildScript`] inside a bootstrap child: the body of the
//! `fake-child` binary. Writing to stdout/stderr and ending the process in
//! odd ways is this module's purpose.
//!
//! The script vocabulary lives in `script.rs`; finding the binary in
//! `locate.rs`.

use std::io::Write as _;
use std::sync::OnceLock;
use std::time::Duration;

use proc_manager_bootstrap::ChannelAddr;
use proc_manager_bootstrap::child::{Bootstrap, BoxError, ChildContext};
use proc_manager_bootstrap::echo::EchoServer;
use proc_manager_bootstrap::protocol::{ChildFrame, write_frame};
use tokio::io::AsyncReadExt as _;

use crate::script::{FakeChildScript, OnShutdown, Step, Stream};

static INHERITED_FDS: OnceLock<String> = OnceLock::new();

/// Records the fds open right now as the ones inherited at start, for
/// [`Step::ReportFds`]. Call it first thing in `main`.
pub fn record_inherited_fds() {
    let _ = INHERITED_FDS.set(describe_open_fds());
}

/// Runs the script in the payload's config (see [`FakeChildScript`]) and
/// returns the exit code. Meant as the `main` given to
/// [`proc_manager_bootstrap::child::bootstrap`].
pub async fn run(ctx: ChildContext) -> Result<i32, BoxError> {
    let script = FakeChildScript::from_config(ctx.config())
        .map_err(|e| format!("fake-child: bad script in the payload config: {e}"))?;
    let steps = run_steps(ctx.clone(), script.steps);
    match script.on_shutdown {
        OnShutdown::Exit { code, after_ms } => {
            tokio::select! {
                result = steps => result,
                reason = ctx.shutdown_requested() => {
                    say(&format!("fake-child: shutdown requested ({reason})"));
                    tokio::time::sleep(Duration::from_millis(after_ms)).await;
                    Ok(code)
                }
            }
        }
        OnShutdown::Ignore => {
            let ignoring = ctx.shutdown_requested();
            tokio::spawn(async move {
                let reason = ignoring.await;
                say(&format!("fake-child: ignoring shutdown request ({reason})"));
            });
            steps.await
        }
    }
}

/// Runs the steps; returns only for an `Exit` step (otherwise waits
/// forever once the steps are done).
async fn run_steps(ctx: ChildContext, steps: Vec<Step>) -> Result<i32, BoxError> {
    for step in steps {
        match step {
            Step::Sleep { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            Step::CallBack => call_back(&ctx).await?,
            Step::CallBackWrongToken => call_back_wrong_token(&ctx).await?,
            Step::WriteLines { stream, count } => {
                blocking(move || write_lines(stream, count)).await?
            }
            Step::WritePartial { stream, text } => {
                blocking(move || raw(stream)?.write_all(text.as_bytes())).await?
            }
            Step::Flood {
                stream,
                bytes,
                newlines,
            } => blocking(move || flood(stream, bytes, newlines)).await?,
            Step::Fork { count, sleep_secs } => fork(count, sleep_secs)?,
            Step::CloseStdout => close_stdout()?,
            Step::ReportFds => {
                let fds = INHERITED_FDS
                    .get()
                    .cloned()
                    .unwrap_or_else(describe_open_fds);
                say(&format!("fake-child: inherited fds: {fds}"));
            }
            Step::Log { level, message } => {
                let log = ctx.log();
                log.record(&level, message);
                log.flush().await;
            }
            Step::Exit { code } => return Ok(code),
            Step::Signal { signal } => {
                ctx.log().flush().await;
                die_by_signal(signal)?;
            }
            Step::Abort => {
                ctx.log().flush().await;
                abort_with_core(&ctx);
            }
        }
    }
    std::future::pending().await
}

async fn call_back(ctx: &ChildContext) -> Result<(), BoxError> {
    let server = EchoServer::bind(ctx.socket_dir()).await?;
    ctx.ready(server.addr().clone()).await?;
    tokio::spawn(server.run(std::future::pending::<()>()));
    Ok(())
}

async fn call_back_wrong_token(ctx: &ChildContext) -> Result<(), BoxError> {
    let Bootstrap::Proc {
        callback_addr,
        token,
        ..
    } = ctx.bootstrap()
    else {
        return Err("fake-child: unknown payload mode".into());
    };
    let ChannelAddr::Unix(path) = callback_addr else {
        return Err(format!("fake-child: cannot call back to {callback_addr}").into());
    };
    let mut stream = tokio::net::UnixStream::connect(path).await?;
    let hello = ChildFrame::Hello {
        token: format!("wrong-{token}"),
        pid: std::process::id(),
        addr: ChannelAddr::Unix(ctx.socket_dir().join("nowhere.sock")),
    };
    write_frame(&mut stream, &hello).await?;
    // Hold the connection until the manager drops it; that is not a
    // shutdown request.
    tokio::spawn(async move {
        let mut sink = [0u8; 256];
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    });
    Ok(())
}

async fn blocking<F>(f: F) -> std::io::Result<()>
where
    F: FnOnce() -> std::io::Result<()> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(std::io::Error::other)?
}

/// A fresh handle on the stream's fd, bypassing `std::io::stdout()`'s lock
/// and buffer: a long write never blocks the entry point's flush at exit,
/// and after [`Step::CloseStdout`] a new handle sees the new fd 1.
fn raw(stream: Stream) -> std::io::Result<std::fs::File> {
    use std::os::fd::AsFd;
    let fd = match stream {
        Stream::Stdout => std::io::stdout().as_fd().try_clone_to_owned()?,
        Stream::Stderr => std::io::stderr().as_fd().try_clone_to_owned()?,
    };
    Ok(std::fs::File::from(fd))
}

/// Bytes per `write(2)`.
const CHUNK: usize = 1 << 20;

fn write_lines(stream: Stream, count: u64) -> std::io::Result<()> {
    let mut out = raw(stream)?;
    let mut buf = Vec::with_capacity(CHUNK + 64);
    for i in 1..=count {
        writeln!(buf, "{} line {i}", stream.as_str())?;
        if buf.len() >= CHUNK {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)
}

fn flood(stream: Stream, bytes: u64, newlines: bool) -> std::io::Result<()> {
    const LINE: usize = 100;
    let mut chunk = vec![b'x'; CHUNK / LINE * LINE];
    if newlines {
        for line in chunk.chunks_mut(LINE) {
            line[LINE - 1] = b'\n';
        }
    }
    let mut out = raw(stream)?;
    let mut left = bytes;
    while left > 0 {
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
        out.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    Ok(())
}

fn fork(count: u32, sleep_secs: u64) -> std::io::Result<()> {
    for _ in 0..count {
        let child = std::process::Command::new("sleep")
            .arg(sleep_secs.to_string())
            .stdin(std::process::Stdio::null())
            .spawn()?;
        say(&format!("fake-child: grandchild pid {}", child.id()));
        // Not waited for: the grandchild outlives this process on purpose.
        drop(child);
    }
    Ok(())
}

fn close_stdout() -> std::io::Result<()> {
    std::io::stdout().flush()?;
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    nix::unistd::dup2_stdout(&null).map_err(std::io::Error::from)?;
    say("fake-child: closed stdout");
    Ok(())
}

fn die_by_signal(signal: i32) -> Result<(), BoxError> {
    use nix::sys::signal::{SigHandler, Signal, raise};
    let signal = Signal::try_from(signal)?;
    std::io::stdout().flush()?;
    // SAFETY: restoring the default action installs no handler code; the
    // process is about to die by this signal anyway. Fails (harmlessly) for
    // SIGKILL and SIGSTOP, whose action cannot be changed.
    let _ = unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) };
    raise(signal)?;
    Err(format!("fake-child: {signal} did not end the process").into())
}

fn abort_with_core(ctx: &ChildContext) -> ! {
    let _ = std::env::set_current_dir(ctx.socket_dir());
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the duration of the
    // calls; RLIMIT_CORE only affects this process.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_CORE, &limit);
        }
    }
    let _ = std::io::stdout().flush();
    std::process::abort()
}

/// One line to stderr (the fake child's narration, part of its contract).
fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `0=/dev/null 1=pipe:[123] …` for the fds open now.
fn describe_open_fds() -> String {
    let own_dir = format!("/proc/{}/fd", std::process::id());
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return "unknown".to_owned();
    };
    let mut fds: Vec<(i32, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let fd = entry.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(entry.path()).ok()?;
            let target = target.to_string_lossy().into_owned();
            (target != own_dir).then_some((fd, target))
        })
        .collect();
    fds.sort();
    fds.iter()
        .map(|(fd, target)| format!("{fd}={target}"))
        .collect::<Vec<_>>()
        .join(" ")
}
