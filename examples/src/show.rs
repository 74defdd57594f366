//! Helpers the runnable examples share: printing a proc's status changes as
//! they happen, and one round trip to the echo service.
#![allow(clippy::print_stdout)]

use proc_manager_bootstrap::{BootstrapProcHandle, ChannelAddr, ProcHandle, ProcStatus};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// Prints the status of one proc, then each change, until it ends.
pub async fn print_changes(handle: BootstrapProcHandle) {
    let mut rx = handle.watch();
    println!("[{}] status: {}", handle.proc_id(), *rx.borrow_and_update());
    while rx.changed().await.is_ok() {
        let status: ProcStatus = rx.borrow_and_update().clone();
        println!("[{}] status: {status}", handle.proc_id());
        if status.is_exit() {
            break;
        }
    }
}

/// Sends one line to the echo service at `addr` and reads it back.
pub async fn echo_round_trip(
    addr: &ChannelAddr,
    text: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let path = addr
        .as_unix_path()
        .ok_or("the echo child serves on a unix socket")?;
    let stream = UnixStream::connect(path).await?;
    let (read, mut write) = stream.into_split();
    write.write_all(format!("{text}\n").as_bytes()).await?;
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    Ok(line.trim_end().to_owned())
}
