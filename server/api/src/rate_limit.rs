//! Request budgets per route, keyed by client address and by account.
//!
//! The client address is the TCP peer. Only when the peer is a configured
//! trusted proxy is the right-most untrusted `X-Forwarded-For` entry used
//! instead, so a client cannot pick its own key by sending that header.
//! IPv6 clients share one budget per /64 network, the block a single
//! subscriber usually holds.
//!
//! Accounts are the signed-in user or, for a login, an HMAC of the email
//! under a key that lives only in this process. The raw email is never a
//! key. Every table is bounded by `rate_limit_max_keys`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;
use ring::hmac;
use ring::rand::SystemRandom;
use uuid::Uuid;

use crate::error::ApiError;
use crate::http_config::{HttpConfig, Rate, RateLimitRule};
use crate::serve::PeerAddr;

/// Header a trusted proxy appends the client address to.
const FORWARDED_FOR: &str = "x-forwarded-for";
/// A full table is swept for idle keys at most this often.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Whose budget a request spends besides its address's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Account {
    User(Uuid),
    /// HMAC-SHA256 of a normalized email, from [`RateLimits::email_account`].
    Email([u8; 32]),
}

/// Every budget of the server.
pub struct RateLimits {
    routes: HashMap<String, RouteBudgets>,
    /// Shared by every route without a rule of its own.
    default: RouteBudgets,
    trusted_proxies: Vec<IpNet>,
    email_key: hmac::Key,
}

struct RouteBudgets {
    per_address: Option<Budget<IpAddr>>,
    per_account: Option<Budget<Account>>,
}

struct Budget<K: std::hash::Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    period: Duration,
    max_keys: usize,
    created: Instant,
    /// Milliseconds after `created` of the last sweep.
    last_sweep_ms: AtomicU64,
}

impl RateLimits {
    /// Builds the budgets from validated configuration.
    pub fn new(config: &HttpConfig) -> Result<Self, String> {
        let max_keys = config.rate_limit_max_keys;
        let routes = config
            .effective_rate_limits()
            .into_iter()
            .map(|(route, rule)| (route, RouteBudgets::new(&rule, max_keys)))
            .collect();
        let email_key = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new())
            .map_err(|_| "generating the rate-limit key failed: system random failed".to_owned())?;
        Ok(Self {
            routes,
            default: RouteBudgets::new(&config.default_rate_limit, max_keys),
            trusted_proxies: config.trusted_proxy_networks()?,
            email_key,
        })
    }

    fn budgets(&self, route: &str) -> &RouteBudgets {
        self.routes.get(route).unwrap_or(&self.default)
    }

    /// Spends one request of `route`'s budget for `address`.
    pub fn check_address(&self, route: &str, address: IpAddr) -> Result<(), ApiError> {
        match &self.budgets(route).per_address {
            Some(budget) => budget.check(&address_key(address), route, "address"),
            None => Ok(()),
        }
    }

    /// Spends one request of `route`'s budget for `account`.
    pub fn check_account(&self, route: &str, account: Account) -> Result<(), ApiError> {
        match &self.budgets(route).per_account {
            Some(budget) => budget.check(&account, route, "account"),
            None => Ok(()),
        }
    }

    /// Returns the account key of a normalized email.
    pub fn email_account(&self, email: &str) -> Account {
        let tag = hmac::sign(&self.email_key, email.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(tag.as_ref());
        Account::Email(key)
    }

    /// Returns the address whose budget a request spends.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        client_address(peer, headers, &self.trusted_proxies)
    }
}

impl RouteBudgets {
    fn new(rule: &RateLimitRule, max_keys: usize) -> Self {
        Self {
            per_address: rule.per_address.map(|rate| Budget::new(rate, max_keys)),
            per_account: rule.per_account.map(|rate| Budget::new(rate, max_keys)),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone> Budget<K> {
    fn new(rate: Rate, max_keys: usize) -> Self {
        // Validated rates have a count of at least 1 and a period of at least
        // one second, so the replenish interval is never zero.
        let count = NonZeroU32::new(rate.count).unwrap_or(NonZeroU32::MIN);
        let interval = (rate.period / count.get()).max(Duration::from_nanos(1));
        let quota = Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(count);
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            period: rate.period,
            max_keys,
            created: Instant::now(),
            last_sweep_ms: AtomicU64::new(0),
        }
    }

    fn check(&self, key: &K, route: &str, scope: &'static str) -> Result<(), ApiError> {
        if self.limiter.len() >= self.max_keys && !self.sweep() {
            tracing::warn!(
                route,
                scope,
                max_keys = self.max_keys,
                "rate-limit table is full; rejecting new requests until keys expire"
            );
            return Err(self.reject(route, scope, self.period));
        }
        match self.limiter.check_key(key) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(self.reject(route, scope, wait))
            }
        }
    }

    /// Drops keys idle for a whole period, at most once per
    /// [`SWEEP_INTERVAL`]. Returns whether the table has room afterwards.
    fn sweep(&self) -> bool {
        let now_ms = self.created.elapsed().as_millis() as u64;
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        let due = now_ms.saturating_sub(last) >= SWEEP_INTERVAL.as_millis() as u64;
        if due
            && self
                .last_sweep_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.len() < self.max_keys
    }

