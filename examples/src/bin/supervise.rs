//! Supervise: a small fleet of real programs from one manager, each with
//! its own command and its own way of saying it is ready:
//!
//! - `web`: `python3 -m http.server`, ready once its port accepts a
//!   connection (`Readiness::Connect`); we fetch a page from it;
//! - `worker`: a `sh` loop, ready when it prints `worker: ready`
//!   (`Readiness::LogLine`), reloaded with SIGHUP, stopped with SIGINT;
//! - `daemon`: a `sh` script speaking systemd's notify protocol through
//!   `systemd-notify` (`Readiness::Notify`), when that tool is installed;
//! - `echo`: our own echo child, which calls back (`Readiness::Callback`).
//!
//! Every status change is printed as it happens; then everything is stopped
//! with one deadline and the program checks it left nothing behind.
//!
//! Run it with `cargo run -p proc-manager-examples --bin supervise`. The
//! program is its own echo child: started by the manager with
//! `PROC_MANAGER_BOOTSTRAP_MODE` set, it serves echo instead.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proc_manager_bootstrap::protocol::BOOTSTRAP_MODE_ENV;
use proc_manager_bootstrap::{
    BootstrapCommand, BootstrapProcConfig, BootstrapProcHandle, BootstrapProcManager,
    BulkTerminate, ChannelAddr, ChannelTransport, ProcHandle, ProcId, ProcManager, Readiness,
    Signal, TeeSink,
};
use proc_manager_examples::show::{echo_round_trip, print_changes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SYSTEMD_NOTIFY: &str = "/usr/bin/systemd-notify";
/// The bound on every wait here, so the program always ends on its own.
const LIMIT: Duration = Duration::from_secs(20);

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    if std::env::var_os(BOOTSTRAP_MODE_ENV).is_some() {
        proc_manager_bootstrap::child::bootstrap(proc_manager_bootstrap::echo::serve);
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(supervise())
}

async fn supervise() -> Result<(), Error> {
    let started = Instant::now();
    // The manager's own command is this program, as an echo child.
    let manager = BootstrapProcManager::builder(BootstrapCommand::current_exe()?)
        .sink(std::sync::Arc::new(TeeSink::new()))
        .build();
    let socket_dir = manager.socket_dir().to_path_buf();
    let site = Site::create()?;

    let port = free_port()?;
    let web_addr: ChannelAddr = format!("tcp:127.0.0.1:{port}").parse()?;
    let mut fleet: Vec<(&str, BootstrapProcConfig)> = vec![
        (
            "web",
            BootstrapProcConfig::default()
                .command(
                    BootstrapCommand::new("python3")
                        .args(["-m", "http.server", &port.to_string()])
                        .args(["--bind", "127.0.0.1", "--directory"])
                        .arg(site.path()),
                )
                .readiness(Readiness::Connect(web_addr.clone()))
                .ready_timeout(LIMIT),
        ),
        (
            "worker",
            BootstrapProcConfig::default()
                .command(BootstrapCommand::new("/bin/sh").args(["-c", WORKER]))
                .readiness(Readiness::log_line("^worker: ready$", web_addr.clone()))
                .stop_signal(Signal::SIGINT),
        ),
        ("echo", BootstrapProcConfig::default().ready_timeout(LIMIT)),
    ];
    if Path::new(SYSTEMD_NOTIFY).exists() {
        let daemon = format!(
            "{SYSTEMD_NOTIFY} --status='loading' && {SYSTEMD_NOTIFY} --ready --status='serving' \
             && exec sleep 3600"
        );
        fleet.push((
            "daemon",
            BootstrapProcConfig::default()
                .command(BootstrapCommand::new("/bin/sh").args(["-c", &daemon]))
                .readiness(Readiness::Notify(web_addr.clone()))
                .ready_timeout(LIMIT),
        ));
    } else {
        println!("({SYSTEMD_NOTIFY} is not installed: no notify daemon in this fleet)");
    }

    let backend = ChannelAddr::any(ChannelTransport::Unix);
    let mut handles: Vec<BootstrapProcHandle> = Vec::new();
    let mut watchers = Vec::new();
    for (name, config) in fleet {
        let handle = manager
            .spawn_with(ProcId::new(name)?, backend.clone(), config)
            .await?;
        watchers.push(tokio::spawn(print_changes(handle.clone())));
        handles.push(handle);
    }
    for handle in &handles {
        let addr = tokio::time::timeout(LIMIT, handle.ready()).await??;
        let text = handle
            .status_text()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        println!("[{}] ready at {addr}{text}", handle.proc_id());
    }

    let page = http_get(port, "/index.html").await?;
    println!(
        "[web] GET /index.html: {}",
        page.lines().next().unwrap_or("")
    );
    let echo = find(&handles, "echo")?;
    if let Some(addr) = echo.addr() {
        println!(
            "[echo] echoed {:?}",
            echo_round_trip(&addr, "hello fleet").await?
        );
    }
    find(&handles, "worker")?.signal(Signal::SIGHUP)?;

    let summary = manager.terminate_all(Duration::from_secs(5), 8).await;
    println!("terminate_all: {summary}");
    for watcher in watchers {
        tokio::time::timeout(LIMIT, watcher).await??;
    }
    for handle in &handles {
        println!("[{}] ended: {}", handle.proc_id(), handle.wait().await?);
    }
    let live = manager.live_groups();
    drop(manager);
    site.remove()?;
    let runtime_left = socket_dir.exists();
    println!(
        "left behind: {live} live process groups, runtime dir {}",
        if runtime_left {
            "still there"
        } else {
            "removed"
        }
    );
    println!("done in {:.2}s", started.elapsed().as_secs_f64());
    if live > 0 || runtime_left {
        return Err("something was left behind".into());
    }
    Ok(())
}

/// Counts jobs; `worker: reloaded` on SIGHUP, a clean exit on SIGINT.
const WORKER: &str = "\
    n=0; \
    trap 'echo worker: reloaded' HUP; \
    trap 'echo \"worker: stopping after $n jobs\"; exit 0' INT; \
    echo 'worker: ready'; \
    while :; do n=$((n+1)); sleep 0.2 & wait $!; done";

fn find<'a>(
    handles: &'a [BootstrapProcHandle],
    name: &str,
) -> Result<&'a BootstrapProcHandle, Error> {
    handles
        .iter()
        .find(|h| h.proc_id().as_str() == name)
        .ok_or_else(|| format!("no proc {name}").into())
}

/// A TCP port that was free a moment ago.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// One HTTP/1.0 GET; the whole response.
async fn http_get(port: u16, path: &str) -> Result<String, Error> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .await?;
    let mut response = String::new();
    tokio::time::timeout(LIMIT, stream.read_to_string(&mut response)).await??;
    Ok(response)
}

/// The directory the web server serves, removed at the end.
struct Site(PathBuf);

impl Site {
    fn create() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("supervise-site-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("index.html"),
            "<h1>served by a supervised python</h1>\n",
        )?;
        Ok(Self(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn remove(self) -> std::io::Result<()> {
        std::fs::remove_dir_all(&self.0)
    }
}
