//! Server CPU time per request of an authenticated `GET /v1/me` (JWT
//! verification, session and user reads from the store, rate limits,
//! middleware) against a bare axum + rustls hello-world handler.
//!
//! Run with `cargo bench -p sharepay-server --bench http_me`. The benchmark
//! starts itself again as a child process (`--serve`) that runs the real
//! server and, on a second listener in the same process, the hello-world
//! router over the same TLS 1.3 configuration and accept loop. With
//! `taskset`, the child runs on CPU 0 and this load generator on CPU 1.
//! It alternates short slices of the two routes over keep-alive HTTP/1.1
//! connections and reads the child's utime + stime from
//! `/proc/<pid>/stat` before and after each slice.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sharepay_server::http_config::{HttpConfig, Rate, RateLimitRule};
use sharepay_server::serve::{ListenerLimits, serve_tls};
use sharepay_server::tls::TlsMaterial;
use sharepay_server::{ServerConfig, observability};

const ROUNDS: usize = 10;
const SLICE: Duration = Duration::from_secs(2);
/// Requests in flight at once, each on its own keep-alive connection.
const CONNECTIONS: usize = 4;
const SERVER_CPU: &str = "0";
const CLIENT_CPU: &str = "1";
const PASSWORD: &str = "Amber-Lantern-Quiet-9147!";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|arg| arg == "--serve") {
        let data_dir = args
            .get(position + 1)
            .expect("--serve needs a data directory");
        serve(data_dir);
    } else {
        measure();
    }
}

/// Child mode: serves the API and the hello-world router until stdin closes.
fn serve(data_dir: &str) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let mut http = HttpConfig {
            metrics_listen: None,
            // Budgets large enough never to reject, so their checks still run.
            default_rate_limit: RateLimitRule {
                per_address: Some(Rate {
                    count: 10_000_000,
                    period: Duration::from_secs(1),
                }),
                per_account: Some(Rate {
                    count: 10_000_000,
                    period: Duration::from_secs(1),
                }),
            },
            ..HttpConfig::default()
        };
        http.rate_limits.clear();
        // Metrics are recorded as in production; logs are off in both routes.
        observability::metrics_handle().expect("metrics recorder");
        let server = sharepay_server::start(ServerConfig {
            data_dir: data_dir.into(),
            listen: "127.0.0.1:0".parse().expect("address"),
            http: http.clone(),
            ..ServerConfig::default()
        })
        .await
        .expect("start the server");

        let tls = TlsMaterial::load_or_create(&std::path::Path::new(data_dir).join("tls"))
            .expect("TLS material");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind hello");
        let hello_addr = listener.local_addr().expect("hello address");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let hello = Router::new().route("/hello", get(|| async { "hello" }));
        tokio::spawn(serve_tls(
            listener,
            tls.server_config().expect("TLS config"),
            hello,
            ListenerLimits::from_config(&http),
            stopped,
        ));

        println!("api: {}", server.url);
        println!("hello: https://{hello_addr}");
        println!("ca: {}", server.ca_certificate_path.display());
        std::io::stdout().flush().expect("flush");
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await
        .expect("wait for stdin");
        let _ = stop.send(true);
        server.shutdown().await;
    });
}

struct ServerProcess {
    child: Child,
    api: String,
    hello: String,
    ca_pem: String,
}

fn start_server_process(data_dir: &std::path::Path) -> ServerProcess {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new("taskset")
        .args(["-c", SERVER_CPU])
        .arg(exe)
        .arg("--serve")
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server process under taskset");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut next = |prefix: &str| -> String {
        let line = lines.next().expect("a start-up line").expect("read stdout");
        line.strip_prefix(prefix)
            .unwrap_or_else(|| panic!("expected {prefix}, got {line}"))
            .to_owned()
    };
    let api = next("api: ");
    let hello = next("hello: ");
    let ca_pem = std::fs::read_to_string(next("ca: ")).expect("read the CA");
    ServerProcess {
        child,
        api,
        hello,
        ca_pem,
    }
}

