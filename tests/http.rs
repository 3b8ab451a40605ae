//! The HTTP surface over real sockets: metrics path, health, readiness, status page, errors.

mod common;

use common::*;
use entra_authmethods_exporter::app;
use entra_authmethods_exporter::http::web::ConnectionLimits;
use graph_simulator::{DEMO_TENANT_ID, Fault};

#[tokio::test]
async fn health_readiness_and_status_page_after_a_good_poll() {
    let sim = start_simulator(120, 41).await;
    let exporter = start_exporter(&settings(&config_toml(&sim, "", ""))).await;
    let addr = exporter.addr;
    for path in ["/healthz", "/-/healthy"] {
        assert_eq!(get(addr, path).await.0, 200, "{path}");
    }
    for path in ["/readyz", "/-/ready"] {
        let (status, _, body) = get(addr, path).await;
        assert_eq!((status, body.as_str()), (200, "ready\n"), "{path}");
    }
    let (status, ctype, page) = get(addr, "/").await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/html"));
    assert!(page.contains("Tenant contoso") && page.contains(DEMO_TENANT_ID));
    assert!(page.contains("mfaCapable") && page.contains('%'), "headline ratios shown");
    assert!(page.contains("registration_details") && page.contains(">ok<"));
    assert_eq!(get(addr, "/nope").await.0, 404);
    let post = client().post(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(post.status().as_u16(), 405);
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// A scrape of /metrics with these Accept-Encoding headers: (Content-Encoding, Vary, Content-Length,
/// body as sent).
async fn scrape_encoded(
    addr: std::net::SocketAddr,
    accept: &[&str],
) -> (Option<String>, String, Option<usize>, Vec<u8>) {
    let mut request = client().get(format!("http://{addr}/metrics"));
    for value in accept {
        request = request.header("accept-encoding", *value);
    }
    // reqwest is built without its gzip feature: it neither asks for gzip nor decodes it.
    let resp = request.send().await.expect("HTTP request");
    assert_eq!(resp.status().as_u16(), 200);
    let header = |name: &str| resp.headers().get(name).map(|v| v.to_str().unwrap().to_string());
    assert_eq!(header("content-type").as_deref(), Some("text/plain; version=0.0.4; charset=utf-8"));
    let (encoding, vary) = (header("content-encoding"), header("vary").expect("Vary on every answer"));
    let length = header("content-length").map(|v| v.parse().unwrap());
    (encoding, vary, length, resp.bytes().await.expect("body").to_vec())
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut text = Vec::new();
    // Checks the trailer's CRC-32 and length too, and that nothing follows the gzip member.
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body), &mut text).expect("valid gzip");
    text
}

const PROCESS_FAMILIES: [&str; 7] = [
    "process_cpu_seconds_total",
    "process_max_fds",
    "process_open_fds",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "process_threads",
    "process_virtual_memory_bytes",
];

/// A scraped body is the cached exposition, exactly, followed by the process metrics and nothing
/// else; returns those.
fn process_block(body: &[u8], exposition: &[u8]) -> Exposition {
    assert!(body.len() > exposition.len() && body.starts_with(exposition), "the exposition comes first, whole");
    let rest = std::str::from_utf8(&body[exposition.len()..]).expect("UTF-8");
    assert!(rest.starts_with("# HELP process_"), "{rest}");
    let block = Exposition::parse(rest);
    let mut families: Vec<_> = block.samples.keys().map(|(name, _)| name.as_str()).collect();
    families.dedup();
    assert_eq!(families, PROCESS_FAMILIES, "{rest}");
    for family in PROCESS_FAMILIES {
        let kind = if family.ends_with("_total") { "counter" } else { "gauge" };
        assert!(rest.contains(&format!("# HELP {family} ")) && rest.contains(&format!("# TYPE {family} {kind}\n")));
    }
    block
}

