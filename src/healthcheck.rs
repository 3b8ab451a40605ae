//! `healthcheck`: ask a running exporter on this host whether it serves HTTP, and exit 0 if it does.
//!
//! Container images without a shell or curl (distroless, scratch) run the binary itself as the
//! Docker `HEALTHCHECK`. Only loopback URLs are accepted: the check is about this process's own
//! container or host, never a way to probe other machines.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

/// How long the whole check may take, connection included. Docker's own `--timeout` should be larger.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(3);

/// The liveness URL of an exporter listening on `listen` (the `--web.listen-address` value): an
/// unspecified address (`:10027`, `0.0.0.0`, `[::]`) is reached through the loopback of the same family;
/// `https` when the web configuration turns TLS on.
pub fn url_for(listen: SocketAddr, tls: bool) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{}/healthz", SocketAddr::new(ip, listen.port()))
}

/// GETs `url` and returns success iff the answer is 200 within [`TIMEOUT`]. Prints one line to stderr
/// on failure, nothing on success (Docker keeps the output of failed checks).
pub(crate) async fn run(url: &str) -> ExitCode {
    match check(url, TIMEOUT).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("healthcheck {url}: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The check itself, for tests: `Ok` iff `url` is a loopback http URL answering 200 within `timeout`.
pub async fn check(url: &str, timeout: Duration) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let https = match parsed.scheme() {
        "http" => false,
        "https" => true,
        _ => return Err("only http:// and https:// URLs are supported".into()),
    };
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if !loopback {
        return Err("the host must be a loopback address (127.0.0.1, [::1] or localhost)".into());
    }
    // reqwest is built without a default TLS provider; building a client needs one even for http.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // An HTTP(S)_PROXY in the environment must not turn a loopback check into a proxy request.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        // The check asks this host's own exporter over loopback whether it is alive; its certificate
        // names the service for remote scrapers and cannot match 127.0.0.1, so it is not verified.
        .danger_accept_invalid_certs(https)
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let response = client.get(parsed).send().await.map_err(|e| {
        if e.is_timeout() {
            format!("no answer within {}", humantime::format_duration(timeout))
        } else if e.is_connect() {
            "connection refused: is the exporter running and listening there?".to_string()
        } else {
            format!("request failed: {e}")
        }
    })?;
    let status = response.status();
    if status == reqwest::StatusCode::OK { Ok(()) } else { Err(format!("answered {status}, expected 200 OK")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_for_unspecified_addresses_uses_loopback() {
        assert_eq!(url_for("0.0.0.0:10027".parse().unwrap(), false), "http://127.0.0.1:10027/healthz");
        assert_eq!(url_for("[::]:10027".parse().unwrap(), false), "http://[::1]:10027/healthz");
        assert_eq!(url_for("127.0.0.2:9".parse().unwrap(), false), "http://127.0.0.2:9/healthz");
        assert_eq!(url_for("0.0.0.0:10027".parse().unwrap(), true), "https://127.0.0.1:10027/healthz");
    }

    #[tokio::test]
    async fn refuses_non_loopback_and_non_http_urls() {
        for url in
            ["http://192.0.2.1:10027/healthz", "http://example.com/healthz", "ftp://127.0.0.1/healthz", "nonsense"]
        {
            assert!(check(url, Duration::from_millis(200)).await.is_err(), "{url} must be refused");
        }
    }

    #[tokio::test]
    async fn succeeds_on_200_and_fails_otherwise() {
        use axum::Router;
        use axum::http::StatusCode;
        use axum::routing::get;
        let app = Router::new()
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/broken", get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "no\n") }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let timeout = Duration::from_secs(2);
        assert_eq!(check(&url_for(addr, false), timeout).await, Ok(()));
        let broken = check(&format!("http://{addr}/broken"), timeout).await.unwrap_err();
        assert!(broken.contains("503"), "{broken}");
        server.abort();
        let _ = server.await;
        // Nothing listens any more: a refused connection is a failure, not a hang.
        assert!(check(&url_for(addr, false), timeout).await.is_err());
    }
}
