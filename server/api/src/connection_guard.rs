//! Limits on connections themselves, before any request exists: how many a
//! server and one client address may hold open, and how long a connection
//! may stay silent.
//!
//! Without them a client that completes TLS handshakes and then sends
//! nothing keeps file descriptors open until the process runs out, because
//! hyper's header read timeout only starts at the first byte of a request.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::rate_limit::address_key;

/// Counts open connections in total and per client address (IPv6 clients
/// per /64 network).
#[derive(Debug)]
pub struct ConnectionTracker {
    max_total: usize,
    max_per_address: usize,
    open: Mutex<OpenConnections>,
}

#[derive(Debug, Default)]
struct OpenConnections {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

/// Reason a new connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionRejected {
    ServerFull,
    AddressFull,
}

impl ConnectionTracker {
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_address,
            open: Mutex::new(OpenConnections::default()),
        })
    }

    /// Counts a new connection from `peer`, or rejects it when the server or
    /// that address already has its maximum open. The count drops with the
    /// returned permit.
    pub fn try_open(
        self: &Arc<Self>,
        peer: IpAddr,
    ) -> Result<ConnectionPermit, ConnectionRejected> {
        let key = address_key(peer);
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if open.total >= self.max_total {
            return Err(ConnectionRejected::ServerFull);
        }
        let count = open.per_address.entry(key).or_insert(0);
        if *count >= self.max_per_address {
            return Err(ConnectionRejected::AddressFull);
        }
        *count += 1;
        open.total += 1;
        Ok(ConnectionPermit {
            tracker: Arc::clone(self),
            key,
        })
    }

    fn close(&self, key: IpAddr) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_address.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                open.per_address.remove(&key);
            }
        }
    }
}

/// One counted connection; dropping it releases the count.
#[derive(Debug)]
pub struct ConnectionPermit {
    tracker: Arc<ConnectionTracker>,
    key: IpAddr,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.tracker.close(self.key);
    }
}

/// Wraps a connection so that it fails with `TimedOut` when no byte moves
/// in either direction for too long: `first_byte` until the client sends
/// its first byte, then `idle` between any two reads or writes.
pub struct IdleTimeout<T> {
    inner: T,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<T> IdleTimeout<T> {
    pub fn new(inner: T, first_byte: Duration, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(first_byte)),
        }
    }

    fn saw_activity(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }

    fn check_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection was idle too long",
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.saw_activity();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.check_deadline(cx).map(Err),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, data) {
            Poll::Ready(Ok(written)) => {
                if written > 0 {
                    self.saw_activity();
                }
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.check_deadline(cx).map(Err),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("IP address")
    }

    #[test]
    fn address_limit_rejects_extra_connection() {
        let tracker = ConnectionTracker::new(10, 2);
        let first = tracker.try_open(ip("192.0.2.1")).expect("first");
        let _second = tracker.try_open(ip("192.0.2.1")).expect("second");

        let third = tracker.try_open(ip("192.0.2.1"));
        assert_eq!(
            third.expect_err("over the limit"),
            ConnectionRejected::AddressFull
        );
        assert!(
            tracker.try_open(ip("192.0.2.2")).is_ok(),
            "other addresses still connect"
        );

        drop(first);
        assert!(
            tracker.try_open(ip("192.0.2.1")).is_ok(),
            "a closed connection frees its slot"
        );
    }

    #[test]
    fn server_limit_rejects_any_address() {
        let tracker = ConnectionTracker::new(1, 5);
        let _only = tracker.try_open(ip("192.0.2.1")).expect("first");

        let next = tracker.try_open(ip("198.51.100.7"));
        assert_eq!(
            next.expect_err("server full"),
            ConnectionRejected::ServerFull
        );
    }

    #[tokio::test]
    async fn silent_connection_times_out() {
        let (client, server) = tokio::io::duplex(64);
        let mut guarded =
            IdleTimeout::new(server, Duration::from_millis(50), Duration::from_secs(60));

        let mut buffer = [0u8; 8];
        let result = tokio::io::AsyncReadExt::read(&mut guarded, &mut buffer).await;
        let error = result.expect_err("a silent client must time out");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        drop(client);
    }

    #[tokio::test]
    async fn activity_extends_the_deadline() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let (mut client, server) = tokio::io::duplex(64);
        let mut guarded = IdleTimeout::new(
            server,
            Duration::from_millis(100),
            Duration::from_millis(400),
        );
        client.write_all(b"a").await.expect("write");
        let mut buffer = [0u8; 1];
        guarded.read_exact(&mut buffer).await.expect("first byte");

        // Past the first-byte deadline, but within the idle deadline.
        tokio::time::sleep(Duration::from_millis(200)).await;
        client.write_all(b"b").await.expect("write");
        guarded.read_exact(&mut buffer).await.expect("second byte");
        assert_eq!(&buffer, b"b");
    }
}
