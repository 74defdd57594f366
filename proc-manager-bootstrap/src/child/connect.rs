//! Connecting to one of the manager's addresses (callback or log channel)
//! as a boxed byte stream. Nothing protocol-specific lives here.

use std::io;

use proc_manager_core::ChannelAddr;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

/// A connected byte stream to the manager.
pub(crate) trait ManagerStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> ManagerStream for T {}

/// Connects to `addr` (Unix or TCP).
pub(crate) async fn connect(addr: &ChannelAddr) -> io::Result<Box<dyn ManagerStream>> {
    match addr {
        ChannelAddr::Unix(path) => Ok(Box::new(UnixStream::connect(path).await?)),
        ChannelAddr::Tcp(socket) => {
            let stream = TcpStream::connect(socket).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream))
        }
        other => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("cannot connect to {other}: only unix and tcp addresses are supported"),
        )),
    }
}