    fn reject(&self, route: &str, scope: &'static str, wait: Duration) -> ApiError {
        metrics::counter!(
            "http_rate_limited_total",
            "route" => route.to_owned(),
            "scope" => scope,
        )
        .increment(1);
        tracing::info!(route, scope, "rate limited a request");
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError::RateLimited {
            retry_after_secs: seconds.max(1),
        }
    }
}

/// Returns the route key, `"METHOD /matched/path"`, of a routed request.
pub fn route_key(parts: &Parts) -> String {
    let path = parts
        .extensions
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    format!("{} {path}", parts.method)
}

/// Spends the per-address budget of the request's route; a middleware on
/// every route.
pub async fn limit_by_address(
    State(limits): State<Arc<RateLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    if let Some(PeerAddr(peer)) = parts.extensions.get::<PeerAddr>().copied() {
        let address = limits.client_address(peer.ip(), &parts.headers);
        if let Err(error) = limits.check_address(&route_key(&parts), address) {
            return error.into_response();
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Finds the client behind trusted proxies: walking `X-Forwarded-For` from
/// the right, the first entry that is not a trusted proxy. An entry that is
/// not an IP address ends the walk at the last trusted hop, because
/// anything left of it may have been written by the client.
fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|network| network.contains(address));
    if !is_trusted(&peer) {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        match parse_forwarded_address(entry) {
            Some(address) if is_trusted(&address) => client = address,
            Some(address) => return address,
            None => return client,
        }
    }
    client
}

/// Parses an `X-Forwarded-For` entry: an address, or a bracketed IPv6
/// address or IPv4 address with a port as some proxies write them.
fn parse_forwarded_address(entry: &str) -> Option<IpAddr> {
    if let Ok(address) = entry.parse() {
        return Some(address);
    }
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, _port) = entry.rsplit_once(':')?;
    host.parse().ok()
}

/// Keys IPv4 clients by address and IPv6 clients by their /64 network.
pub(crate) fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(network))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn networks(entries: &[&str]) -> Vec<IpNet> {
        entries
            .iter()
            .map(|entry| entry.parse().expect("network"))
            .collect()
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            FORWARDED_FOR,
            HeaderValue::from_str(value).expect("header value"),
        );
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn untrusted_peer_ignores_forwarded_for() {
        let trusted = networks(&["10.0.0.0/8"]);

        let client = client_address(ip("192.0.2.7"), &forwarded("198.51.100.1"), &trusted);
        assert_eq!(client, ip("192.0.2.7"));
    }

    #[test]
    fn trusted_peer_uses_rightmost_untrusted_entry() {
        let trusted = networks(&["10.0.0.0/8"]);
        // The client wrote 203.0.113.9 itself; the proxy appended the real peer.
        let headers = forwarded("203.0.113.9, 198.51.100.1, 10.0.0.2");

        let client = client_address(ip("10.0.0.1"), &headers, &trusted);
        assert_eq!(client, ip("198.51.100.1"));
    }

    #[test]
    fn garbage_entry_stops_at_last_trusted_hop() {
        let trusted = networks(&["10.0.0.0/8"]);
        let headers = forwarded("198.51.100.1, not-an-address, 10.0.0.2");

        let client = client_address(ip("10.0.0.1"), &headers, &trusted);
        assert_eq!(client, ip("10.0.0.2"));
    }

    #[test]
    fn bracketed_and_ported_entries_parse() {
        assert_eq!(
            parse_forwarded_address("[2001:db8::1]:443"),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            parse_forwarded_address("198.51.100.1:8080"),
            Some(ip("198.51.100.1"))
        );
        assert_eq!(parse_forwarded_address("unknown"), None);
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa::1")),
            address_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            address_key(ip("2001:db8:1:2::1")),
            address_key(ip("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn budget_rejects_after_count_with_retry_after() {
        let budget = Budget::<IpAddr>::new(Rate::per_minute(2), 100);
        let address = ip("192.0.2.1");

        assert!(budget.check(&address, "POST /x", "address").is_ok());
        assert!(budget.check(&address, "POST /x", "address").is_ok());
        let error = budget
            .check(&address, "POST /x", "address")
            .expect_err("third request in a minute");
        let ApiError::RateLimited { retry_after_secs } = error else {
            panic!("expected rate-limited, got {error:?}");
        };
        assert!((1..=30).contains(&retry_after_secs), "{retry_after_secs}");
        assert!(budget.check(&ip("192.0.2.2"), "POST /x", "address").is_ok());
    }

    #[test]
    fn full_table_rejects_new_keys() {
        let budget = Budget::<IpAddr>::new(Rate::per_minute(5), 2);

        assert!(budget.check(&ip("192.0.2.1"), "GET /y", "address").is_ok());
        assert!(budget.check(&ip("192.0.2.2"), "GET /y", "address").is_ok());
        assert!(budget.check(&ip("192.0.2.3"), "GET /y", "address").is_err());
    }

    #[test]
    fn email_accounts_are_keyed_hashes() {
        let limits = RateLimits::new(&HttpConfig::default()).expect("limits");

        let first = limits.email_account("ada@example.org");
        assert_eq!(first, limits.email_account("ada@example.org"));
        assert_ne!(first, limits.email_account("bob@example.org"));
    }
}
