//! Micro-benchmarks of the costs that grow with a tenant or with Prometheus: decoding and
//! aggregating userRegistrationDetails pages (users/s per core), rendering the store into the
//! exposition and compressing it (and the gzip levels to choose from; the text alone, by the direct
//! writer and by the `prometheus` crate's TextEncoder), and serving one scrape from the cached
//! exposition, plain and gzip.
//!
//! The pages are real simulator answers (fetched once over loopback at setup, with the exporter's
//! `$select`), so the decoder sees the same bytes as in production tests. Run with
//! `cargo bench --bench exporter`; CI runs `cargo bench --bench exporter -- --test` (each benchmark
//! once, no timing) so the code cannot rot. BENCHMARKS.md records the figures.

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tower_service::Service;

use entra_authmethods_exporter::aggregation::RegistrationAggregator;
use entra_authmethods_exporter::config::{self, Breakdown, Settings};
use entra_authmethods_exporter::http::router;
use entra_authmethods_exporter::poller::registration::decode_page;
use entra_authmethods_exporter::reports::registration_details::{PATH, SELECT};
use entra_authmethods_exporter::reports::{Page, ReportKind};
use entra_authmethods_exporter::snapshot::{self, BuildInfo, ReportData, Store, TenantInfo};
use graph_simulator::{self, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID, SimulatorConfig};

/// Users in the simulated tenant the pages come from: ten full pages of 1000 rows.
const USERS: usize = 10_000;
const SEED: u64 = 7;

