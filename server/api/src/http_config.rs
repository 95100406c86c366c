//! Settings of the HTTP layer: TLS files, limits, timeouts, rate limits,
//! logging format and the metrics listener.
//!
//! The server configuration embeds [`HttpConfig`] as its `http` section and
//! calls [`HttpConfig::validate`] at start-up. Every default is safe for a
//! server exposed to the internet; nothing here is a secret.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

/// The route key of the login route, as rate limits and body limits name it.
pub const LOGIN_ROUTE: &str = "POST /v1/auth/login";
/// The route key of the registration route.
pub const REGISTER_ROUTE: &str = "POST /v1/auth/register";

/// Settings of the HTTPS listener, the request limits and the admin listener.
///
/// Route keys are `"METHOD /matched/path"`, with path parameters written as
/// in the router (`"GET /v1/households/{household_id}"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// PEM certificate chain, leaf first. With `tls_key_file` it replaces the
    /// certificate that the server creates in its data directory.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the leaf certificate.
    pub tls_key_file: Option<PathBuf>,
    /// Largest request body in bytes, unless `route_body_limits` says otherwise.
    pub body_limit_bytes: usize,
    /// Largest request body in bytes per route key.
    pub route_body_limits: BTreeMap<String, usize>,
    /// Largest header section in bytes: hyper's HTTP/1 read buffer and the
    /// HTTP/2 header list size.
    pub max_header_bytes: usize,
    /// Time a handler gets before the client receives 503 `timeout`.
    pub request_timeout_secs: u64,
    /// Time a client gets to send a request's headers over HTTP/1.
    pub header_read_timeout_secs: u64,
    /// Time a client gets to finish the TLS handshake.
    pub tls_handshake_timeout_secs: u64,
    /// Interval of HTTP/2 PING frames on an idle connection.
    pub http2_keep_alive_interval_secs: u64,
    /// Time an HTTP/2 client gets to answer a PING before the connection closes.
    pub http2_keep_alive_timeout_secs: u64,
    /// Time in-flight requests get to finish after a shutdown starts.
    pub shutdown_grace_secs: u64,
    /// Requests handled at once; further requests get 503 `overloaded`.
    pub max_concurrent_requests: usize,
    /// Seconds a connection may move no byte in either direction before it
    /// is closed. Until the first byte of the first request the shorter
    /// `header_read_timeout_secs` applies instead.
    pub idle_timeout_secs: u64,
    /// Connections open at once; further connections are closed unanswered.
    pub max_connections: usize,
    /// Connections open at once from one client address (IPv6 clients per
    /// /64 network). Phones behind one carrier NAT share an address, so keep
    /// this well above what one phone opens.
    pub max_connections_per_address: usize,
    /// Proxies (IP addresses or CIDR blocks) whose `X-Forwarded-For` header
    /// is believed. From any other peer the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// Budget of every route that `rate_limits` does not name.
    pub default_rate_limit: RateLimitRule,
    /// Budgets per route key. They are merged over the built-in budgets of
    /// login and registration, so naming one route keeps the others.
    pub rate_limits: BTreeMap<String, RateLimitRule>,
    /// Most keys (addresses or accounts) one budget tracks. Keys idle for a
    /// whole period are evicted first; when the table is still full, new keys
    /// are rejected with 429 until old ones expire.
    pub rate_limit_max_keys: usize,
    /// Log lines as JSON objects (`json`) or as readable text (`text`).
    pub log_format: LogFormat,
    /// Address of the plain-HTTP admin listener that serves `/metrics`.
    /// Keep it on loopback; `"off"` turns it off.
    #[serde(deserialize_with = "metrics_listen_or_off")]
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            tls_cert_file: None,
            tls_key_file: None,
            body_limit_bytes: 64 * 1024,
            route_body_limits: BTreeMap::new(),
            max_header_bytes: 16 * 1024,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            tls_handshake_timeout_secs: 10,
            http2_keep_alive_interval_secs: 30,
            http2_keep_alive_timeout_secs: 10,
            shutdown_grace_secs: 20,
            max_concurrent_requests: 512,
            idle_timeout_secs: 60,
            max_connections: 8192,
            max_connections_per_address: 256,
            trusted_proxies: Vec::new(),
            default_rate_limit: RateLimitRule {
                per_address: Some(Rate::per_minute(600)),
                per_account: Some(Rate::per_minute(300)),
            },
            rate_limits: BTreeMap::new(),
            rate_limit_max_keys: 100_000,
            log_format: LogFormat::Text,
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
        }
    }
}

