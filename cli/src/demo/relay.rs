//! A loopback TCP relay between one phone and the server, which the demo
//! switches off and on to take that phone offline for real.
//!
//! The relay forwards bytes and never terminates TLS, so the phone still
//! verifies the server's certificate and pins end to end. While offline it
//! accepts each new connection and closes it at once, and it cuts the
//! connections already open, so every request fails as on a dead network.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct NetworkRelay {
    local_addr: SocketAddr,
    /// `true` while the relay forwards connections.
    online: watch::Sender<bool>,
    accept_task: JoinHandle<()>,
}

impl NetworkRelay {
    /// Listens on a free loopback port and forwards to `upstream`, online.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let local_addr = listener.local_addr()?;
        let (online, online_receiver) = watch::channel(true);
        let accept_task = tokio::spawn(accept_connections(listener, upstream, online_receiver));
        Ok(Self {
            local_addr,
            online,
            accept_task,
        })
    }

    /// Returns `https://127.0.0.1:PORT`, the base URL a phone behind the
    /// relay uses.
    pub fn url(&self) -> String {
        format!("https://{}", self.local_addr)
    }

    /// Closes every relayed connection and every new one until
    /// [`NetworkRelay::go_online`].
    pub fn go_offline(&self) {
        self.online.send_replace(false);
    }

    pub fn go_online(&self) {
        self.online.send_replace(true);
    }
}

impl Drop for NetworkRelay {
    fn drop(&mut self) {
        self.go_offline();
        self.accept_task.abort();
    }
}

async fn accept_connections(
    listener: TcpListener,
    upstream: SocketAddr,
    online: watch::Receiver<bool>,
) {
    loop {
        let inbound = match listener.accept().await {
            Ok((inbound, _peer)) => inbound,
            Err(error) => {
                // The phone behind the relay stays offline from here on, and
                // its next sync reports the failure.
                tracing::error!(%error, "the demo relay failed to accept a connection; it stops");
                return;
            }
        };
        if !*online.borrow() {
            drop(inbound);
            continue;
        }
        tokio::spawn(forward(inbound, upstream, online.clone()));
    }
}

/// Copies bytes both ways until either side closes or the relay goes
/// offline.
async fn forward(mut inbound: TcpStream, upstream: SocketAddr, mut online: watch::Receiver<bool>) {
    let mut outbound = match TcpStream::connect(upstream).await {
        Ok(stream) => stream,
        Err(error) => {
            tracing::warn!(%error, %upstream, "the demo relay cannot reach the server");
            return;
        }
    };
    tokio::select! {
        result = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {
            if let Err(error) = result {
                tracing::debug!(%error, "a relayed connection ended with an error");
            }
        }
        _ = online.wait_for(|online| !*online) => {}
    }
}