/// Pins this process (and the threads it starts later) to `CLIENT_CPU`.
fn pin_self() {
    let status = Command::new("taskset")
        .args(["-cp", CLIENT_CPU, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .expect("run taskset");
    assert!(status.success(), "taskset failed for the load generator");
}

/// Returns utime + stime of `pid` in clock ticks, from `/proc/<pid>/stat`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    // Fields after the command name, which ends with the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat format")
        .1
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of the line; field 3 is fields[0].
    let utime: u64 = fields[11].parse().expect("utime");
    let stime: u64 = fields[12].parse().expect("stime");
    utime + stime
}

fn clock_ticks_per_second() -> u64 {
    let output = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("run getconf");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK")
}

fn http_client(ca_pem: &str) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(certificate.expect("CA PEM")).expect("add CA");
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .expect("TLS 1.3")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .http1_only()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .expect("client")
}

/// Sends requests from `CONNECTIONS` tasks for `SLICE`; returns the count.
/// The tasks share this process's single runtime thread.
async fn run_slice(client: &reqwest::Client, url: &str, token: Option<&str>) -> u64 {
    let deadline = Instant::now() + SLICE;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        let (client, url, token) = (client.clone(), url.to_owned(), token.map(str::to_owned));
        tasks.spawn(async move {
            let mut count = 0u64;
            while Instant::now() < deadline {
                let mut request = client.get(&url);
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.expect("send");
                assert_eq!(response.status(), 200, "{url}");
                response.bytes().await.expect("body");
                count += 1;
            }
            count
        });
    }
    let mut total = 0;
    while let Some(count) = tasks.join_next().await {
        total += count.expect("load task");
    }
    total
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

/// Parent mode: drives both routes and prints the medians and their ratio.
fn measure() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut server = start_server_process(data_dir.path());
    pin_self();
    let pid = server.child.id();
    let ticks_per_second = clock_ticks_per_second() as f64;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (me, hello) = runtime.block_on(async {
        let client = http_client(&server.ca_pem);
        let body = serde_json::json!({"email": "bench@example.org", "password": PASSWORD});
        let registered = client
            .post(format!("{}/v1/auth/register", server.api))
            .json(&body)
            .send()
            .await
            .expect("register");
        assert_eq!(registered.status(), 201);
        let tokens: serde_json::Value = client
            .post(format!("{}/v1/auth/login", server.api))
            .json(&body)
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("tokens");
        let token = tokens["access_token"].as_str().expect("token").to_owned();
        let me_url = format!("{}/v1/me", server.api);
        let hello_url = format!("{}/hello", server.hello);

        // One warm-up slice of each opens the connections and fills caches.
        run_slice(&client, &me_url, Some(&token)).await;
        run_slice(&client, &hello_url, None).await;

        let mut me = Vec::new();
        let mut hello = Vec::new();
        for round in 0..ROUNDS {
            for (label, url, token, results) in [
                ("me", &me_url, Some(token.as_str()), &mut me),
                ("hello", &hello_url, None, &mut hello),
            ] {
                let before = cpu_ticks(pid);
                let count = run_slice(&client, url, token).await;
                let ticks = cpu_ticks(pid) - before;
                let micros = ticks as f64 * 1e6 / ticks_per_second / count as f64;
                println!(
                    "round {round} {label:>5}: {count:>6} requests, {micros:7.1} µs CPU/request"
                );
                results.push(micros);
            }
        }
        (median(&mut me), median(&mut hello))
    });

    println!("median server CPU per request: GET /v1/me {me:.1} µs, hello {hello:.1} µs");
    println!("ratio me/hello: {:.2}", me / hello);
    if let Some(stdin) = server.child.stdin.as_mut() {
        let _ = stdin.write_all(b"\n");
    }
    let _ = server.child.wait();
}
