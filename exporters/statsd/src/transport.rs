//! Where datagrams go: a connected UDP socket or a Unix datagram socket,
//! both non-blocking, so a send never waits for the receiver.

use hotmetrics_export::SendError;
use std::io;
use std::net::{SocketAddr, UdpSocket};
#[cfg(unix)]
use std::os::unix::net::UnixDatagram;
#[cfg(unix)]
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub(crate) enum Transport {
    Udp {
        socket: UdpSocket,
        to: SocketAddr,
    },
    #[cfg(unix)]
    /// Connected at the first send (the agent may start after us), and
    /// again after the receiver went away.
    Unix {
        path: PathBuf,
        socket: Option<UnixDatagram>,
    },
}

impl Transport {
    /// A non-blocking UDP socket on an ephemeral port, connected to `to`
    /// (so the kernel reports "port unreachable" to our sends).
    pub(crate) fn udp(to: SocketAddr) -> io::Result<Self> {
        let local: SocketAddr = if to.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let socket = UdpSocket::bind(local)?;
        socket.connect(to)?;
        socket.set_nonblocking(true)?;
        Ok(Self::Udp { socket, to })
    }

    #[cfg(unix)]
    pub(crate) fn unix(path: PathBuf) -> Self {
        Self::Unix { path, socket: None }
    }

    /// Sends one datagram. Every failure is retryable (a full socket
    /// buffer, nothing listening, no socket file yet) except one the
    /// datagram itself causes.
    pub(crate) fn send(&mut self, datagram: &[u8]) -> Result<(), SendError> {
        match self {
            Self::Udp { socket, to } => socket
                .send(datagram)
                .map_err(|e| failure(&e, &to.to_string()))
                .and_then(|sent| whole(sent, datagram)),
            #[cfg(unix)]
            Self::Unix { path, socket } => {
                let s = match socket {
                    Some(s) => s,
                    None => socket.insert(connect(path).map_err(|e| {
                        SendError::retryable(format!("cannot connect to {}: {e}", path.display()))
                    })?),
                };
                let sent = s.send(datagram).map_err(|e| {
                    if e.kind() != io::ErrorKind::WouldBlock {
                        // The receiver went away: connect afresh next time.
                        *socket = None;
                    }
                    failure(&e, &path.display().to_string())
                })?;
                whole(sent, datagram)
            }
        }
    }
}

#[cfg(unix)]
fn connect(path: &Path) -> io::Result<UnixDatagram> {
    let socket = UnixDatagram::unbound()?;
    socket.connect(path)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// A datagram goes whole or not at all; anything else is a bug to report.
fn whole(sent: usize, datagram: &[u8]) -> Result<(), SendError> {
    if sent == datagram.len() {
        Ok(())
    } else {
        Err(SendError::permanent(format!(
            "sent {sent} of a {}-byte datagram",
            datagram.len()
        )))
    }
}

fn failure(e: &io::Error, to: &str) -> SendError {
    use io::ErrorKind::*;
    match e.kind() {
        WouldBlock => SendError::retryable(format!("the socket buffer to {to} is full")),
        ConnectionRefused => SendError::retryable(format!("nothing listens at {to}")),
        Interrupted | NotConnected | ConnectionReset | NotFound | NetworkUnreachable
        | HostUnreachable | NetworkDown | AddrNotAvailable => {
            SendError::retryable(format!("cannot send to {to}: {e}"))
        }
        _ => SendError::permanent(format!("cannot send to {to}: {e}")),
    }
}
