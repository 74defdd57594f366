//! The notify socket's syscall edge: a Unix datagram socket with
//! `SO_PASSCRED`, and `recvmsg` returning the bytes, whether they were cut,
//! the sender's pid and any fds sent along (owned, so dropping them closes
//! them: that is how a `BARRIER=1` sender is answered, and how fds nobody
//! asked for are not leaked).
//!
//! What a datagram means is [`crate::notify`]'s business.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags, recvmsg,
    sockopt::set_socket_passcred,
};
use tokio::io::Interest;
use tokio::net::UnixDatagram;

/// The largest datagram taken (systemd's limit too); longer ones are cut
/// by the kernel, seen as such, and ignored.
pub(crate) const MAX_DATAGRAM: usize = 4096;
/// How many fds one datagram may carry before the rest are dropped by the
/// kernel (`MSG_CTRUNC`).
const MAX_FDS: usize = 16;

/// One received datagram.
#[derive(Debug)]
pub(crate) struct Datagram {
    /// How many bytes of the buffer it filled.
    pub(crate) len: usize,
    /// Whether it was longer than the buffer (and so cut).
    pub(crate) truncated: bool,
    /// The sender's pid, as the kernel stamped it.
    pub(crate) sender: Option<u32>,
    /// The fds it carried; closed on drop.
    pub(crate) fds: Vec<OwnedFd>,
}

/// A bound notify socket.
#[derive(Debug)]
pub(crate) struct NotifySocket {
    socket: UnixDatagram,
}

impl NotifySocket {
    /// Binds a datagram socket at `path` with sender credentials on.
    pub(crate) fn bind(path: &Path) -> io::Result<Self> {
        let socket = UnixDatagram::bind(path)?;
        set_socket_passcred(&socket, true)?;
        Ok(Self { socket })
    }

    /// Receives one datagram already queued, without waiting
    /// (`WouldBlock` when there is none).
    pub(crate) fn try_recv(&self, buf: &mut [u8]) -> io::Result<Datagram> {
        self.socket
            .try_io(Interest::READABLE, || receive(&self.socket, buf))
    }

    /// Receives one datagram into `buf`.
    pub(crate) async fn recv(&self, buf: &mut [u8]) -> io::Result<Datagram> {
        self.socket
            .async_io(Interest::READABLE, || receive(&self.socket, buf))
            .await
    }
}

fn receive(socket: &UnixDatagram, buf: &mut [u8]) -> io::Result<Datagram> {
    let mut space =
        [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS), ScmCredentials(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [io::IoSliceMut::new(buf)];
    // CLOEXEC: a child spawned meanwhile must not inherit a received fd.
    let received = recvmsg(
        socket,
        &mut iov,
        &mut control,
        RecvFlags::CMSG_CLOEXEC | RecvFlags::DONTWAIT,
    )?;
    let mut datagram = Datagram {
        len: received.bytes,
        truncated: received.flags.contains(ReturnFlags::TRUNC),
        sender: None,
        fds: Vec::new(),
    };
    for message in control.drain() {
        match message {
            RecvAncillaryMessage::ScmRights(fds) => datagram.fds.extend(fds),
            RecvAncillaryMessage::ScmCredentials(cred) => {
                datagram.sender = Some(cred.pid.as_raw_nonzero().get().unsigned_abs());
            }
            _ => {}
        }
    }
    if received.flags.contains(ReturnFlags::CTRUNC) {
        tracing::debug!(
            "a notify datagram carried more fds than taken; the kernel dropped the rest"
        );
    }
    Ok(datagram)
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::time::Duration;

    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags, sendmsg};

    use super::*;

    #[tokio::test]
    async fn stamps_the_sender_and_hands_over_fds_and_cuts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("n.sock");
        let socket = NotifySocket::bind(&path).expect("bind");
        let sender = std::os::unix::net::UnixDatagram::unbound().expect("unbound");
        sender.connect(&path).expect("connect");

        // A barrier-style datagram: text plus the write end of a pipe.
        let (read_end, write_end) = rustix::pipe::pipe().expect("pipe");
        let fds = [write_end.as_fd()];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        assert!(control.push(SendAncillaryMessage::ScmRights(&fds)));
        sendmsg(
            &sender,
            &[io::IoSlice::new(b"BARRIER=1")],
            &mut control,
            SendFlags::empty(),
        )
        .expect("sendmsg");
        drop(write_end);

        let mut buf = [0u8; MAX_DATAGRAM];
        let got = tokio::time::timeout(Duration::from_secs(10), socket.recv(&mut buf))
            .await
            .expect("in time")
            .expect("recv");
        assert_eq!(&buf[..got.len], b"BARRIER=1");
        assert!(!got.truncated);
        assert_eq!(got.sender, Some(std::process::id()));
        assert_eq!(got.fds.len(), 1);
        // Dropping the datagram closes the last write end: the reader sees EOF.
        drop(got);
        let mut byte = [0u8; 1];
        assert_eq!(rustix::io::read(&read_end, &mut byte).expect("read"), 0);

        sender.send(&[b'x'; MAX_DATAGRAM + 10]).expect("send big");
        let got = tokio::time::timeout(Duration::from_secs(10), socket.recv(&mut buf))
            .await
            .expect("in time")
            .expect("recv");
        assert!(got.truncated);
    }
}
