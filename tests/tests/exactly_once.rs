//! Exactly-once delivery of queued readings through a network that loses
//! responses after the server has committed them.
//!
//! A TCP proxy on loopback forwards the TLS bytes between the phone and
//! the real server without decrypting them. On every connection it lets a
//! few request and response exchanges through, then cuts the connection at
//! the first bytes of a later response, which the server writes only after
//! its handler committed. The phone must retry with the same idempotency
//! key, and the server must answer the retry with the stored response
//! instead of storing the reading again. Halfway through, the phone is
//! stopped mid-sync and reopened from its store.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sharepay_client::clock::SystemClock;
use sharepay_client::{OutboxState, SharePayClient, SyncEvent};
use sharepay_e2e::phone::{
    EventLog, TestDevice, growing_readings, household_with_reader, open_phone, quick_backoff,
    sign_in,
};
use sharepay_e2e::{TestServer, XorKeyWrapper};
use sharepay_server::ServerConfig;
use sharepay_server::data::{DataLayer, OpenMode};
use sharepay_server::http_config::{Rate, RateLimitRule};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const READINGS: usize = 1_000;
const RESTART_AFTER: usize = READINGS / 2;

/// What the proxy does with new traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Mode {
    /// Forwards everything.
    Pass = 0,
    /// Cuts every connection at one of its later responses.
    LoseResponses = 1,
    /// Closes every new connection at once: the server is unreachable.
    Down = 2,
}

struct FlakyProxy {
    addr: SocketAddr,
    mode: Arc<AtomicU8>,
    lost_responses: Arc<AtomicUsize>,
}

impl FlakyProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let mode = Arc::new(AtomicU8::new(Mode::Pass as u8));
        let lost_responses = Arc::new(AtomicUsize::new(0));
        let (task_mode, task_lost) = (Arc::clone(&mode), Arc::clone(&lost_responses));
        tokio::spawn(async move {
            let mut connection_index = 0usize;
            while let Ok((client, _)) = listener.accept().await {
                connection_index += 1;
                if task_mode.load(Ordering::SeqCst) == Mode::Down as u8 {
                    drop(client);
                    continue;
                }
                // Cut at the 4th to 8th exchange or later, so the handshake
                // and its session tickets are long done and the cut falls
                // on a response.
                let cut_from = 4 + connection_index % 5;
                tokio::spawn(relay(
                    client,
                    upstream,
                    cut_from,
                    Arc::clone(&task_mode),
                    Arc::clone(&task_lost),
                ));
            }
        });
        Self {
            addr,
            mode,
            lost_responses,
        }
    }

    fn set_mode(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

/// Relays one connection. An exchange starts when the server sends bytes
/// after the client has sent some. While the mode is
/// [`Mode::LoseResponses`], the connection is closed instead of forwarding
/// the start of exchange `cut_from` or any later one. The mode is read at
/// each exchange because the phone keeps connections open across mode
/// changes.
async fn relay(
    client: TcpStream,
    upstream: SocketAddr,
    cut_from: usize,
    mode: Arc<AtomicU8>,
    lost_responses: Arc<AtomicUsize>,
) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    // Without this, Nagle's algorithm and delayed ACKs stall each request
    // by tens of milliseconds.
    if client.set_nodelay(true).is_err() || server.set_nodelay(true).is_err() {
        return;
    }
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let client_spoke = Arc::new(std::sync::atomic::AtomicBool::new(false));

    let spoke = Arc::clone(&client_spoke);
    let upward = async move {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let read = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            };
            spoke.store(true, Ordering::SeqCst);
            if server_write.write_all(&buffer[..read]).await.is_err() {
                return;
            }
        }
    };
    let downward = async move {
        let mut buffer = vec![0u8; 16 * 1024];
        let mut exchanges = 0usize;
        loop {
            let read = match server_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            };
            if client_spoke.swap(false, Ordering::SeqCst) {
                exchanges += 1;
                let losing = mode.load(Ordering::SeqCst) == Mode::LoseResponses as u8;
                if losing && exchanges >= cut_from {
                    lost_responses.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            }
            if client_write.write_all(&buffer[..read]).await.is_err() {
                return;
            }
        }
    };
    // Whichever side ends first closes both sockets.
    tokio::select! {
        () = upward => {}
        () = downward => {}
    }
}

fn decided(client: &SharePayClient) -> usize {
    client
        .outbox_items()
        .expect("outbox")
        .iter()
        .filter(|item| item.state.is_final())
        .count()
}

