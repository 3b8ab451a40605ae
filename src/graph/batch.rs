//! JSON batching (Microsoft Graph, "Combine multiple HTTP requests using JSON batching"
//! (<https://learn.microsoft.com/graph/json-batching>)): up to 20 GETs in one `POST /$batch`. Each inner request counts
//! against the reports quota on its own, so batches are no larger than the pacing window and every inner request takes
//! a pacing slot; each inner answer is checked on its own status, and throttled or failed inner requests are retried
//! after the longest Retry-After.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::client::GraphClient;
use super::error::GraphError;
use super::retry::{backoff, parse_retry_after};
use crate::reports::CredentialKind;

/// Graph's limit of requests per batch.
pub(crate) const MAX_BATCH: usize = 20;

/// One GET of a batch.
#[derive(Debug, Clone)]
pub(crate) struct BatchGet {
    /// Unique within the batch; answers are matched by it, never by position.
    pub(crate) id: String,
    /// Relative to the version, starting with `/`: `/reports/authenticationMethods/…`.
    pub(crate) url: String,
    /// The `endpoint` label the inner request is counted under.
    pub(crate) endpoint: &'static str,
}

#[derive(Serialize)]
struct BatchRequestBody<'a> {
    requests: Vec<BatchRequest<'a>>,
}

#[derive(Serialize)]
struct BatchRequest<'a> {
    id: &'a str,
    method: &'static str,
    url: &'a str,
}

#[derive(Deserialize)]
struct BatchResponseBody {
    responses: Vec<BatchResponse>,
}

#[derive(Deserialize)]
struct BatchResponse {
    id: String,
    status: u16,
    #[serde(default)]
    headers: HashMap<String, serde_json::Value>,
    #[serde(default)]
    body: Option<serde_json::Value>,
}

impl GraphClient {
    /// Runs the GETs through `$batch` and returns each body by id.
    pub(crate) async fn batch_get(
        &self,
        version: &str,
        kind: CredentialKind,
        gets: &[BatchGet],
    ) -> Result<HashMap<String, serde_json::Value>, GraphError> {
        let url = self.url(version, "$batch", &[]);
        let size = MAX_BATCH.min(self.settings.rate_limit_requests as usize).max(1);
        let mut results = HashMap::new();
        let mut pending: Vec<BatchGet> = gets.to_vec();
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            let mut retry = Vec::new();
            let mut wait: Option<Duration> = None;
            let mut last_error = None;
            for chunk in pending.chunks(size) {
                // One slot per inner request, held until the batch's answer has arrived.
                let mut paced = Vec::with_capacity(chunk.len());
                for _ in chunk {
                    paced.push(self.pacer.acquire_reporting(|waiting| self.observer.waiting_for_quota(waiting)).await);
                }
                let body = BatchRequestBody {
                    requests: chunk.iter().map(|g| BatchRequest { id: &g.id, method: "GET", url: &g.url }).collect(),
                };
                let body = bytes::Bytes::from(serde_json::to_vec(&body).expect("batch body serialises"));
                let answer: BatchResponseBody = self.request_json("$batch", kind, &url, Some(&body)).await?;
                drop(paced);
                let mut by_id: HashMap<String, BatchResponse> =
                    answer.responses.into_iter().map(|r| (r.id.to_ascii_lowercase(), r)).collect();
                for get in chunk {
                    let Some(r) = by_id.remove(&get.id.to_ascii_lowercase()) else {
                        return Err(GraphError::Decode {
                            endpoint: "$batch".into(),
                            message: format!("no answer for request {} ({})", get.id, get.endpoint),
                        });
                    };
                    self.observer.graph_request(get.endpoint, &r.status.to_string());
                    if (200..300).contains(&r.status) {
                        results.insert(get.id.clone(), r.body.unwrap_or(serde_json::Value::Null));
                        continue;
                    }
                    let error = inner_error(get.endpoint, &r);
                    if r.status == 429 || r.status >= 500 {
                        let retry_after =
                            r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("retry-after")).and_then(|(_, v)| {
                                match v {
                                    serde_json::Value::String(s) => parse_retry_after(s, SystemTime::now()),
                                    serde_json::Value::Number(n) => {
                                        n.as_f64().and_then(|f| parse_retry_after(&f.to_string(), SystemTime::now()))
                                    }
                                    _ => None,
                                }
                            });
                        if let Some(d) = retry_after {
                            wait = Some(wait.map_or(d, |w| w.max(d)));
                        }
                        retry.push(get.clone());
                        last_error = Some(error);
                    } else {
                        return Err(error);
                    }
                }
            }
            if let Some(error) = last_error {
                if attempt >= self.settings.max_attempts {
                    return Err(error);
                }
                let delay = wait.unwrap_or_else(|| {
                    backoff(attempt, self.settings.retry_backoff_base, self.settings.retry_backoff_max)
                });
                tracing::debug!(
                    requests = retry.len(),
                    delay_ms = delay.as_millis() as u64,
                    "retrying inner batch requests"
                );
                if wait.is_some() {
                    self.pacer.pause_for(delay).await;
                } else {
                    tokio::time::sleep(delay).await;
                }
            }
            pending = retry;
        }
        Ok(results)
    }
}

fn inner_error(endpoint: &str, r: &BatchResponse) -> GraphError {
    let error = r.body.as_ref().and_then(|b| b.get("error"));
    let field = |name: &str| error.and_then(|e| e.get(name)).and_then(|v| v.as_str()).map(str::to_string);
    let request_id = error
        .and_then(|e| e.get("innerError"))
        .and_then(|i| i.get("request-id"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    GraphError::Http {
        endpoint: endpoint.to_string(),
        status: r.status,
        code: field("code"),
        message: field("message"),
        request_id,
    }
}
