//! Command line: flags in the Prometheus exporters' style, and the run modes (daemon, `--once`,
//! `--check-config`, `--demo`, `simulate`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app;
use crate::config::{AppCredential, Settings, Sources};
use crate::logging::{self, LogFormat, LogLevel};

#[derive(Debug, Parser)]
#[command(
    name = "entra-authmethods-exporter",
    version,
    about = "Prometheus exporter for Microsoft Entra ID authentication-methods reports"
)]
pub(crate) struct Cli {
    /// Configuration file (TOML). Environment variables ENTRA_AUTHMETHODS__… override it.
    #[arg(global = true, long = "config", visible_alias = "config.file", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Address to serve /metrics, /healthz, /readyz and the status page on; ":PORT" means all interfaces.
    #[arg(global = true, long = "web.listen-address", value_name = "ADDRESS", default_value = ":10027")]
    pub(crate) listen_address: String,
    /// Path under which to expose metrics.
    #[arg(long = "web.telemetry-path", value_name = "PATH", default_value = "/metrics")]
    pub(crate) telemetry_path: String,
    /// Exporter-toolkit web configuration file (YAML) enabling TLS, client certificates, basic auth
    /// and security headers; see docs/security.md.
    #[arg(global = true, long = "web.config.file", value_name = "FILE")]
    pub(crate) web_config_file: Option<PathBuf>,
    /// Maximum number of open HTTP connections; further clients wait until one closes.
    #[arg(long = "web.max-connections", value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_connections: u32,
    /// Serve POST /-/reload, which re-reads the configuration like SIGHUP does.
    #[arg(long = "web.enable-lifecycle")]
    pub(crate) enable_lifecycle: bool,
    /// This replica's shard (0-based) when tenants are spread over several replicas; defaults to
    /// [sharding] index, then to the ordinal at the end of a StatefulSet pod's hostname.
    #[arg(long = "shard.index", value_name = "I")]
    pub(crate) shard_index: Option<u32>,
    /// Number of replicas sharing the tenants; each polls only the tenants it owns.
    #[arg(long = "shard.count", value_name = "N")]
    pub(crate) shard_count: Option<u32>,
    /// Only log messages with the given severity or above.
    #[arg(global = true, long = "log.level", value_enum, default_value = "info")]
    pub(crate) log_level: LogLevel,
    /// Output format of log messages.
    #[arg(global = true, long = "log.format", value_enum, default_value = "logfmt")]
    pub(crate) log_format: LogFormat,
    /// Validate the configuration and exit: 0 if valid, 1 with the reason if not.
    #[arg(long = "check-config")]
    pub(crate) check_config: bool,
    /// Poll every tenant once, print the exposition to stdout and exit; non-zero if any poll failed.
    #[arg(long, conflicts_with_all = ["check_config", "demo"])]
    pub(crate) once: bool,
    /// Start a built-in Graph simulator with a synthetic tenant and export it.
    #[arg(long, conflicts_with = "check_config")]
    pub(crate) demo: bool,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Sign a person in with the device-code flow for a tenant's delegated reports and store the
    /// refresh token in the tenant's refresh_token_file.
    Login {
        /// The tenant's `name` in the configuration.
        #[arg(long)]
        tenant: String,
    },
    /// Run the Microsoft Graph simulator alone (loopback only), for trying the exporter or other tools.
    Simulate {
        /// Loopback address to listen on.
        #[arg(long, default_value = "127.0.0.1:8990")]
        listen: SocketAddr,
        /// Users in the synthetic tenant.
        #[arg(long, default_value_t = 3000)]
        users: usize,
        /// Seed of the synthetic population.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Report requests allowed per --quota-window per app and tenant (Graph's own is 5).
        #[arg(long, value_name = "N", default_value_t = DEMO_QUOTA)]
        quota_requests: u32,
        /// The quota's sliding window, e.g. "10s" (Graph's); "0s" turns throttling off.
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
        quota_window: std::time::Duration,
    },
    /// Exit 0 if the exporter on this host answers 200 on /healthz (for container health checks).
    Healthcheck {
        /// Loopback URL to check; default: /healthz at --web.listen-address, unspecified hosts as 127.0.0.1.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

/// Requests per 10 seconds the demo's simulator allows and the demo's exporter paces itself to: 10
/// times Graph's real 5, so that every report shows data within seconds.
pub(crate) const DEMO_QUOTA: u32 = 50;

/// What `--demo` and `simulate` say in a build without the simulator.
#[cfg(not(feature = "simulator"))]
const NO_SIMULATOR: &str = "this build has no simulator feature: --demo and simulate need the default build \
     (cargo build --release, without --no-default-features)";

#[cfg(feature = "simulator")]
async fn simulate(
    listen: SocketAddr,
    users: usize,
    seed: u64,
    requests: u32,
    window: std::time::Duration,
) -> Result<ExitCode, String> {
    let quota = crate::demo::Quota { requests, window };
    crate::demo::simulate(listen, users, seed, quota).await.map(|_| ExitCode::SUCCESS)
}

#[cfg(not(feature = "simulator"))]
async fn simulate(_: SocketAddr, _: usize, _: u64, _: u32, _: std::time::Duration) -> Result<ExitCode, String> {
    Err(NO_SIMULATOR.into())
}

#[cfg(feature = "simulator")]
async fn demo(
    listen: SocketAddr,
    telemetry_path: &str,
    web: Option<crate::http::web::WebConfig>,
    limits: crate::http::web::ConnectionLimits,
) -> Result<ExitCode, String> {
    crate::demo::run(listen, telemetry_path, web, limits).await.map(|_| ExitCode::SUCCESS)
}

#[cfg(not(feature = "simulator"))]
async fn demo(
    _: SocketAddr,
    _: &str,
    _: Option<crate::http::web::WebConfig>,
    _: crate::http::web::ConnectionLimits,
) -> Result<ExitCode, String> {
    Err(NO_SIMULATOR.into())
}

/// `--web.listen-address`: `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (all interfaces), as Prometheus
/// exporters take it. A host name (`localhost:10027`) is resolved once, here at start, to one address.
pub(crate) fn parse_listen_address(s: &str) -> Result<SocketAddr, String> {
    let fail = |why: String| format!("--web.listen-address {s:?}: {why} (expected HOST:PORT or :PORT)");
    let Some((host, port)) = s.rsplit_once(':') else { return Err(fail("no port".into())) };
    let port: u16 = match port.parse::<u64>() {
        Ok(p) => u16::try_from(p).map_err(|_| fail(format!("port {p} out of range (0 to 65535)")))?,
        Err(_) => return Err(fail(format!("invalid port {port:?}"))),
    };
    let bracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    if bracketed.is_none() && host.contains(':') {
        return Err(fail(format!("invalid host {host:?} (write an IPv6 address in brackets: [::1]:PORT)")));
    }
    let host = bracketed.unwrap_or(host);
    if host.is_empty() {
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    use std::net::ToSocketAddrs;
    let addrs: Vec<SocketAddr> =
        (host, port).to_socket_addrs().map_err(|e| fail(format!("cannot resolve host {host:?}: {e}")))?.collect();
    // IPv4 first, as Go's net.Listen picks for a name with both (`localhost` is often ::1 first).
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| fail(format!("host {host:?} has no address")))
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_level, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("entra-authmethods-exporter: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    validate_telemetry_path(&cli.telemetry_path)?;
    if let Some(Command::Simulate { listen, users, seed, quota_requests, quota_window }) = cli.command {
        return simulate(listen, users, seed, quota_requests, quota_window).await;
    }
    if let Some(Command::Login { tenant }) = &cli.command {
        let file = cli.config.clone();
        let settings = off_runtime(move || load_settings(file.as_deref())).await?;
        return run_login(&settings, tenant).await;
    }
    let listen = parse_listen_address(&cli.listen_address)?;
    if let Some(Command::Healthcheck { url }) = cli.command {
        // With --web.config.file, TLS decides the scheme; basic auth does not matter for /healthz.
        let tls = match cli.web_config_file.as_deref() {
            Some(path) => {
                let path = path.to_path_buf();
                let web = off_runtime(move || crate::http::web::WebConfig::load(path)).await?;
                if let Some(auth) = web.tls().map(|t| t.client_auth).filter(|a| a.requires_certificate()) {
                    return Err(format!(
                        "healthcheck: the exporter requires a client certificate (client_auth_type {auth:?}) and \
                         healthcheck cannot present one; probe the port instead (Docker: a TCP check, Kubernetes: \
                         tcpSocket) or /healthz with a client certificate (curl --cert)"
                    ));
                }
                web.tls().is_some()
            }
            None => false,
        };
        let url = url.unwrap_or_else(|| crate::healthcheck::url_for(listen, tls));
        return Ok(crate::healthcheck::run(&url).await);
    }
    let limits =
        crate::http::web::ConnectionLimits { max_connections: cli.max_connections as usize, ..Default::default() };
    if cli.demo {
        let web = off_runtime(load_web_config(cli.web_config_file.clone())).await?;
        if let Some(w) = &web {
            tracing::info!(summary = %w.summary(), "web config loaded");
        }
        return demo(listen, &cli.telemetry_path, web, limits).await;
    }
    if cli.check_config {
        return tokio::task::spawn_blocking(move || check_config(&cli))
            .await
            .map_err(|e| format!("--check-config did not finish: {e}"));
    }
    let (file, index, count) = (cli.config.clone(), cli.shard_index, cli.shard_count);
    let settings = off_runtime(move || load_settings(file.as_deref()).and_then(|s| shard(s, index, count))).await?;
    let web = off_runtime(load_web_config(cli.web_config_file.clone())).await;
    if cli.once {
        let (exposition, all_ok) = app::run_once(&settings).await.map_err(|e| e.to_string())?;
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(&exposition).and_then(|_| out.flush()).map_err(|e| format!("cannot write to stdout: {e}"))?;
        return Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    let web = web?;
    if let Some(w) = &web {
        tracing::info!(summary = %w.summary(), "web config loaded");
    }
    // A reload reads the same file and environment and applies the same shard flags as the start.
    let (file, index, count) = (cli.config.clone(), cli.shard_index, cli.shard_count);
    let source = app::ConfigSource::new(move || load_settings(file.as_deref()).and_then(|s| shard(s, index, count)));
    let reload = app::ReloadOptions { source, http_endpoint: cli.enable_lifecycle, sighup: true };
    let exporter = app::start_with(&settings, listen, &cli.telemetry_path, web, Some(reload), limits)
        .await
        .map_err(|e| e.to_string())?;
    app::shutdown_signal().await;
    tracing::info!("shutting down");
    exporter.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Runs `load` (configuration loading, whose file reads block for at most their deadline) on the
/// blocking pool, never on a worker of the runtime.
async fn off_runtime<T: Send + 'static>(
    load: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(load).await.map_err(|e| format!("loading the configuration did not finish: {e}"))?
}

/// Loads the web configuration file, if one is given.
fn load_web_config(
    file: Option<std::path::PathBuf>,
) -> impl FnOnce() -> Result<Option<crate::http::web::WebConfig>, String> + Send + 'static {
    move || file.map(crate::http::web::WebConfig::load).transpose()
}

/// `--check-config`: validates the configuration and the web config, prints the warnings (stderr)
/// and, only when everything is valid, the summary (stdout); otherwise every error (stderr) and 1.
fn check_config(cli: &Cli) -> ExitCode {
    let settings = crate::preflight::load(Sources { file: cli.config.as_deref(), env: None })
        .map_err(|e| e.to_string())
        .inspect(log_auto_choices)
        .and_then(|s| shard(s, cli.shard_index, cli.shard_count));
    let web = cli.web_config_file.as_deref().map(crate::http::web::WebConfig::load).transpose();
    if let Ok(s) = &settings {
        for w in &s.warnings {
            eprintln!("warning: {w}");
        }
    }
    match (settings, web) {
        (Ok(s), Ok(web)) => {
            println!("configuration is valid: {} tenant(s)", s.tenants.len());
            if let Some(w) = web {
                println!("{}", w.summary());
            }
            // What each tenant will poll: a report skipped for want of a credential, or disabled,
            // otherwise only shows as a warning at startup or as a missing series.
            for t in &s.tenants {
                println!("tenant {} (cloud {}):", t.name, t.cloud.as_str());
                for line in crate::poller::check_lines(t) {
                    println!("  {line}");
                }
            }
            ExitCode::SUCCESS
        }
        (settings, web) => {
            for e in [settings.err(), web.err()].into_iter().flatten() {
                eprintln!("{e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Keeps only the tenants this replica owns when sharding is configured.
fn shard(mut settings: Settings, flag_index: Option<u32>, flag_count: Option<u32>) -> Result<Settings, String> {
    let hostname = std::env::var("HOSTNAME").ok();
    let shard = crate::sharding::resolve(
        flag_index,
        flag_count,
        settings.sharding_index,
        settings.sharding_count,
        hostname.as_deref(),
    )?;
    if let Some(shard) = shard {
        let total = settings.tenants.len();
        settings.tenants.retain(|t| crate::sharding::owner(&t.name, shard.count) == shard.index);
        tracing::info!(
            shard = shard.index,
            shards = shard.count,
            tenants = settings.tenants.len(),
            of = total,
            "sharding: polling only the tenants this replica owns"
        );
    }
    Ok(settings)
}

async fn run_login(settings: &Settings, name: &str) -> Result<ExitCode, String> {
    let tenant = settings.tenants.iter().find(|t| t.name == name).ok_or_else(|| {
        let names: Vec<&str> = settings.tenants.iter().map(|t| t.name.as_str()).collect();
        format!("no tenant named {name:?} in the configuration (tenants: {})", names.join(", "))
    })?;
    let http = crate::graph::http_client(&settings.graph).map_err(|e| e.to_string())?;
    crate::login::login(&http, tenant, |code| {
        match &code.message {
            Some(m) => println!("{m}"),
            None => println!("To sign in, open {} and enter the code {}.", code.verification_uri, code.user_code),
        }
        println!("Waiting for the sign-in (the code expires in {} s)...", code.expires_in);
    })
    .await
    .map_err(|e| format!("login for tenant {name:?} failed: {e}"))?;
    let file = tenant.delegated.as_ref().map(|d| d.refresh_token_file.display().to_string()).unwrap_or_default();
    println!(
        "Signed in. The refresh token is stored in {file} (mode 0600); a running exporter uses it at its next poll."
    );
    Ok(ExitCode::SUCCESS)
}

/// Loads the configuration for the daemon, `--once`, `login` and reloads, logging its warnings.
fn load_settings(file: Option<&std::path::Path>) -> Result<Settings, String> {
    let settings = crate::preflight::load(Sources { file, env: None }).map_err(|e| e.to_string())?;
    log_auto_choices(&settings);
    for w in &settings.warnings {
        tracing::warn!(tenant = %w.tenant, key = w.key, "{}", w.message);
    }
    Ok(settings)
}

/// Says which application credential `credential = "auto"` chose for each tenant, and why.
fn log_auto_choices(settings: &Settings) {
    for choice in &settings.auto_choices {
        let Some(t) = settings.tenants.iter().find(|t| t.name == choice.tenant) else { continue };
        match &t.app_credential {
            Some(AppCredential::ManagedIdentity(mi)) => tracing::info!(
                tenant = %t.name,
                credential = "managed_identity",
                protocol = mi.protocol(),
                endpoint = %mi.endpoint,
                identity = mi.client_id.as_deref().unwrap_or("system-assigned"),
                "credential = \"auto\" chose managed identity: {}",
                choice.reason
            ),
            Some(credential) => {
                let kind = credential.kind();
                tracing::info!(tenant = %t.name, credential = kind, "credential = \"auto\" chose {kind}: {}", choice.reason);
            }
            None => {}
        }
    }
}

/// A literal URL path the router can take: `/` and then segments of letters, digits and
/// `-._~!$&'()+,;=:@`, none starting with `:` (the router's old capture syntax, which it refuses
/// with a panic), and not a path the exporter already serves.
fn validate_telemetry_path(path: &str) -> Result<(), String> {
    const RESERVED: [&str; 5] = ["/", "/healthz", "/readyz", "/-/healthy", "/-/ready"];
    let fail = |why: String| Err(format!("--web.telemetry-path {path:?}: {why}"));
    let Some(rest) = path.strip_prefix('/') else {
        return fail("must be an absolute path such as /metrics".into());
    };
    if RESERVED.contains(&path) {
        return fail(format!("is served by the exporter already (reserved: {})", RESERVED.join(" ")));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()+,;=:@/".contains(c);
    if let Some(c) = path.chars().find(|&c| !allowed(c)) {
        return fail(format!(
            "{c:?} is not allowed; use letters, digits, / and -._~!$&'()+,;=:@ (no wildcards, captures, query or escapes)"
        ));
    }
    if let Some(segment) = rest.split('/').find(|s| s.starts_with(':')) {
        return fail(format!("the segment {segment:?} starts with ':', which the router reads as a capture"));
    }
    Ok(())
}

#[cfg(test)]
mod listen_address_tests {
    use super::parse_listen_address;

    #[test]
    fn listen_addresses_as_exporters_take_them() {
        assert_eq!(parse_listen_address(":10027").unwrap().to_string(), "0.0.0.0:10027");
        assert_eq!(parse_listen_address("127.0.0.1:0").unwrap().to_string(), "127.0.0.1:0");
        assert_eq!(parse_listen_address("[::1]:9").unwrap().to_string(), "[::1]:9");
        assert!(parse_listen_address("localhost:10029").unwrap().ip().is_loopback());
        assert_eq!(parse_listen_address("localhost:10029").unwrap().port(), 10029);
        let err = parse_listen_address("localhost:70000").unwrap_err();
        assert!(err.contains("port 70000 out of range"), "{err}");
        let err = parse_listen_address("127.0.0.1").unwrap_err();
        assert!(err.contains("no port"), "{err}");
        let err = parse_listen_address("127.0.0.1:http").unwrap_err();
        assert!(err.contains("invalid port \"http\""), "{err}");
        let err = parse_listen_address("::1:9").unwrap_err();
        assert!(err.contains("brackets"), "{err}");
        let err = parse_listen_address("no-such-host.invalid:9").unwrap_err();
        assert!(err.contains("cannot resolve host \"no-such-host.invalid\""), "{err}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telemetry_paths_the_router_cannot_take_are_refused_with_the_reason() {
        for (path, why) in [
            ("metrics", "absolute path"),
            ("/healthz", "reserved"),
            ("/", "reserved"),
            ("/:x", "starts with ':'"),
            ("/a/:b", "starts with ':'"),
            ("/{x}", "'{' is not allowed"),
            ("/*x", "'*' is not allowed"),
            ("/a?b", "'?' is not allowed"),
            ("/a%20b", "'%' is not allowed"),
            ("/a b", "' ' is not allowed"),
            ("/m\u{e9}trics", "'\u{e9}' is not allowed"),
            ("/a\nb", "'\\n' is not allowed"),
        ] {
            let err = validate_telemetry_path(path).unwrap_err();
            assert!(err.starts_with(&format!("--web.telemetry-path {path:?}: ")) && err.contains(why), "{path}: {err}");
        }
    }

    #[test]
    fn accepted_telemetry_paths_build_a_router() {
        let store = crate::snapshot::Store::new(Vec::new(), crate::snapshot::BuildInfo { version: "v", revision: "r" });
        for path in ["/metrics", "/a/b/", "/a:b", "/x@y", "/a;b=c", "/~user/metrics", "/m-1.2_3!$&'()+,", "//metrics"] {
            validate_telemetry_path(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let built = std::panic::catch_unwind(|| crate::http::router(store.clone(), path));
            assert!(built.is_ok(), "{path} was accepted but the router panicked on it");
        }
    }
}
