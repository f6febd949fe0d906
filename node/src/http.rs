//! The node's small HTTP server (hyper, HTTP/1.1, loopback by default).
//!
//! | route | answers |
//! |---|---|
//! | `GET /v1/content/<0xhash>` | the blob with that keccak256 (`application/octet-stream`); 404 if absent |
//! | `GET /v1/jobs/<id>` | the node's summary of a job it holds (JSON: stage, trace and output roots) |
//! | `GET /v1/status` | the node's status (JSON) |
//! | `GET /metrics` | Prometheus text format |
//!
//! Receivers never trust what this serves: content is checked against its hash, roots
//! against the chain.

use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use alloy::primitives::B256;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode, body::Incoming, header, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::{
    content::ContentStore,
    error::{Error, Result},
    metrics::Metrics,
};

/// What the server asks the node about its jobs.
pub trait NodeView: Send + Sync + 'static {
    /// The summary of job `id`, if the node holds it.
    fn job(&self, id: u64) -> Option<serde_json::Value>;
    /// The node's status.
    fn status(&self) -> serde_json::Value;
}

struct Ctx {
    content: ContentStore,
    metrics: Metrics,
    view: Arc<dyn NodeView>,
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Binds `listen` (`127.0.0.1:7545`; port 0 picks a free one) and serves until
    /// dropped.
    pub async fn start(listen: &str, content: ContentStore, metrics: Metrics, view: Arc<dyn NodeView>) -> Result<Self> {
        let listener =
            TcpListener::bind(listen).await.map_err(|source| Error::Listen { addr: listen.to_owned(), source })?;
        let addr = listener.local_addr().map_err(|source| Error::Listen { addr: listen.to_owned(), source })?;
        let ctx = Arc::new(Ctx { content, metrics, view });
        let task = tokio::spawn(async move {
            loop {
                let (stream, _) = match listener.accept().await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let ctx = ctx.clone();
                        async move { Ok::<_, Infallible>(handle(&ctx, req)) }
                    });
                    if let Err(e) = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await {
                        tracing::debug!(error = %e, "http connection ended with an error");
                    }
                });
            }
        });
        tracing::info!(%addr, "http server listening");
        Ok(Self { addr, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply(status: StatusCode, kind: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(kind));
    r
}

fn not_found(what: String) -> Response<Full<Bytes>> {
    reply(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", format!("{what}\n"))
}

fn json(v: &serde_json::Value) -> Response<Full<Bytes>> {
    reply(StatusCode::OK, "application/json", serde_json::to_vec_pretty(v).unwrap_or_default())
}

fn handle(ctx: &Ctx, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", "only GET\n");
    }
    let path = req.uri().path();
    ctx.metrics.inc("gavel_http_requests_total", "HTTP requests served, by route.", &[("route", route(path))], 1.0);
    if path == "/metrics" {
        return reply(StatusCode::OK, "text/plain; version=0.0.4; charset=utf-8", ctx.metrics.render());
    }
    if path == "/v1/status" {
        return json(&ctx.view.status());
    }
    if let Some(h) = path.strip_prefix("/v1/content/") {
        let Ok(hash) = h.parse::<B256>() else {
            return reply(StatusCode::BAD_REQUEST, "text/plain; charset=utf-8", "not a 0x-prefixed 32-byte hash\n");
        };
        return match ctx.content.get(hash) {
            Ok(Some(bytes)) => reply(StatusCode::OK, "application/octet-stream", bytes),
            Ok(None) => not_found(format!("no content {hash}")),
            Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", format!("{e}\n")),
        };
    }
    if let Some(id) = path.strip_prefix("/v1/jobs/") {
        return match id.parse::<u64>().ok().and_then(|id| ctx.view.job(id)) {
            Some(v) => json(&v),
            None => not_found(format!("no job {id} here")),
        };
    }
    not_found(format!("no route {path}"))
}

fn route(path: &str) -> &'static str {
    if path == "/metrics" {
        "metrics"
    } else if path == "/v1/status" {
        "status"
    } else if path.starts_with("/v1/content/") {
        "content"
    } else if path.starts_with("/v1/jobs/") {
        "jobs"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::Fetcher;

    struct View;

    impl NodeView for View {
        fn job(&self, id: u64) -> Option<serde_json::Value> {
            (id == 1).then(|| serde_json::json!({ "job": 1, "stage": "submitted" }))
        }
        fn status(&self) -> serde_json::Value {
            serde_json::json!({ "role": "test" })
        }
    }

    #[tokio::test]
    async fn serves_content_jobs_and_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let content = ContentStore::open(&dir.path().join("served")).unwrap();
        let hash = content.put(b"spec bytes").unwrap();
        let metrics = Metrics::default();
        let server = Server::start("127.0.0.1:0", content, metrics.clone(), Arc::new(View)).await.unwrap();
        let base = format!("http://{}", server.addr());
        let client = reqwest_client();
        let get = |p: String| {
            let c = client.clone();
            async move { c.get(p).send().await.unwrap() }
        };
        let r = get(format!("{base}/v1/content/{hash}")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().as_ref(), b"spec bytes");
        assert_eq!(get(format!("{base}/v1/content/{}", B256::ZERO)).await.status(), 404);
        assert_eq!(get(format!("{base}/v1/content/xyz")).await.status(), 400);
        let j: serde_json::Value =
            serde_json::from_slice(&get(format!("{base}/v1/jobs/1")).await.bytes().await.unwrap()).unwrap();
        assert_eq!(j["stage"], "submitted");
        assert_eq!(get(format!("{base}/v1/jobs/2")).await.status(), 404);
        let text = get(format!("{base}/metrics")).await.text().await.unwrap();
        assert!(text.contains("gavel_http_requests_total{route=\"content\"} 3"), "{text}");
        // The fetcher gets it from the server into another store, checked.
        let other = ContentStore::open(&dir.path().join("fetched")).unwrap();
        let fetcher = Fetcher::new(other.clone(), vec![base.clone()]).unwrap();
        assert_eq!(fetcher.fetch(hash, &[]).await.unwrap(), b"spec bytes");
        assert!(other.has(hash));
        let missing = alloy::primitives::keccak256(b"nobody has this");
        let err = fetcher.fetch(missing, &[]).await.unwrap_err().to_string();
        assert!(err.contains("not available from any source") && err.contains("404"), "{err}");
    }

    fn reqwest_client() -> alloy::transports::http::reqwest::Client {
        alloy::transports::http::reqwest::Client::new()
    }
}