/// Reads `metrics_listen`: a socket address, or `"off"` for no listener
/// (TOML has no null).
fn metrics_listen_or_off<'de, D>(deserializer: D) -> Result<Option<SocketAddr>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let text = String::deserialize(deserializer)?;
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.trim().parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "`{text}` is not an address like 127.0.0.1:9464; give one, or \"off\" for no metrics listener"
        ))
    })
}

/// Format of log lines on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The budgets of one route. A missing budget is not enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitRule {
    /// Budget per client address (IPv6 clients per /64 network).
    pub per_address: Option<Rate>,
    /// Budget per account: the signed-in user, or the email of a login.
    pub per_account: Option<Rate>,
}

/// A budget of `count` requests per `period`, written `"10/min"`. A client
/// may spend the whole count at once; it then gets one request back every
/// `period / count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

impl Rate {
    pub const fn per_minute(count: u32) -> Self {
        Self {
            count,
            period: Duration::from_secs(60),
        }
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let invalid = || {
            format!(
                "invalid rate {text:?}: write COUNT/UNIT such as \"10/min\", with UNIT one of s, min, hour"
            )
        };
        let (count, unit) = text.trim().split_once('/').ok_or_else(invalid)?;
        let count: u32 = count.trim().parse().map_err(|_| invalid())?;
        let seconds = match unit.trim() {
            "s" | "sec" | "second" => 1,
            "min" | "minute" => 60,
            "h" | "hour" => 3600,
            _ => return Err(invalid()),
        };
        if count == 0 {
            return Err(format!(
                "invalid rate {text:?}: the count must be at least 1; omit the budget to turn it off"
            ));
        }
        Ok(Self {
            count,
            period: Duration::from_secs(seconds),
        })
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl HttpConfig {
    /// Checks every setting; the message names the field and the fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err(
                "http.tls_cert_file and http.tls_key_file must be set together, or neither"
                    .to_owned(),
            );
        }
        check_positive("http.body_limit_bytes", self.body_limit_bytes as u64)?;
        for (route, limit) in &self.route_body_limits {
            check_route_key("http.route_body_limits", route)?;
            check_positive(
                &format!("http.route_body_limits.\"{route}\""),
                *limit as u64,
            )?;
        }
        // hyper's HTTP/1 read buffer cannot be smaller than 8192 bytes.
        if self.max_header_bytes < 8192 {
            return Err(format!(
                "http.max_header_bytes is {}, but must be at least 8192",
                self.max_header_bytes
            ));
        }
        for (name, value) in [
            ("http.request_timeout_secs", self.request_timeout_secs),
            (
                "http.header_read_timeout_secs",
                self.header_read_timeout_secs,
            ),
            (
                "http.tls_handshake_timeout_secs",
                self.tls_handshake_timeout_secs,
            ),
            (
                "http.http2_keep_alive_interval_secs",
                self.http2_keep_alive_interval_secs,
            ),
            (
                "http.http2_keep_alive_timeout_secs",
                self.http2_keep_alive_timeout_secs,
            ),
            (
                "http.max_concurrent_requests",
                self.max_concurrent_requests as u64,
            ),
            ("http.rate_limit_max_keys", self.rate_limit_max_keys as u64),
            ("http.idle_timeout_secs", self.idle_timeout_secs),
            ("http.max_connections", self.max_connections as u64),
            (
                "http.max_connections_per_address",
                self.max_connections_per_address as u64,
            ),
        ] {
            check_positive(name, value)?;
        }
        // A connection must not be closed as idle while its request is
        // still allowed to run.
        if self.idle_timeout_secs <= self.request_timeout_secs {
            return Err(format!(
                "http.idle_timeout_secs ({}) must be longer than http.request_timeout_secs ({})",
                self.idle_timeout_secs, self.request_timeout_secs
            ));
        }
        self.trusted_proxy_networks()?;
        for route in self.rate_limits.keys() {
            check_route_key("http.rate_limits", route)?;
        }
        Ok(())
    }

    /// Parses `trusted_proxies`; a bare address is a /32 or /128 network.
    pub fn trusted_proxy_networks(&self) -> Result<Vec<IpNet>, String> {
        self.trusted_proxies
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "http.trusted_proxies entry {entry:?} is not an IP address or CIDR block such as 10.0.0.0/8"
                        )
                    })
            })
            .collect()
    }

    /// Returns the budgets of every configured route: the built-in login
    /// and registration budgets, overridden by `rate_limits`.
    pub fn effective_rate_limits(&self) -> BTreeMap<String, RateLimitRule> {
        let mut rules = BTreeMap::from([
            // Phones behind carrier-grade NAT share one IPv4 address, so the
            // per-address budgets are looser than the per-account one.
            (
                LOGIN_ROUTE.to_owned(),
                RateLimitRule {
                    per_address: Some(Rate::per_minute(30)),
                    per_account: Some(Rate::per_minute(5)),
                },
            ),
            (
                REGISTER_ROUTE.to_owned(),
                RateLimitRule {
                    per_address: Some(Rate::per_minute(10)),
                    per_account: None,
                },
            ),
            // A phone sends a batch when it reconnects, not per request.
            (
                crate::security::pin_failures::PIN_FAILURES_ROUTE.to_owned(),
                RateLimitRule {
                    per_address: Some(Rate::per_minute(10)),
                    per_account: None,
                },
            ),
            (
                crate::service::oauth::OAUTH_TOKEN_ROUTE.to_owned(),
                RateLimitRule {
                    per_address: Some(Rate::per_minute(30)),
                    per_account: None,
                },
            ),
        ]);
        rules.extend(crate::identity::mfa::code_route_budgets());
        rules.extend(self.rate_limits.clone());
        rules
    }

    /// Returns the body limit of a route key.
    pub fn body_limit_for(&self, route: &str) -> usize {
        self.route_body_limits
            .get(route)
            .copied()
            .unwrap_or(self.body_limit_bytes)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}