#[tokio::test]
async fn metrics_are_gzipped_only_for_clients_that_accept_it() {
    let sim = start_simulator(120, 44).await;
    let exporter = start_exporter(&settings(&config_toml(&sim, "", ""))).await;
    let plain = exporter.store.exposition();
    assert!(plain.len() > 10_000);
    for accept in [&[][..], &["identity"], &["gzip;q=0"], &["*, gzip;q=0"], &["br", "deflate"]] {
        let (encoding, vary, length, body) = scrape_encoded(exporter.addr, accept).await;
        assert_eq!(encoding, None, "{accept:?}");
        assert_eq!(vary, "accept-encoding");
        assert_eq!(length, Some(body.len()), "{accept:?}");
        process_block(&body, &plain);
    }
    for accept in [&["gzip"][..], &["deflate, gzip;q=0.5"], &["*"], &["identity", "GZIP"]] {
        let (encoding, vary, length, body) = scrape_encoded(exporter.addr, accept).await;
        assert_eq!(encoding.as_deref(), Some("gzip"), "{accept:?}");
        assert_eq!(vary, "accept-encoding");
        assert_eq!(length, Some(body.len()), "{accept:?}");
        // The cached compressed exposition, whole, right after the gzip header.
        let cached = exporter.store.cached_exposition().deflate();
        assert_eq!(&body[10..10 + cached.len()], &cached[..], "{accept:?}");
        let text = gunzip(&body);
        process_block(&text, &plain);
        assert!(body.len() * 5 < text.len(), "{} of {} bytes", body.len(), text.len());
    }
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// Above `KEEP_PLAIN_UP_TO` (hundreds of tenants) only the compressed copy is kept and a plain-text
/// scrape decompresses it while sending; lowered here so that one tenant takes that path.
#[tokio::test]
async fn a_big_exposition_is_served_as_the_same_text_from_its_gzip_copy() {
    let sim = start_simulator(120, 45).await;
    // Every report: an exposition of more than one decompressed chunk (64 KiB).
    let exporter = start_exporter(&settings(&config_toml_with_reports(&sim, "", "", ""))).await;
    let kept = exporter.store.exposition();
    let (_, _, _, body) = scrape_encoded(exporter.addr, &[]).await;
    process_block(&body, &kept);
    assert!(exporter.store.cached_exposition().plain_cached().is_some());
    exporter.store.set_keep_plain_up_to(0);
    assert_eq!(exporter.store.cached_exposition().plain_cached(), None);
    assert_eq!(exporter.store.exposition(), kept, "nothing polled in between: the same text");
    assert!(kept.len() > 64 * 1024, "{} bytes", kept.len());
    let (encoding, vary, length, body) = scrape_encoded(exporter.addr, &[]).await;
    assert_eq!((encoding, vary.as_str()), (None, "accept-encoding"));
    assert_eq!(length, Some(body.len()), "Content-Length of the decompressed text and the process metrics");
    process_block(&body, &kept);
    let (encoding, _, length, body) = scrape_encoded(exporter.addr, &["gzip"]).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(length, Some(body.len()));
    process_block(&gunzip(&body), &kept);
    // The tests' scraper (plain text) reads the same numbers on this path.
    let exp = scrape(exporter.addr).await;
    process_block(exp.text.as_bytes(), &kept);
    assert!(
        exp.get("entra_authmethods_users", &[("tenant", TENANT), ("user_type", "all"), ("user_role", "all")]).is_some()
    );
    exporter.shutdown().await;
    sim.shutdown().await;
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

/// The standard process metrics follow the exposition: this process's (the exporter runs inside the
/// test binary), read at the scrape.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_process_metrics_describe_this_process() {
    let sim = start_simulator(20, 47).await;
    let exporter = start_exporter(&settings(&config_toml(&sim, "", ""))).await;
    let first = scrape(exporter.addr).await;
    let now = unix_now();
    let value = |exp: &Exposition, name: &str| exp.get(name, &[]).unwrap_or_else(|| panic!("{name}"));
    let start = value(&first, "process_start_time_seconds");
    assert!(start <= now && start > now - 3600.0, "started at {start}, now {now}");
    assert!(value(&first, "process_resident_memory_bytes") > 0.0);
    assert!(value(&first, "process_virtual_memory_bytes") >= value(&first, "process_resident_memory_bytes"));
    let open = value(&first, "process_open_fds");
    assert!(open >= 1.0 && open <= value(&first, "process_max_fds"), "{open} open");
    assert!(value(&first, "process_threads") >= 1.0);
    // Scraped until the cached reading has expired, so the last one is read anew; CPU time never goes
    // back.
    let cpu = value(&first, "process_cpu_seconds_total");
    let read_again = tokio::time::Instant::now() + entra_authmethods_exporter::snapshot::PROCESS_METRICS_MAX_AGE;
    let mut second = scrape(exporter.addr).await;
    while tokio::time::Instant::now() < read_again {
        assert!(value(&second, "process_cpu_seconds_total") >= cpu);
        second = scrape(exporter.addr).await;
    }
    assert!(value(&second, "process_cpu_seconds_total") >= cpu);
    assert_eq!(value(&second, "process_start_time_seconds"), start, "the same process");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn not_ready_until_every_tenant_succeeded_and_the_reason_is_given() {
    let sim = start_simulator(20, 42).await;
    sim.push_fault(Fault::Status {
        count: 1,
        status: 403,
        code: "Authorization_RequestDenied".into(),
        message: "<script>alert(1)</script>".into(),
    });
    let exporter = start_exporter(&settings(&config_toml(&sim, "", ""))).await;
    let (status, _, body) = get(exporter.addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("tenant contoso report registration_details") && body.contains("forbidden"), "{body}");
    let (_, _, page) = get(exporter.addr, "/").await;
    assert!(!page.contains("<script>"), "Graph text is escaped");
    assert!(page.contains("&lt;script&gt;"));
    assert_eq!(get(exporter.addr, "/healthz").await.0, 200, "liveness does not depend on Graph");
    assert!(exporter.poll_now().await);
    assert_eq!(get(exporter.addr, "/readyz").await.0, 200);
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_custom_telemetry_path_replaces_metrics() {
    let sim = start_simulator(20, 43).await;
    let s = settings(&config_toml(&sim, "", ""));
    let exporter = app::start(&s, loopback(), "/custom/path", None).await.unwrap();
    exporter.wait_for_first_round().await;
    let (status, ctype, body) = get(exporter.addr, "/custom/path").await;
    assert_eq!(status, 200);
    assert_eq!(ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert!(body.contains("entra_authmethods_users{"));
    assert_eq!(get(exporter.addr, "/metrics").await.0, 404);
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn before_the_first_poll_only_health_series_are_served() {
    let sim = start_simulator(20, 44).await;
    sim.push_fault(Fault::Slow(std::time::Duration::from_secs(30)));
    let s = settings(&config_toml(&sim, "", ""));
    let exporter = app::start(&s, loopback(), "/metrics", None).await.unwrap();
    let exp = scrape(exporter.addr).await;
    assert!(exp.family("entra_authmethods_users").is_empty());
    assert_eq!(
        exp.get("entra_authmethods_polls_total", &[("tenant", TENANT), ("report", "registration_details")]),
        Some(0.0)
    );
    assert_eq!(exp.family("entra_authmethods_poll_success").len(), 0, "no verdict before the first poll ends");
    let (status, _, body) = get(exporter.addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("first poll still running"), "{body}");
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_demo_serves_metrics_on_the_printed_address() {
    let (mut child, mut lines) = spawn_demo::<&str>([]);
    let mut url = None;
    let mut ready = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(u) = line.trim().strip_prefix("metrics:") {
            url = Some(u.trim().to_string());
        }
        if let Some(r) = line.strip_prefix("Ready: ") {
            ready = Some(r.to_string());
            break;
        }
    }
    let url = url.expect("the demo prints the metrics URL");
    assert!(ready.expect("the demo says when its first poll completed").starts_with("first poll completed"));
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").trim_end_matches("/metrics").parse().unwrap();
    assert_eq!(get(addr, "/readyz").await.0, 200);
    let exp = scrape(addr).await;
    // Every family the exporter defines appears in the demo: the demo turns every report on.
    // last_error_info exists only after a failure, which a healthy demo does not have; the client
    // certificate's validity dates only with a certificate credential (the demo uses a secret); the
    // serving certificate's expiry only with TLS on (the demo serves plain HTTP).
    const NOT_IN_DEMO: [&str; 4] = [
        "entra_authmethods_last_error_info",
        "entra_authmethods_client_certificate_expiry_timestamp_seconds",
        "entra_authmethods_client_certificate_not_before_timestamp_seconds",
        "entra_authmethods_web_tls_certificate_expiry_timestamp_seconds",
    ];
    for family in entra_authmethods_exporter::snapshot::FAMILIES.iter().filter(|f| !NOT_IN_DEMO.contains(&f.name)) {
        assert!(!exp.family(family.name).is_empty(), "demo serves {}", family.name);
    }
    assert!(exp.family("entra_authmethods_last_error_info").is_empty());
    for report in entra_authmethods_exporter::reports::REPORTS {
        let labels = [("tenant", "demo"), ("report", report.name)];
        assert_eq!(exp.get("entra_authmethods_report_available", &labels), Some(1.0), "{}", report.name);
        assert_eq!(exp.get("entra_authmethods_poll_success", &labels), Some(1.0), "{}", report.name);
    }
    let privileged = exp
        .get("entra_authmethods_users", &[("tenant", "demo"), ("user_type", "all"), ("user_role", "privilegedAdmin")]);
    assert!(privileged.unwrap() > 0.0, "privileged admins counted");
    let users = exp.get("entra_authmethods_users", &[("tenant", "demo"), ("user_type", "all"), ("user_role", "all")]);
    assert!(users.unwrap() > 2500.0);
    promtool_check_metrics(&exp.text);
    child.kill().await.unwrap();
}

/// One connection slot: a client that trickles half a request line holds it until the header read
/// timeout disconnects it, and only then is the next client served.
#[tokio::test]
async fn a_stalled_client_is_disconnected_and_the_connection_limit_holds_the_others_back() {
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = start_simulator(10, 45).await;
    let s = settings(&config_toml(&sim, "", ""));
    let limits = ConnectionLimits {
        max_connections: 1,
        header_read_timeout: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let exporter = app::start_with(&s, loopback(), "/metrics", None, None, limits).await.unwrap();
    let addr = exporter.addr;
    let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
    stalled.write_all(b"GET /metr").await.unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let stalled_closed = async {
        let mut rest = Vec::new();
        let _ = stalled.read_to_end(&mut rest).await;
        order.lock().unwrap().push("stalled client disconnected");
    };
    let served = async {
        let answer = get(addr, "/healthz").await;
        order.lock().unwrap().push("next client served");
        answer
    };
    let (_, (status, _, body)) = tokio::join!(stalled_closed, served);
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    assert_eq!(*order.lock().unwrap(), ["stalled client disconnected", "next client served"]);
    exporter.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn an_oversized_request_head_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = start_simulator(10, 46).await;
    let exporter = start_exporter(&settings(&config_toml(&sim, "", ""))).await;
    let mut tcp = tokio::net::TcpStream::connect(exporter.addr).await.unwrap();
    let head = format!("GET /metrics HTTP/1.1\r\nhost: x\r\nx-padding: {}\r\n\r\n", "x".repeat(32 * 1024));
    // The server may close before reading everything; what it answered is what matters.
    let _ = tcp.write_all(head.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    // The server is unharmed.
    assert_eq!(get(exporter.addr, "/healthz").await.0, 200);
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// One connection slot: a client that pipelines requests and never reads the answers fills the
/// socket buffers; once a write has made no progress for the write timeout the connection is closed,
/// and the next client is served.
#[tokio::test]
async fn a_client_that_never_reads_its_answers_is_disconnected_after_the_write_timeout() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = start_simulator(10, 47).await;
    let s = settings(&config_toml(&sim, "", ""));
    let limits = ConnectionLimits { max_connections: 1, write_timeout: Duration::from_secs(1), ..Default::default() };
    let exporter = app::start_with(&s, loopback(), "/metrics", None, None, limits).await.unwrap();
    exporter.wait_for_first_round().await;
    let addr = exporter.addr;
    // A small receive buffer, so that the unread answers back up soon.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let (mut reader, mut writer) = socket.connect(addr).await.unwrap().into_split();
    // Pipelined requests until the server stops taking them (its answers are stuck) and then
    // closes the connection, which fails the next write.
    let flood = tokio::spawn(async move {
        let request = b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n";
        let mut sent = 0u32;
        while sent < 1_000_000 && writer.write_all(request).await.is_ok() {
            sent += 1;
        }
        sent
    });
    // The next client waits in the backlog until the stuck one is disconnected.
    let served = tokio::time::timeout(Duration::from_secs(60), get(addr, "/healthz")).await;
    let (status, _, body) = served.expect("the stuck client was disconnected and its slot freed");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    // The stuck connection is closed (what was in the buffers is readable, then it ends).
    let mut sink = Vec::new();
    let _ = reader.read_to_end(&mut sink).await;
    let sent = flood.await.unwrap();
    assert!(sent > 1 && sent < 1_000_000, "the flood ended when the server closed the connection ({sent} requests)");
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// A connection that keeps asking and reading is closed at its maximum age, after a complete answer.
#[tokio::test]
async fn a_busy_connection_is_closed_at_its_maximum_age_after_a_complete_answer() {
    use std::time::Duration;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let sim = start_simulator(10, 48).await;
    let s = settings(&config_toml(&sim, "", ""));
    let limits = ConnectionLimits { max_connection_age: Duration::from_millis(300), ..Default::default() };
    let exporter = app::start_with(&s, loopback(), "/metrics", None, None, limits).await.unwrap();
    let tcp = tokio::net::TcpStream::connect(exporter.addr).await.unwrap();
    let (reader, mut writer) = tcp.into_split();
    let mut reader = tokio::io::BufReader::new(reader);
    let started = tokio::time::Instant::now();
    let mut answers = 0u32;
    let closed = async {
        loop {
            if writer.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await.is_err() {
                return;
            }
            let mut status = String::new();
            if reader.read_line(&mut status).await.unwrap_or(0) == 0 {
                return;
            }
            assert!(status.starts_with("HTTP/1.1 200"), "{status}");
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).await.unwrap();
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).await.unwrap();
            assert_eq!(body, b"ok\n", "every answer is complete");
            answers += 1;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), closed).await.expect("the connection was closed at its age");
    assert!(answers > 0 && started.elapsed() >= Duration::from_millis(300), "{answers} answers");
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// The real binary's `healthcheck` as the manual prints it: flags after the subcommand, a host name
/// as listen address, and a web config file that turns TLS on, so it speaks https to the exporter.
/// Under required client certificates it refuses in one line naming the probe to use instead.
#[tokio::test]
async fn healthcheck_follows_the_web_config_and_takes_flags_after_the_subcommand() {
    let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/web");
    let dir = tempfile::tempdir().unwrap();
    let tls = format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
        testdata.join("rsa.crt").display(),
        testdata.join("rsa.key").display()
    );
    let web_yml = dir.path().join("web.yml");
    std::fs::write(&web_yml, &tls).unwrap();
    let web = entra_authmethods_exporter::http::web::WebConfig::load(&web_yml).unwrap();
    let sim = start_simulator(20, 5).await;
    let exporter = app::start(&settings(&config_toml(&sim, "", "")), loopback(), "/metrics", Some(web)).await.unwrap();
    let port = exporter.addr.port();
    let healthcheck = |web_yml: std::path::PathBuf| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-authmethods-exporter"))
            .arg("healthcheck")
            .args(["--web.listen-address", &format!("localhost:{port}")])
            .arg("--web.config.file")
            .arg(web_yml)
            .output()
    };
    let out = healthcheck(web_yml).await.unwrap();
    assert!(out.status.success(), "healthcheck over TLS: {}", String::from_utf8_lossy(&out.stderr));

    let mtls = dir.path().join("mtls.yml");
    std::fs::write(
        &mtls,
        format!(
            "{tls}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\n",
            testdata.join("rsa.crt").display()
        ),
    )
    .unwrap();
    let out = healthcheck(mtls).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot present one") && stderr.contains("tcpSocket"), "{stderr}");
    exporter.shutdown().await;
    sim.shutdown().await;
}
