//! Middleware around every route: the request context (request id, span,
//! metrics, security headers, problem bodies), load shedding and the
//! request timeout.
//!
//! [`request_context`] is the outermost layer, so the responses of every
//! inner layer, including 404, 405, 413, 429 and timeouts, get the request
//! id and the security headers. It must never record a header value or a
//! body in a span or a metric.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;
use tracing::Instrument;
use uuid::Uuid;

use crate::error::{ApiError, with_request_id};
use crate::observability;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Headers on every response. `Cache-Control` is set only when the handler
/// did not choose one.
const SECURITY_HEADERS: [(HeaderName, &str); 6] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_XSS_PROTECTION, "0"),
    (
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=63072000; includeSubDomains",
    ),
    (header::REFERRER_POLICY, "no-referrer"),
];

/// Gives the request a fresh id (any id the client sent is replaced),
/// runs it in a span, and finishes the response: problem body with the
/// request id, `X-Request-Id`, security headers, metrics and a log line.
pub async fn request_context(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = Uuid::now_v7().to_string();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let id_value = HeaderValue::from_str(&request_id).unwrap_or(HeaderValue::from_static("-"));
    request.headers_mut().insert(REQUEST_ID, id_value.clone());

    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = %route,
        status = tracing::field::Empty,
        latency_us = tracing::field::Empty,
    );
    let response = next.run(request).instrument(span.clone()).await;

    let mut response = with_request_id(response, &request_id);
    let headers = response.headers_mut();
    headers.insert(REQUEST_ID, id_value);
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }

    let latency = started.elapsed();
    let status = response.status().as_u16();
    span.record("status", status);
    span.record("latency_us", latency.as_micros() as u64);
    span.in_scope(|| tracing::info!("request finished"));
    observability::record_request(method.as_str(), &route, status, latency);
    response
}

/// Rejects a request with 503 `overloaded` when `permits` are all in use,
/// instead of queueing it.
pub async fn shed_load(
    State(permits): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(_permit) = permits.try_acquire() else {
        metrics::counter!("http_overloaded_total").increment(1);
        tracing::warn!("shed a request: too many requests in flight");
        return ApiError::Overloaded.into_response();
    };
    next.run(request).await
}

/// Returns 503 `timeout` when the handler takes longer than `limit`, and
/// drops the handler's future.
pub async fn time_out(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_secs = limit.as_secs(), "a request timed out");
            ApiError::Timeout.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::get;
    use tokio::sync::Notify;
    use tower::ServiceExt;

    fn get_request(path: &str) -> Request {
        Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("request")
    }

    #[tokio::test]
    async fn slow_handler_times_out_as_problem() {
        let router = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_millis(50),
                time_out,
            ))
            .layer(axum::middleware::from_fn(request_context));

        let response = router
            .oneshot(get_request("/slow"))
            .await
            .expect("response");

        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(REQUEST_ID));
        assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
        let problem = response
            .extensions()
            .get::<sharepay_domain::wire::Problem>()
            .expect("problem");
        assert_eq!(problem.problem_type, "timeout");
    }

    #[tokio::test]
    async fn excess_request_is_shed() {
        let release = Arc::new(Notify::new());
        let entered = Arc::new(Notify::new());
        let (handler_release, handler_entered) = (Arc::clone(&release), Arc::clone(&entered));
        let router = Router::new()
            .route(
                "/wait",
                get(move || {
                    let (release, entered) =
                        (Arc::clone(&handler_release), Arc::clone(&handler_entered));
                    async move {
                        entered.notify_one();
                        release.notified().await;
                        "done"
                    }
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(Semaphore::new(1)),
                shed_load,
            ));

        let first = tokio::spawn(router.clone().oneshot(get_request("/wait")));
        entered.notified().await;
        let second = router
            .clone()
            .oneshot(get_request("/wait"))
            .await
            .expect("response");
        release.notify_one();
        let first = first.await.expect("join").expect("response");

        assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(second.headers()[header::RETRY_AFTER], "1");
        assert_eq!(first.status(), StatusCode::OK);
    }
}