/// Fetches every userRegistrationDetails page of a simulated tenant, as the exporter requests them.
fn fetch_pages(rt: &tokio::runtime::Runtime) -> Vec<Bytes> {
    rt.block_on(async {
        let mut sim_config = SimulatorConfig::single(USERS, SEED);
        // The quota is not what is measured here.
        sim_config.quota_window = Duration::ZERO;
        let sim = graph_simulator::start(sim_config, SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("simulator");
        let base = sim.base_url();
        // The exporter's own client: it installs the TLS provider reqwest is built without.
        let http = entra_authmethods_exporter::graph::http_client(&settings(1).graph).expect("HTTP client");
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", DEMO_CLIENT_ID)
            .append_pair("client_secret", DEMO_CLIENT_SECRET)
            .append_pair("scope", "https://graph.microsoft.com/.default")
            .finish();
        let token = http
            .post(format!("{base}/{DEMO_TENANT_ID}/oauth2/v2.0/token"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("token request")
            .bytes()
            .await
            .expect("token body");
        let token: serde_json::Value = serde_json::from_slice(&token).expect("token JSON");
        let token = token["access_token"].as_str().expect("access_token").to_string();
        let mut url = format!("{base}/v1.0/{PATH}?$top=1000&$select={SELECT}");
        let mut pages = Vec::new();
        loop {
            let body = http
                .get(&url)
                .bearer_auth(&token)
                .header("Prefer", "include-unknown-enum-members")
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .expect("page request")
                .bytes()
                .await
                .expect("page body");
            let next = serde_json::from_slice::<Page<serde::de::IgnoredAny>>(&body).expect("a page").next_link;
            pages.push(body);
            match next {
                Some(n) => url = n,
                None => break,
            }
        }
        sim.shutdown().await;
        pages
    })
}

/// The default breakdowns (user_types all/member/guest × user_roles all/admin/user), from the same
/// configuration path as production.
fn settings(tenants: usize) -> Settings {
    let mut toml = String::new();
    for i in 0..tenants {
        toml.push_str(&format!(
            "[[tenant]]\nname = \"tenant-{i}\"\ntenant_id = \"{DEMO_TENANT_ID}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\n\
             client_secret = \"x\"\ngraph_endpoint = \"http://127.0.0.1:1\"\nlogin_endpoint = \"http://127.0.0.1:1\"\n"
        ));
    }
    config::from_toml_str(&toml).expect("bench config")
}

fn aggregate(pages: &[Bytes], breakdowns: &[Breakdown]) -> u64 {
    let mut aggregator = RegistrationAggregator::new(breakdowns);
    for body in pages {
        let page = decode_page(body).expect("page decodes");
        aggregator.add_page(&page.value);
    }
    aggregator.finish().rows
}

/// A store of `tenants` tenants whose registration report holds the aggregate of `pages`, as after a
/// successful poll of each.
fn store_with(tenants: usize, pages: &[Bytes]) -> Arc<Store> {
    let settings = settings(tenants);
    let breakdowns = &settings.tenants[0].breakdowns;
    let mut aggregator = RegistrationAggregator::new(breakdowns);
    for body in pages {
        let page = decode_page(body).expect("page decodes");
        aggregator.add_page(&page.value);
    }
    let summary = aggregator.finish();
    let planned = settings
        .tenants
        .iter()
        .map(|t| {
            let info = TenantInfo {
                name: t.name.clone(),
                tenant_id: t.tenant_id.clone(),
                cloud: t.cloud.as_str(),
                summary_source: false,
                numbers: Default::default(),
            };
            let day = Duration::from_secs(86_400);
            (info, vec![(ReportKind::RegistrationDetails, day, 3 * day, None)])
        })
        .collect();
    let store = Store::new(planned, BuildInfo::current());
    for tenant in store.tenants().iter() {
        let data = ReportData::Registration(summary.clone());
        store.record_success(tenant, ReportKind::RegistrationDetails, data, Duration::from_secs(1));
    }
    store
}

/// Whether a benchmark group is selected by the command line's filter (criterion's positional
/// argument), so that `cargo bench --bench exporter -- registration` skips the other groups' setup
/// (which matters under callgrind).
fn wanted(group: &str) -> bool {
    const WITH_VALUE: &[&str] = &[
        "--profile-time",
        "--save-baseline",
        "--baseline",
        "--load-baseline",
        "--measurement-time",
        "--warm-up-time",
        "--sample-size",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--output-format",
        "--color",
        "--format",
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with('-') && (*i == 0 || !WITH_VALUE.contains(&args[i - 1].as_str())))
        .map(|(_, a)| a)
        .collect();
    filters.is_empty() || filters.iter().any(|f| group.contains(f.as_str()) || f.starts_with(group))
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let pages = fetch_pages(&rt);
    let settings = settings(1);
    let breakdowns = settings.tenants[0].breakdowns.clone();
    let rows = aggregate(&pages, &breakdowns);

    if wanted("registration") {
        registration(c, &pages, &breakdowns, rows);
    }
    if wanted("render") {
        render(c, &pages);
    }
    if wanted("gzip") {
        gzip(c, &pages);
    }
    if wanted("scrape") {
        scrape(c, &rt, &pages);
    }
    if wanted("churn") {
        churn(c, &pages);
    }
}

fn registration(c: &mut Criterion, pages: &[Bytes], breakdowns: &[Breakdown], rows: u64) {
    let mut group = c.benchmark_group("registration");
    group.throughput(Throughput::Elements(rows));
    group.bench_function("decode_and_aggregate", |b| b.iter(|| black_box(aggregate(pages, breakdowns))));
    group.bench_function("decode_only", |b| {
        b.iter(|| {
            for body in pages {
                black_box(decode_page(body).expect("page decodes").value.len());
            }
        })
    });
    group.finish();
}

fn render(c: &mut Criterion, pages: &[Bytes]) {
    let mut group = c.benchmark_group("render");
    for tenants in [1, 100] {
        let store = store_with(tenants, pages);
        group.throughput(Throughput::Bytes(store.exposition().len() as u64));
        group.bench_function(format!("{tenants}_tenants"), |b| {
            b.iter(|| {
                // A change marks the exposition out of date; the next read renders and compresses it.
                // (Not `exposition()`: above KEEP_PLAIN_UP_TO that would also decompress it.)
                store.invalidate();
                black_box(store.cached_exposition())
            })
        });
        // The text alone, without compression: the direct writer the exporter uses, and the same state
        // through the `prometheus` crate's MetricFamily protos and TextEncoder (the reference its test
        // compares against).
        let (build, reload, status) = (BuildInfo::current(), store.reload_status(), store.status());
        group.bench_function(format!("text_{tenants}_tenants"), |b| {
            b.iter(|| black_box(snapshot::render(&build, &reload, &status)))
        });
        group.bench_function(format!("text_encoder_{tenants}_tenants"), |b| {
            b.iter(|| black_box(snapshot::render_with_text_encoder(&build, &reload, &status)))
        });
    }
    group.finish();
}

/// The compression levels on the 100-tenant exposition (the store uses the fast one), and the
/// decompression a plain-text scrape of an exposition above `KEEP_PLAIN_UP_TO` pays.
fn gzip(c: &mut Criterion, pages: &[Bytes]) {
    use std::io::{Read, Write};

    use flate2::Compression;
    use flate2::read::GzDecoder;
    use flate2::write::GzEncoder;

    let text = store_with(100, pages).exposition();
    let compress = |level| {
        let mut encoder = GzEncoder::new(Vec::with_capacity(text.len() / 8), level);
        encoder.write_all(&text).expect("in memory");
        encoder.finish().expect("in memory")
    };
    let mut group = c.benchmark_group("gzip");
    group.throughput(Throughput::Bytes(text.len() as u64));
    for (name, level) in [("fast", Compression::fast()), ("default", Compression::default())] {
        eprintln!("gzip/{name}: {} bytes to {}", text.len(), compress(level).len());
        group.bench_function(format!("{name}_100_tenants"), |b| b.iter(|| black_box(compress(level))));
    }
    let gzip = compress(Compression::fast());
    group.bench_function("inflate_100_tenants", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(text.len());
            GzDecoder::new(&gzip[..]).read_to_end(&mut out).expect("valid gzip");
            black_box(out)
        })
    });
    group.finish();
}

