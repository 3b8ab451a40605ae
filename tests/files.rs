//! Files that cannot be read must not stall the exporter: a FIFO where a secret file should be
//! fails `--check-config` and `--once` at once, naming the file; a reload that reads one is
//! rejected while `/healthz` keeps answering, and the next good reload takes effect; a reload whose
//! loading hangs does not hold up a later one. (The read deadline and the one-read-per-file rule are
//! tested with a reader that never returns in src/file_read.rs.)

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common::*;
use entra_authmethods_exporter::app;
use entra_authmethods_exporter::config::{Settings, Sources};
use graph_simulator::DEMO_CLIENT_SECRET;

/// What the issue allows a command to take when a file cannot be read: seconds, not minutes.
const COMMAND_BOUND: Duration = Duration::from_secs(30);
/// What `/healthz` may take while a reload is stuck on a file.
const HEALTHZ_BOUND: Duration = Duration::from_secs(1);

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}

/// The configuration for `sim` with the client secret read from `file`.
fn with_secret_file(sim: &graph_simulator::RunningSimulator, file: &Path) -> String {
    let toml = config_toml(sim, "", "");
    let inline = format!("client_secret = \"{DEMO_CLIENT_SECRET}\"");
    assert!(toml.contains(&inline));
    toml.replace(&inline, &format!("client_secret_file = {:?}", file.display().to_string()))
}

/// A config file and a reload source reading it, as the daemon's.
fn file_source(path: &Path) -> app::ConfigSource {
    let file = path.to_path_buf();
    app::ConfigSource::new(move || {
        entra_authmethods_exporter::preflight::load(Sources { file: Some(&file), env: Some(Default::default()) })
            .map_err(|e| e.to_string())
    })
}

async fn run_with_bound(args: &[&str], config: &Path) -> std::process::Output {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_entra-authmethods-exporter"))
        .args(args)
        .arg("--config")
        .arg(config)
        .output();
    tokio::time::timeout(COMMAND_BOUND, child)
        .await
        .unwrap_or_else(|_| panic!("{args:?} did not end within {COMMAND_BOUND:?}"))
        .expect("the exporter binary runs")
}

