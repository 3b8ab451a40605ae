//! Every configuration error has a fixture in tests/testdata/config/bad-*.toml whose first line is
//! `# error: <text>`; loading it must fail with one line containing that text and naming the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use entra_authmethods_exporter::config::{self, Sources};

fn fixtures(prefix: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/config");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .collect();
    files.sort();
    files
}

fn load(path: &Path, env: &[(&str, &str)]) -> Result<config::Settings, config::ConfigError> {
    let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    config::load(Sources { file: Some(path), env: Some(env) })
}

#[test]
fn every_bad_fixture_fails_with_its_message() {
    let bad = fixtures("bad-");
    assert!(bad.len() >= 20, "fixtures found: {}", bad.len());
    for path in bad {
        let text = std::fs::read_to_string(&path).unwrap();
        let expected = text.lines().next().and_then(|l| l.strip_prefix("# error: ")).expect("first line: # error: …");
        let err = load(&path, &[]).err().unwrap_or_else(|| panic!("{} was accepted", path.display())).to_string();
        assert!(err.contains(expected), "{}:\n  expected: {expected}\n  got:      {err}", path.display());
        assert!(err.contains(&path.display().to_string()), "error names the file: {err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

#[test]
fn good_fixtures_load() {
    for path in fixtures("good-") {
        load(&path, &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[test]
fn the_example_config_is_valid_and_documents_every_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s").unwrap();
    // The example points at a secret file that exists only in a deployment.
    let text = std::fs::read_to_string(root.join("config.example.toml"))
        .unwrap()
        .replace("/etc/entra-authmethods-exporter/contoso.secret", secret.to_str().unwrap());
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &text).unwrap();
    let settings = load(&path, &[]).unwrap();
    assert!(!settings.tenants.is_empty());
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for key in [
        "state_file",
        "connect_timeout",
        "request_timeout",
        "poll_timeout",
        "max_attempts",
        "retry_backoff_base",
        "retry_backoff_max",
        "page_size",
        "max_pages",
        "rate_limit_requests",
        "rate_limit_period",
        "name",
        "tenant_id",
        "client_id",
        "client_secret",
        "client_secret_file",
        "cloud",
        "graph_endpoint",
        "login_endpoint",
        "poll_interval",
        "user_types",
        "user_roles",
        "registration_source",
        "refresh_token_file",
        "delegated_client_id",
        "enabled",
        "interval",
        "lookback",
        "max_failure_reasons",
        "max_staleness",
        "max_concurrent_polls",
        "client_certificate_file",
        "client_certificate_key_file",
        "credential",
        "managed_identity_endpoint",
        "managed_identity_header",
        "count",
        "index",
    ] {
        assert!(
            text.contains(&format!("{key} =")) || text.contains(&format!("# {key} =")),
            "config.example.toml lacks {key}"
        );
        assert!(readme.contains(&format!("`{key}`")), "README lacks {key}");
    }
}

#[test]
fn environment_overrides_are_validated_too() {
    let path = fixtures("good-minimal").remove(0);
    let err = load(&path, &[("ENTRA_AUTHMETHODS__TENANT__0__POLL_INTERVAL", "10s")]).unwrap_err().to_string();
    assert!(err.contains("poll_interval = \"10s\" is below the minimum"), "{err}");
    let err = load(&path, &[("ENTRA_AUTHMETHODS__TENANT__X__NAME", "a")]).unwrap_err().to_string();
    assert!(err.contains("ENTRA_AUTHMETHODS__TENANT__X__NAME"), "{err}");
}

#[test]
fn check_config_exits_zero_or_one_with_the_reason() {
    let exe = env!("CARGO_BIN_EXE_entra-authmethods-exporter");
    let good = fixtures("good-minimal").remove(0);
    let out = Command::new(exe).arg("--check-config").arg("--config").arg(&good).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration is valid: 1 tenant(s)"));

    let bad = fixtures("bad-poll-interval-short").remove(0);
    let out = Command::new(exe).arg("--check-config").arg("--config").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("poll_interval = \"30s\" is below the minimum of 1m"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

#[test]
fn secrets_never_appear_in_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "[[tenant]]\nname = \"c\"\ntenant_id = \"bad id\"\nclient_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\nclient_secret = \"TopSecretValue\"\n",
    )
    .unwrap();
    let err = load(&path, &[]).unwrap_err().to_string();
    assert!(!err.contains("TopSecretValue"), "{err}");
}
