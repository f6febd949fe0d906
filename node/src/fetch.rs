//! Fetching content by hash: the local store first, then each configured source (an
//! HTTP node or a content folder on disk), then the endpoints the chain names (the
//! solver device's registered endpoint). Every blob is checked against its hash before
//! it is stored or used; a source that sends other bytes is skipped.

use std::{path::PathBuf, time::Duration};

use alloy::{primitives::B256, transports::http::reqwest};

use crate::{
    content::ContentStore,
    error::{Error, Result},
};

/// Attempts per HTTP source for a transient failure (connection refused, 5xx).
const ATTEMPTS: u32 = 3;

/// Fetches blobs into a [`ContentStore`].
#[derive(Debug, Clone)]
pub struct Fetcher {
    store: ContentStore,
    sources: Vec<String>,
    http: reqwest::Client,
}

enum Got {
    Bytes(Vec<u8>),
    Missing(String),
}

impl Fetcher {
    /// A fetcher into `store` from `sources`: `http://host:port` bases of gavel nodes
    /// (`/v1/content/<hash>` is appended) or folders holding blobs named by their hash.
    pub fn new(store: ContentStore, sources: Vec<String>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Error::Config(format!("http client: {e}")))?;
        Ok(Self { store, sources, http })
    }

    /// The store fetched into.
    pub fn store(&self) -> &ContentStore {
        &self.store
    }

    /// Blob `hash`, from the store or the first source that has it (then stored);
    /// `extra` sources are tried after the configured ones.
    pub async fn fetch(&self, hash: B256, extra: &[String]) -> Result<Vec<u8>> {
        if let Some(bytes) = self.store.get(hash)? {
            return Ok(bytes);
        }
        let mut tried = Vec::new();
        for source in self.sources.iter().chain(extra).filter(|s| !s.trim().is_empty()) {
            let got = if source.starts_with("http://") || source.starts_with("https://") {
                self.http_get(source, hash).await
            } else {
                dir_get(source, hash)
            };
            match got {
                Got::Bytes(bytes) => match self.store.put_checked(hash, &bytes, source) {
                    Ok(()) => {
                        tracing::info!(%hash, source, bytes = bytes.len(), "fetched content");
                        return Ok(bytes);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "a source sent content that does not match its hash");
                        tried.push(format!("{source}: wrong bytes"));
                    }
                },
                Got::Missing(why) => tried.push(format!("{source}: {why}")),
            }
        }
        if tried.is_empty() {
            tried.push("no sources configured (--source)".into());
        }
        Err(Error::NotFound { hash, tried: tried.join("; ") })
    }

    async fn http_get(&self, base: &str, hash: B256) -> Got {
        let url = format!("{}/v1/content/{hash}", base.trim_end_matches('/'));
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            match self.http.get(&url).send().await {
                Ok(r) if r.status().is_success() => match r.bytes().await {
                    Ok(b) => return Got::Bytes(b.to_vec()),
                    Err(e) => last = format!("reading the body: {e}"),
                },
                Ok(r) if r.status().is_server_error() => last = format!("HTTP {}", r.status().as_u16()),
                Ok(r) => return Got::Missing(format!("HTTP {}", r.status().as_u16())),
                Err(e) => last = e.to_string(),
            }
        }
        Got::Missing(last)
    }
}

fn dir_get(dir: &str, hash: B256) -> Got {
    let path = PathBuf::from(dir).join(hash.to_string());
    match std::fs::read(&path) {
        Ok(b) => Got::Bytes(b),
        Err(e) => Got::Missing(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn folders_are_sources_and_wrong_bytes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let shared = ContentStore::open(&dir.path().join("shared")).unwrap();
        let hash = shared.put(b"data").unwrap();
        let liar = dir.path().join("liar");
        std::fs::create_dir_all(&liar).unwrap();
        std::fs::write(liar.join(hash.to_string()), b"forged").unwrap();
        let mine = ContentStore::open(&dir.path().join("mine")).unwrap();
        let sources = vec![liar.display().to_string(), shared.dir().display().to_string()];
        let f = Fetcher::new(mine.clone(), sources).unwrap();
        assert_eq!(f.fetch(hash, &[]).await.unwrap(), b"data");
        assert!(mine.has(hash));
        let only_liar =
            Fetcher::new(ContentStore::open(&dir.path().join("other")).unwrap(), vec![liar.display().to_string()])
                .unwrap();
        let err = only_liar.fetch(hash, &[]).await.unwrap_err().to_string();
        assert!(err.contains("wrong bytes"), "{err}");
    }
}