#[tokio::test]
async fn check_config_and_once_refuse_a_fifo_secret_file_within_seconds_naming_it() {
    let sim = start_simulator(20, 151).await;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("client-secret");
    mkfifo(&fifo);
    let config = dir.path().join("config.toml");
    std::fs::write(&config, with_secret_file(&sim, &fifo)).unwrap();
    for args in [&["--check-config"][..], &["--once"][..]] {
        let out = run_with_bound(args, &config).await;
        assert!(!out.status.success(), "{args:?} must fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = format!(
            "client_secret_file {}: it is a FIFO (named pipe), not a regular file; only a regular file (or a symlink \
             to one) is read",
            fifo.display()
        );
        assert!(stderr.contains(&line), "{args:?}: {stderr}");
        assert_eq!(stderr.matches("FIFO").count(), 1, "one line for one cause: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
    // A symlink to a regular file (how Kubernetes mounts a Secret) is followed.
    let secret = dir.path().join("secret-data");
    std::fs::write(&secret, format!("{DEMO_CLIENT_SECRET}\n")).unwrap();
    let link = dir.path().join("secret-link");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    std::fs::write(&config, with_secret_file(&sim, &link)).unwrap();
    let out = run_with_bound(&["--check-config"], &config).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    sim.shutdown().await;
}

/// Asks `/healthz` `times` times; each answer must come within [`HEALTHZ_BOUND`].
async fn healthz_answers_promptly(addr: std::net::SocketAddr, times: usize) {
    for _ in 0..times {
        let answer = tokio::time::timeout(HEALTHZ_BOUND, get(addr, "/healthz"))
            .await
            .unwrap_or_else(|_| panic!("/healthz did not answer within {HEALTHZ_BOUND:?}"));
        assert_eq!(answer.0, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_to_a_fifo_secret_file_is_rejected_and_the_next_good_one_takes_effect() {
    let sim = start_simulator(30, 152).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let good = config_toml(&sim, "", "");
    std::fs::write(&path, &good).unwrap();
    let options = app::ReloadOptions { source: file_source(&path), http_endpoint: true, sighup: false };
    let exporter = app::start_with(&settings(&good), loopback(), "/metrics", None, Some(options), Default::default())
        .await
        .unwrap();
    exporter.wait_for_first_round().await;
    let url = format!("http://{}/-/reload", exporter.addr);

    let fifo = dir.path().join("client-secret");
    mkfifo(&fifo);
    std::fs::write(&path, with_secret_file(&sim, &fifo)).unwrap();
    let reload = tokio::spawn(client().post(&url).send());
    healthz_answers_promptly(exporter.addr, 10).await;
    let answer = tokio::time::timeout(COMMAND_BOUND, reload).await.expect("the reload is answered").unwrap().unwrap();
    assert_eq!(answer.status().as_u16(), 500);
    let body = answer.text().await.unwrap();
    assert!(body.contains(&format!("client_secret_file {}: it is a FIFO", fifo.display())), "{body}");
    healthz_answers_promptly(exporter.addr, 10).await;
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_config_last_reload_successful", &[]), Some(0.0));

    // The fixed file: a regular file behind a symlink, as Kubernetes mounts a Secret.
    let secret = dir.path().join("secret-data");
    std::fs::write(&secret, DEMO_CLIENT_SECRET).unwrap();
    let link = dir.path().join("secret-link");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    std::fs::write(&path, with_secret_file(&sim, &link)).unwrap();
    let answer = client().post(&url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(
        answer.text().await.unwrap(),
        format!("configuration reloaded: 0 tenants added, 0 removed, 1 changed ({TENANT}), 0 unchanged\n")
    );
    let exp = scrape(exporter.addr).await;
    assert_eq!(exp.get("entra_authmethods_config_last_reload_successful", &[]), Some(1.0));
    // The secret read from the file works: a poll with it succeeds.
    assert!(exporter.poll_now().await);
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// A configuration source whose first load hangs until released (as a load reading a file on a
/// hung mount would, up to the read deadline) and whose later loads give `next`.
struct HangingSource {
    calls: Arc<AtomicUsize>,
    entered: mpsc::Receiver<()>,
    release: mpsc::Sender<()>,
    returned: mpsc::Receiver<()>,
}

fn hanging_source(next: Settings) -> (app::ConfigSource, HangingSource) {
    let (release, wait) = mpsc::channel::<()>();
    let (entered_tx, entered) = mpsc::channel::<()>();
    let (returned_tx, returned) = mpsc::channel::<()>();
    let (wait, entered_tx, returned_tx) = (Mutex::new(wait), Mutex::new(entered_tx), Mutex::new(returned_tx));
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let source = app::ConfigSource::new(move || {
        if counted.fetch_add(1, Ordering::SeqCst) == 0 {
            let _ = entered_tx.lock().unwrap().send(());
            let _ = wait.lock().unwrap().recv();
            let _ = returned_tx.lock().unwrap().send(());
            return Err("config file: the hung read ended".to_string());
        }
        Ok(next.clone())
    });
    (source, HangingSource { calls, entered, release, returned })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_reload_is_not_queued_behind_one_that_hangs() {
    let sim = start_simulator(30, 153).await;
    let first = settings(&config_toml(&sim, "", ""));
    let second = settings(&config_toml(&sim, "page_size = 200", ""));
    let (source, hang) = hanging_source(second);
    let options = app::ReloadOptions { source, http_endpoint: true, sighup: false };
    let exporter =
        app::start_with(&first, loopback(), "/metrics", None, Some(options), Default::default()).await.unwrap();
    exporter.wait_for_first_round().await;
    let url = format!("http://{}/-/reload", exporter.addr);

    let stuck = tokio::spawn(client().post(&url).send());
    let entered = hang.entered;
    tokio::task::spawn_blocking(move || entered.recv().expect("the first load starts")).await.unwrap();
    healthz_answers_promptly(exporter.addr, 10).await;
    assert_eq!(scrape(exporter.addr).await.get("entra_authmethods_config_last_reload_successful", &[]), Some(1.0));

    // The first load still hangs; the second request starts a load of its own, which takes effect
    // and answers both requests.
    let answer = tokio::time::timeout(COMMAND_BOUND, client().post(&url).send())
        .await
        .expect("the later reload is not queued behind the hung one")
        .unwrap();
    let expected = format!("configuration reloaded: 0 tenants added, 0 removed, 1 changed ({TENANT}), 0 unchanged\n");
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(answer.text().await.unwrap(), expected);
    let earlier = tokio::time::timeout(COMMAND_BOUND, stuck).await.expect("the first request is answered").unwrap();
    assert_eq!(earlier.unwrap().text().await.unwrap(), expected);
    assert_eq!(hang.calls.load(Ordering::SeqCst), 2);
    healthz_answers_promptly(exporter.addr, 3).await;
    assert_eq!(scrape(exporter.addr).await.get("entra_authmethods_config_last_reload_successful", &[]), Some(1.0));

    // The hung load returns at last: its result is dropped, not applied over the later one.
    hang.release.send(()).unwrap();
    let returned = hang.returned;
    tokio::task::spawn_blocking(move || returned.recv().expect("the hung load returns")).await.unwrap();
    assert!(exporter.poll_now().await);
    assert_eq!(scrape(exporter.addr).await.get("entra_authmethods_config_last_reload_successful", &[]), Some(1.0));
    exporter.shutdown().await;
    sim.shutdown().await;
}

/// Every other file the configuration names is refused the same way, in one line naming it: the
/// configuration file, the web configuration, a client certificate; a state file that is a FIFO is
/// ignored with a warning and the exporter starts and serves without it.
#[tokio::test]
async fn the_config_web_config_certificate_and_state_files_refuse_a_fifo() {
    let sim = start_simulator(20, 154).await;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let refused = |what: &str| format!("{what} {}: it is a FIFO (named pipe), not a regular file", fifo.display());

    let err = entra_authmethods_exporter::preflight::load(Sources { file: Some(&fifo), env: Some(Default::default()) })
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&refused("config file")), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    let err = entra_authmethods_exporter::http::web::WebConfig::load(&fifo).unwrap_err();
    assert!(err.starts_with(&refused("web config")), "{err}");
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        format!("tls_server_config:\n  cert_file: {}\n  key_file: {}\n", fifo.display(), fifo.display()),
    )
    .unwrap();
    let err = entra_authmethods_exporter::http::web::WebConfig::load(&web).unwrap_err();
    assert!(err.contains(&format!("tls_server_config.cert_file: {}: it is a FIFO", fifo.display())), "{err}");

    let toml = config_toml(&sim, "", "").replace(
        &format!("client_secret = \"{DEMO_CLIENT_SECRET}\""),
        &format!("client_certificate_file = {:?}", fifo.display().to_string()),
    );
    let config = dir.path().join("config.toml");
    std::fs::write(&config, &toml).unwrap();
    let err =
        entra_authmethods_exporter::preflight::load(Sources { file: Some(&config), env: Some(Default::default()) })
            .unwrap_err()
            .to_string();
    assert!(err.contains(&refused("client_certificate_file")), "{err}");

    let with_state = format!("state_file = {:?}\n{}", fifo.display().to_string(), config_toml(&sim, "", ""));
    let exporter = tokio::time::timeout(COMMAND_BOUND, start_exporter(&settings(&with_state)))
        .await
        .expect("the exporter starts without the state file");
    healthz_answers_promptly(exporter.addr, 3).await;
    let exp = scrape(exporter.addr).await;
    assert!(
        exp.get("entra_authmethods_users", &[("tenant", TENANT), ("user_type", "all"), ("user_role", "all")]).is_some()
    );
    exporter.shutdown().await;
    sim.shutdown().await;
}