/// Reads the server's count of finished reading submissions with a 2xx
/// status, replays included, from its Prometheus endpoint.
async fn successful_reading_posts(metrics: SocketAddr) -> u64 {
    let mut stream = TcpStream::connect(metrics).await.expect("metrics");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("request metrics");
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .await
        .expect("read metrics");
    text.lines()
        .filter(|line| {
            line.starts_with("http_requests_total{")
                && line.contains("method=\"POST\"")
                && line.contains("/readings")
                && line.contains("status=\"2")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_reading_stored_exactly_once() {
    let started = Instant::now();
    // The server's files and the reader's phone live in memory when the
    // machine has /dev/shm: fsync on a busy disk would dominate the run,
    // and this test is about delivery, not disk speed.
    let server_files = fast_tempdir();
    let server_files_path = server_files.path().to_path_buf();
    // One account sends over a thousand requests in seconds, far beyond the
    // default per-account budget; this test is about delivery, not limits.
    let server = TestServer::start_with(|config| {
        config.data_dir = server_files_path;
        config.http.default_rate_limit = RateLimitRule {
            per_address: Some(Rate::per_minute(1_000_000)),
            per_account: Some(Rate::per_minute(1_000_000)),
        };
    })
    .await;
    let server_config = ServerConfig {
        data_dir: server_files.path().to_path_buf(),
        ..ServerConfig::default()
    };
    let payer_dir = tempfile::tempdir().expect("phone dir");
    let reader_dir = fast_tempdir();

    // Set-up on direct connections.
    let (payer, _) = open_phone(&server, payer_dir.path(), Arc::new(SystemClock));
    sign_in(&payer, "exact.payer@example.org", true).await;
    let (reader, _) = open_phone(&server, reader_dir.path(), Arc::new(SystemClock));
    sign_in(&reader, "exact.reader@example.org", true).await;
    let setup = household_with_reader(&payer, &reader).await;
    drop(reader);

    // From now on the reader's phone talks through the proxy.
    let proxy = FlakyProxy::start(server.server.local_addr).await;
    let mut config = server.client_config(reader_dir.path());
    config.base_url = proxy.url();
    config.backoff = quick_backoff(20);
    let open_reader = || {
        let (client, events) = open_phone_with(&config);
        (Arc::new(client), events)
    };
    let (reader, _) = open_reader();

    proxy.set_mode(Mode::Down);
    reader
        .submit_readings(&growing_readings(
            &setup.meter_id,
            READINGS,
            time::macros::datetime!(2026-01-01 00:00 UTC),
            time::Duration::HOUR,
        ))
        .expect("queue readings offline");
    let offline = reader.sync_now().await;
    assert!(
        offline.is_err() || offline.as_ref().is_ok_and(|s| s.accepted == 0),
        "{offline:?}"
    );
    assert_eq!(reader.sync_state().expect("state").pending, READINGS);

    // Back online, the first call refreshes the session (the access token
    // was only in the memory of the earlier client) on a good connection:
    // a lost refresh response would end the session, see session.rs.
    proxy.set_mode(Mode::Pass);
    reader.me().await.expect("refresh through the proxy");
    proxy.set_mode(Mode::LoseResponses);

    let syncing = {
        let reader = Arc::clone(&reader);
        tokio::spawn(async move { reader.sync_now().await })
    };
    while decided(&reader) < RESTART_AFTER {
        assert!(
            !syncing.is_finished(),
            "the sync ended early: {:?}",
            syncing.await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Stop the phone in the middle of a send, as if the app were killed.
    syncing.abort();
    let _ = syncing.await;
    drop(reader);

    let (reader, events) = open_reader();
    proxy.set_mode(Mode::Pass);
    reader.me().await.expect("refresh after the restart");
    proxy.set_mode(Mode::LoseResponses);
    for _ in 0..20 {
        let summary = reader.sync_now().await;
        if summary.is_ok_and(|summary| summary.pending == 0) {
            break;
        }
    }

    let items = reader.outbox_items().expect("outbox");
    let counts = reader.sync_state().expect("state");
    assert_eq!(counts.pending, 0, "outbox drained: {counts:?}");
    assert_eq!(counts.rejected, 0, "{counts:?}");
    assert_eq!(items.len(), READINGS);
    let phone_ids: HashSet<String> = items
        .iter()
        .map(|item| item.reading_id.clone().expect("a reading id"))
        .collect();
    assert_eq!(phone_ids.len(), READINGS, "one server id per reading");
    assert!(items.iter().all(|item| matches!(
        item.state,
        OutboxState::Accepted | OutboxState::Flagged { .. }
    )));
    assert!(
        !events
            .events()
            .iter()
            .any(|event| matches!(event, SyncEvent::SessionRevoked { .. })),
        "the session survived"
    );
    let lost = proxy.lost_responses.load(Ordering::SeqCst);
    assert!(lost >= 20, "only {lost} responses were lost");
    let metrics = server.server.metrics_addr.expect("metrics listener");
    let answered = successful_reading_posts(metrics).await;
    assert!(
        answered > READINGS as u64,
        "no reading was answered twice ({answered}), so no response was lost after a commit"
    );

    // The server's own store: each reading once.
    let TestServer {
        server: running,
        data_dir: _server_dir,
    } = server;
    running.shutdown().await;
    let data = DataLayer::open(&server_config, OpenMode::ExistingOnly)
        .await
        .expect("open the server store");
    let meter_id = uuid::Uuid::parse_str(&setup.meter_id).expect("meter uuid");
    let stored = data
        .store
        .list_readings(meter_id)
        .await
        .expect("list readings");
    assert_eq!(stored.len(), READINGS, "each reading stored exactly once");
    let times: HashSet<_> = stored.iter().map(|row| row.taken_at).collect();
    assert_eq!(times.len(), READINGS, "no reading time twice");
    let server_ids: HashSet<String> = stored.iter().map(|row| row.id.to_string()).collect();
    assert_eq!(server_ids, phone_ids, "the phone holds the server's ids");

    println!(
        "lost {lost} responses, {answered} successful answers, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(payer);
}

fn fast_tempdir() -> tempfile::TempDir {
    match tempfile::tempdir_in("/dev/shm") {
        Ok(dir) => dir,
        Err(_) => tempfile::tempdir().expect("temp dir"),
    }
}

/// Opens the reader's phone with the same key wrapper as `open_phone`.
fn open_phone_with(config: &sharepay_client::ClientConfig) -> (SharePayClient, Arc<EventLog>) {
    let client = SharePayClient::new(config.clone(), Arc::new(XorKeyWrapper(0x33)))
        .expect("open the phone client");
    client.set_device_info_provider(Arc::new(TestDevice));
    let events = Arc::new(EventLog::default());
    client.set_sync_event_listener(events.clone());
    (client, events)
}
