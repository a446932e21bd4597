//! The OTLP exporter's HTTP client: our reqwest 0.12 (the exporter's own reqwest feature would bring a
//! second reqwest). The SDK's batch processor exports from its own thread, outside any Tokio runtime,
//! so each request is spawned on the gateway's runtime and awaited from there.

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

#[derive(Debug)]
pub(super) struct ExportClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl ExportClient {
    pub(super) fn new(timeout: std::time::Duration) -> Result<ExportClient, String> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "telemetry must be started inside the Tokio runtime".to_string())?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the OTLP HTTP client: {e}"))?;
        Ok(ExportClient { client, runtime })
    }
}

#[async_trait::async_trait]
impl HttpClient for ExportClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let (parts, body) = request.into_parts();
        let task = self.runtime.spawn(async move {
            let response = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let status = response.status();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        });
        let (status, body) = task.await??;
        Ok(Response::builder().status(status).body(body)?)
    }
}