fn scrape(c: &mut Criterion, rt: &tokio::runtime::Runtime, pages: &[Bytes]) {
    let mut group = c.benchmark_group("scrape");
    let store = store_with(1, pages);
    let app = router(store.clone(), "/metrics");
    // Bytes of exposition served, whichever encoding carries them.
    group.throughput(Throughput::Bytes(store.exposition().len() as u64));
    // The axum router in-process: routing, the cached Bytes and the response headers, no socket.
    for (name, accept) in [("cached_exposition", "identity"), ("cached_exposition_gzip", "gzip")] {
        group.bench_function(name, |b| {
            b.to_async(rt).iter_batched(
                || app.clone(),
                |mut app| async move {
                    let request = axum::http::Request::get("/metrics")
                        .header("accept-encoding", accept)
                        .body(axum::body::Body::empty())
                        .expect("request");
                    let response = app.call(request).await.expect("infallible");
                    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
                    black_box(body.len())
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// The work after one tenant's change, at 1 and 1000 tenants: its poll's result recorded (data that
/// differs from the last, so every data family changes, and the health), then what the next scrape
/// needs (the tenant's parts rendered and compressed again, the pieces joined). Issue 16: at 1000
/// tenants at most 2 × the same at 1, so that the work of a change follows the change, not the fleet.
fn churn(c: &mut Criterion, pages: &[Bytes]) {
    let mut group = c.benchmark_group("churn");
    let breakdowns = settings(1).tenants[0].breakdowns.clone();
    // Two results that differ in every count: all pages, and all but the last.
    let summaries = [aggregate_summary(pages, &breakdowns), aggregate_summary(&pages[..pages.len() - 1], &breakdowns)];
    for tenants in [1, 1000] {
        let store = store_with(tenants, pages);
        // The first render, of every tenant, is not what is measured.
        let exposition = store.cached_exposition();
        eprintln!("churn/{tenants}: {} bytes of text", exposition.plain_len());
        drop(exposition);
        let fleet = store.tenants();
        let mut round = 0usize;
        group.bench_function(format!("one_change_{tenants}_tenants"), |b| {
            b.iter(|| {
                round += 1;
                // Each tenant in turn (7919 is prime to the fleet's size), its data alternating
                // between its visits, so that every change changes its numbers.
                let tenant = &fleet[(round * 7919) % fleet.len()];
                let data = ReportData::Registration(summaries[(round / fleet.len()) % 2].clone());
                store.record_success(tenant, ReportKind::RegistrationDetails, data, Duration::from_secs(1));
                black_box(store.cached_exposition())
            })
        });
    }
    group.finish();
}

fn aggregate_summary(
    pages: &[Bytes],
    breakdowns: &[Breakdown],
) -> entra_authmethods_exporter::aggregation::RegistrationSummary {
    let mut aggregator = RegistrationAggregator::new(breakdowns);
    for body in pages {
        aggregator.add_page(&decode_page(body).expect("page decodes").value);
    }
    aggregator.finish()
}

criterion_group! {
    name = exporter;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(exporter);
