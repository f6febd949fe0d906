//! A transport layer that retries failed requests with exponential backoff.
//!
//! alloy's own `RetryBackoffLayer` only retries rate limits and waits a fixed time; a node
//! that follows the chain for days also has to ride out refused connections, timeouts
//! and 5xx answers from a load balancer. Only transport failures are retried (and the
//! JSON-RPC "limit exceeded" codes): an error answer such as a revert is final.

use std::{
    task::{Context, Poll},
    time::Duration,
};

use alloy::{
    rpc::json_rpc::{RequestPacket, ResponsePacket},
    transports::{TransportError, TransportErrorKind, TransportFut},
};
use tower::{Layer, Service};

/// How failed requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: fail at once).
    pub max_retries: u32,
    /// The first wait; each later wait doubles, up to `max_backoff`.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_retries: 5, initial_backoff: Duration::from_millis(200), max_backoff: Duration::from_secs(5) }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based): `initial * 2^attempt`, capped, with
    /// up to 25% of jitter so that many clients do not retry in lock step.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self.initial_backoff.saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX));
        let capped = base.min(self.max_backoff);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let jitter = capped.mul_f64(f64::from(nanos % 1000) / 4000.0);
        capped + jitter
    }
}

/// Whether an error is worth retrying: the request may succeed if sent again.
pub fn is_transient(err: &TransportError) -> bool {
    match err {
        TransportError::Transport(kind) => match kind {
            TransportErrorKind::HttpError(e) => e.status == 429 || e.status == 408 || e.status >= 500,
            TransportErrorKind::HttpErrorWithRetryAfter { .. } => true,
            TransportErrorKind::BackendGone | TransportErrorKind::MissingBatchResponse(_) => true,
            TransportErrorKind::Custom(_) => true, // connection refused, reset, timed out
            _ => false,
        },
        // -32005: limit exceeded; 429 as a JSON-RPC code (some providers).
        TransportError::ErrorResp(e) => e.code == -32005 || e.code == 429,
        _ => false,
    }
}

/// The tower layer; see the module docs.
#[derive(Debug, Clone, Copy)]
pub struct RetryLayer {
    policy: RetryPolicy,
}

impl RetryLayer {
    /// A layer with the given policy.
    pub fn new(policy: RetryPolicy) -> Self {
        Self { policy }
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = RetryService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RetryService { inner, policy: self.policy }
    }
}

/// The service [`RetryLayer`] wraps a transport in.
#[derive(Debug, Clone)]
pub struct RetryService<S> {
    inner: S,
    policy: RetryPolicy,
}

impl<S> Service<RequestPacket> for RetryService<S>
where
    S: Service<RequestPacket, Future = TransportFut<'static>, Error = TransportError> + Send + Clone + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let mut inner = self.inner.clone();
        let policy = self.policy;
        Box::pin(async move {
            let mut attempt = 0;
            loop {
                let err = match inner.call(request.clone()).await {
                    Ok(res) => match res.as_error() {
                        Some(e) => TransportError::ErrorResp(e.clone()),
                        None => return Ok(res),
                    },
                    Err(e) => e,
                };
                if attempt >= policy.max_retries || !is_transient(&err) {
                    return Err(err);
                }
                let wait = policy.backoff(attempt);
                tracing::debug!(%err, attempt, wait_ms = wait.as_millis() as u64, "rpc request failed; retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        let b: Vec<Duration> = (0..6).map(|a| p.backoff(a)).collect();
        for (a, d) in b.iter().enumerate() {
            let base = Duration::from_millis(100 * (1 << a)).min(Duration::from_secs(1));
            assert!(*d >= base && *d <= base.mul_f64(1.25), "attempt {a}: {d:?}");
        }
        assert!(p.backoff(40) <= Duration::from_millis(1250));
    }

    #[test]
    fn only_transport_failures_are_transient() {
        assert!(is_transient(&TransportErrorKind::custom_str("connection refused")));
        assert!(is_transient(&TransportError::Transport(TransportErrorKind::HttpError(
            alloy::transports::HttpError { status: 503, body: String::new() }
        ))));
        assert!(!is_transient(&TransportError::Transport(TransportErrorKind::HttpError(
            alloy::transports::HttpError { status: 400, body: String::new() }
        ))));
        let revert = alloy::rpc::json_rpc::ErrorPayload { code: 3, message: "execution reverted".into(), data: None };
        assert!(!is_transient(&TransportError::ErrorResp(revert)));
    }
}