fn check_positive(name: &str, value: u64) -> Result<(), String> {
    if value == 0 {
        return Err(format!("{name} is 0, but must be at least 1"));
    }
    Ok(())
}

fn check_route_key(section: &str, route: &str) -> Result<(), String> {
    let valid = route.split_once(' ').is_some_and(|(method, path)| {
        !method.is_empty()
            && method.chars().all(|c| c.is_ascii_uppercase())
            && path.starts_with('/')
    });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{section} key {route:?} must be \"METHOD /path\", such as \"POST /v1/auth/login\""
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(HttpConfig::default().validate(), Ok(()));
    }

    #[test]
    fn metrics_listener_takes_an_address_or_off() {
        let parse = |text: &str| toml::from_str::<HttpConfig>(text).map(|c| c.metrics_listen);
        assert_eq!(parse(""), Ok(HttpConfig::default().metrics_listen));
        assert_eq!(
            parse("metrics_listen = \"127.0.0.1:9999\""),
            Ok(Some(SocketAddr::from(([127, 0, 0, 1], 9999))))
        );
        assert_eq!(parse("metrics_listen = \"off\""), Ok(None));
        let error = parse("metrics_listen = \"9464\"").expect_err("a port alone");
        assert!(
            error
                .to_string()
                .contains("\"off\" for no metrics listener")
        );
    }

    #[test]
    fn rate_parses_count_and_unit() {
        assert_eq!("10/min".parse::<Rate>(), Ok(Rate::per_minute(10)));
        let hourly: Rate = "3/hour".parse().expect("hourly rate");
        assert_eq!(hourly.period, Duration::from_secs(3600));
        assert!("0/min".parse::<Rate>().is_err());
        assert!("ten/min".parse::<Rate>().is_err());
        assert!("10/week".parse::<Rate>().is_err());
    }

    #[test]
    fn configured_route_keeps_builtin_budgets() {
        let mut config = HttpConfig::default();
        config.rate_limits.insert(
            LOGIN_ROUTE.to_owned(),
            RateLimitRule {
                per_address: Some(Rate::per_minute(3)),
                per_account: None,
            },
        );

        let rules = config.effective_rate_limits();
        assert_eq!(rules[LOGIN_ROUTE].per_address, Some(Rate::per_minute(3)));
        assert_eq!(rules[LOGIN_ROUTE].per_account, None);
        assert_eq!(
            rules[REGISTER_ROUTE].per_address,
            Some(Rate::per_minute(10))
        );
    }

    #[test]
    fn trusted_proxies_accept_addresses_and_blocks() {
        let config = HttpConfig {
            trusted_proxies: vec!["10.0.0.0/8".to_owned(), "::1".to_owned()],
            ..HttpConfig::default()
        };
        let networks = config.trusted_proxy_networks().expect("valid entries");
        assert_eq!(networks.len(), 2);
        assert!(networks[1].contains(&"::1".parse::<IpAddr>().expect("address")));

        let invalid = HttpConfig {
            trusted_proxies: vec!["10.0.0.300".to_owned()],
            ..HttpConfig::default()
        };
        assert!(invalid.validate().is_err());
    }

    #[test]
    fn invalid_route_key_is_named() {
        let mut config = HttpConfig::default();
        config
            .route_body_limits
            .insert("/v1/auth/login".to_owned(), 1024);

        let error = config.validate().expect_err("route key without a method");
        assert!(error.contains("/v1/auth/login"), "{error}");
    }
}
