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
    // The certificate and secret-file checks are the preflight step's, run by every command after loading.
    entra_authmethods_exporter::preflight::load(Sources { file: Some(path), env: Some(env) })
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
    let manual = std::fs::read_to_string(root.join("docs/configuration.md")).unwrap();
    let keys = schema_keys(&std::fs::read_to_string(root.join("src/config/raw.rs")).unwrap());
    assert!(keys.len() > 30 && keys.contains(&"lookback".to_owned()), "the schema's keys are found: {keys:?}");
    for key in &keys {
        assert!(
            text.contains(&format!("{key} =")) || text.contains(&format!("# {key} =")),
            "config.example.toml lacks {key}"
        );
        assert!(manual.contains(&format!("`{key}`")), "docs/configuration.md lacks {key}");
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

/// `exclude_groups` can come from the environment (a comma-separated list); a bad entry names the variable.
#[test]
fn exclusions_from_the_environment_are_checked_and_named() {
    let path = fixtures("good-minimal").remove(0);
    let var = "ENTRA_AUTHMETHODS__TENANT__0__EXCLUDE_GROUPS";
    let ids = "0a1b2c3d-0000-4000-8000-000000000001, 0a1b2c3d-0000-4000-8000-000000000002";
    let settings = load(&path, &[(var, ids)]).unwrap();
    assert!(format!("{:?}", settings.tenants[0]).contains("0a1b2c3d-0000-4000-8000-000000000002"));
    let err = load(&path, &[(var, "0a1b2c3d-0000-4000-8000-000000000001,breakglass")]).unwrap_err().to_string();
    assert!(err.starts_with(&format!("environment variable {var}: ")), "{err}");
    assert!(err.contains("exclude_groups[1] = \"breakglass\" is not a GUID"), "{err}");
}

/// An error caused by an environment variable starts with the variable's name, not the file's.
#[test]
fn environment_errors_name_the_variable() {
    let path = fixtures("good-minimal").remove(0);
    let file = format!("config file {}", path.display());
    let cases: &[(&str, &str, &str)] = &[
        (
            "ENTRA_AUTHMETHODS__GRAPH__PAGE_SISE",
            "5",
            "environment variable ENTRA_AUTHMETHODS__GRAPH__PAGE_SISE: unknown key graph.page_sise (known: connect_timeout, ",
        ),
        (
            "ENTRA_AUTHMETHODS__GRAPH__PAGE_SIZE",
            "lots",
            "environment variable ENTRA_AUTHMETHODS__GRAPH__PAGE_SIZE: graph.page_size = \"lots\" is not a whole number",
        ),
        (
            "ENTRA_AUTHMETHODS__GRAPH__PAGE_SIZE",
            "5000",
            "environment variable ENTRA_AUTHMETHODS__GRAPH__PAGE_SIZE: graph.page_size: 5000 is out of range",
        ),
        (
            "ENTRA_AUTHMETHODS__STAT_FILE",
            "/tmp/x",
            "environment variable ENTRA_AUTHMETHODS__STAT_FILE: unknown key stat_file (known: state_file, graph, sharding, tenant, method_strength)",
        ),
        (
            "ENTRA_AUTHMETHODS__TENANT__0__POL_INTERVAL",
            "5m",
            "environment variable ENTRA_AUTHMETHODS__TENANT__0__POL_INTERVAL: tenant[0] (\"contoso\"): unknown key pol_interval (known: name, ",
        ),
        (
            "ENTRA_AUTHMETHODS__TENANT__0__POLL_INTERVAL",
            "10s",
            "environment variable ENTRA_AUTHMETHODS__TENANT__0__POLL_INTERVAL: tenant[0] (\"contoso\"): poll_interval = \"10s\" is below the minimum of 1m",
        ),
        (
            "ENTRA_AUTHMETHODS__TENANT__0__REPORTS__REGISTRATION_DETAILS__EVERY",
            "5m",
            "environment variable ENTRA_AUTHMETHODS__TENANT__0__REPORTS__REGISTRATION_DETAILS__EVERY: tenant[0] (\"contoso\"): unknown key reports.registration_details.every (known: enabled, ",
        ),
        (
            "ENTRA_AUTHMETHODS__TENANT__0__REPORTS__USER_EVENTS_SUMMARY__LOOKBACK",
            "40d",
            "environment variable ENTRA_AUTHMETHODS__TENANT__0__REPORTS__USER_EVENTS_SUMMARY__LOOKBACK: tenant[0] (\"contoso\"): reports.user_events_summary.lookback must be between 1h and 30d",
        ),
        (
            "ENTRA_AUTHMETHODS__TENANT__0__USER_TYPES",
            "all,employee",
            "environment variable ENTRA_AUTHMETHODS__TENANT__0__USER_TYPES: tenant[0] (\"contoso\"): user_types contains \"employee\"",
        ),
        ("ENTRA_AUTHMETHODS__GRAPH", "5", "environment variable ENTRA_AUTHMETHODS__GRAPH: graph is a table"),
    ];
    for (var, value, expected) in cases {
        let err = load(&path, &[(var, value)]).unwrap_err().to_string();
        assert!(err.starts_with(expected), "{var}={value}:\n  expected: {expected}\n  got:      {err}");
        assert!(!err.contains(&file) && !err.contains('\n'), "{err}");
    }
    // A conflict between the file and a variable names both.
    let err = load(&path, &[("ENTRA_AUTHMETHODS__TENANT__0__CLIENT_SECRET_FILE", "/run/secrets/contoso")])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "{file} and environment variable ENTRA_AUTHMETHODS__TENANT__0__CLIENT_SECRET_FILE: tenant[0] (\"contoso\"): set either client_secret or client_secret_file, not both"
        )),
        "{err}"
    );
    // Nested report keys and comma-separated lists are applied.
    let s = load(
        &path,
        &[
            ("ENTRA_AUTHMETHODS__TENANT__0__REPORTS__USER_EVENTS_SUMMARY__LOOKBACK", "7d"),
            ("ENTRA_AUTHMETHODS__TENANT__0__USER_ROLES", "all, admin"),
        ],
    )
    .unwrap();
    let t = &s.tenants[0];
    let summary = config_report(t, "user_events_summary");
    assert_eq!(summary.lookback, std::time::Duration::from_secs(7 * 24 * 3600));
    assert_eq!(t.breakdowns.len(), 6, "3 user types x 2 roles");
}

fn config_report<'a>(t: &'a config::TenantSettings, name: &str) -> &'a config::ReportSettings {
    let kind = entra_authmethods_exporter::reports::ReportKind::from_name(name).unwrap();
    &t.reports[&kind]
}

#[test]
fn environment_tenant_indexes_follow_the_file() {
    let path = fixtures("good-minimal").remove(0);
    let var = "ENTRA_AUTHMETHODS__TENANT__3__CLIENT_SECRET_FILE";
    let err = load(&path, &[(var, "/run/secrets/x")]).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "environment variable {var}: there is no tenant 3 (the file defines only tenant 0); tenant indexes in the environment must follow the file's [[tenant]] tables"
        )),
        "{err}"
    );
    assert!(!err.contains("RawTenant") && !err.contains("unit value") && !err.contains("tenant[1]"), "{err}");

    // The tenant right after the file's is added by the environment.
    let second = [
        ("ENTRA_AUTHMETHODS__TENANT__1__NAME", "fabrikam"),
        ("ENTRA_AUTHMETHODS__TENANT__1__TENANT_ID", "11111111-2222-3333-4444-555555555555"),
        ("ENTRA_AUTHMETHODS__TENANT__1__CLIENT_ID", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
        ("ENTRA_AUTHMETHODS__TENANT__1__CLIENT_SECRET", "y"),
    ];
    let s = load(&path, &second).unwrap();
    assert_eq!(s.tenants.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["contoso", "fabrikam"]);
    // Without a file the environment's tenants start at 0.
    let env: HashMap<String, String> = second.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let err = config::load(Sources { file: None, env: Some(env) }).unwrap_err().to_string();
    assert!(err.contains("there is no tenant 1: without a config file"), "{err}");
    let env: HashMap<String, String> =
        second.iter().map(|(k, v)| (k.replace("__1__", "__0__"), v.to_string())).collect();
    let s = config::load(Sources { file: None, env: Some(env) }).unwrap();
    assert_eq!(s.tenants[0].name, "fabrikam");
}

/// Integers and unit-less strings are rejected for every duration key, with the humantime hint.
#[test]
fn every_duration_key_explains_the_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let tenant = "[[tenant]]\nname = \"contoso\"\ntenant_id = \"11111111-2222-3333-4444-555555555555\"\nclient_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\nclient_secret = \"x\"\n";
    let graph = [
        "connect_timeout",
        "request_timeout",
        "poll_timeout",
        "retry_backoff_base",
        "retry_backoff_max",
        "rate_limit_period",
    ];
    let mut cases: Vec<(String, String, String)> = graph
        .iter()
        .map(|k| (format!("[graph]\n{k} = 30\n{tenant}"), format!("graph.{k} = 30 is a number"), format!("GRAPH__{k}")))
        .collect();
    cases.push((
        format!("{tenant}poll_interval = 30\n"),
        "tenant[0] (\"contoso\"): poll_interval = 30 is a number".into(),
        "TENANT__0__POLL_INTERVAL".into(),
    ));
    for k in ["interval", "lookback", "max_staleness"] {
        cases.push((
            format!("{tenant}[tenant.reports.user_events_summary]\n{k} = 30\n"),
            format!("tenant[0] (\"contoso\"): reports.user_events_summary.{k} = 30 is a number"),
            format!("TENANT__0__REPORTS__USER_EVENTS_SUMMARY__{k}"),
        ));
    }
    for (toml, expected, var) in cases {
        std::fs::write(&path, &toml).unwrap();
        let err = load(&path, &[]).unwrap_err().to_string();
        assert!(err.contains(&expected) && err.contains("(humantime syntax)"), "{expected}: {err}");
        let var = format!("ENTRA_AUTHMETHODS__{}", var.to_ascii_uppercase());
        std::fs::write(&path, tenant).unwrap();
        let err = load(&path, &[(&var, "30")]).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("environment variable {var}: ")) && err.contains("= \"30\" is not a duration"),
            "{err}"
        );
        assert!(err.contains("(humantime syntax)"), "{err}");
    }
}

#[test]
fn breakdowns_without_all_are_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let text = std::fs::read_to_string(fixtures("good-minimal").remove(0)).unwrap();
    std::fs::write(&path, format!("{text}user_types = [\"member\"]\nuser_roles = [\"admin\", \"user\"]\n")).unwrap();
    let s = load(&path, &[]).unwrap();
    let keys: Vec<(&str, &str)> = s.warnings.iter().map(|w| (w.tenant.as_str(), w.key)).collect();
    assert_eq!(keys, [("contoso", "user_types"), ("contoso", "user_roles")]);
    assert!(s.warnings[0].message.starts_with("tenant[0] (\"contoso\"): user_types does not list \"all\""));

    let exe = env!("CARGO_BIN_EXE_entra-authmethods-exporter");
    let out = Command::new(exe).arg("--check-config").arg("--config").arg(&path).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration is valid: 1 tenant(s)"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert!(warnings[0].contains("tenant[0] (\"contoso\"): user_types") && warnings[0].contains("user_type=\"all\""));
    assert!(warnings[1].contains("tenant[0] (\"contoso\"): user_roles") && warnings[1].contains("user_role=\"all\""));
    // The default lists include "all": no warning.
    assert!(load(&fixtures("good-minimal").remove(0), &[]).unwrap().warnings.is_empty());
}

#[test]
fn check_config_reports_success_only_when_the_web_config_is_valid_too() {
    let exe = env!("CARGO_BIN_EXE_entra-authmethods-exporter");
    let good = fixtures("good-minimal").remove(0);
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/web");
    let out = Command::new(exe)
        .arg("--check-config")
        .arg("--config")
        .arg(&good)
        .arg("--web.config.file")
        .arg(web.join("not_a_bcrypt_hash.yml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "nothing on stdout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("basic_auth_users.alice"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let valid = dir.path().join("web.yml");
    std::fs::write(&valid, "http_server_config:\n  headers:\n    X-Frame-Options: deny\n").unwrap();
    let out = Command::new(exe)
        .arg("--check-config")
        .arg("--config")
        .arg(&good)
        .arg("--web.config.file")
        .arg(&valid)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("configuration is valid: 1 tenant(s)") && stdout.contains("is valid: TLS off"), "{stdout}");
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

    // Secrets from the environment, in every kind of environment error.
    let base = "[[tenant]]\nname = \"c\"\ntenant_id = \"11111111-2222-3333-4444-555555555555\"\nclient_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\n";
    let cases: &[(String, &[(&str, &str)])] = &[
        (
            base.to_string() + "client_secret_file = \"/nonexistent/s\"\n",
            &[("ENTRA_AUTHMETHODS__TENANT__0__CLIENT_SECRET", "TopSecretValue")],
        ),
        (
            base.to_string() + "client_secret = \"x\"\n",
            &[("ENTRA_AUTHMETHODS__TENANT__3__CLIENT_SECRET", "TopSecretValue")],
        ),
        (
            base.to_string() + "client_secret = \"x\"\n",
            &[("ENTRA_AUTHMETHODS__TENANT__0__CLIENT_SECRT", "TopSecretValue")],
        ),
        (
            base.to_string() + "client_secret = \"x\"\n",
            &[("ENTRA_AUTHMETHODS__TENANT__0__CLIENT_SECRET__X", "TopSecretValue")],
        ),
        (
            base.to_string() + "client_secret = \"x\"\n",
            &[("ENTRA_AUTHMETHODS__TENANT__0__MANAGED_IDENTITY_HEADER", "TopSecretValue")],
        ),
        (
            base.to_string() + "client_secret = \"x\"\n",
            &[
                ("ENTRA_AUTHMETHODS__TENANT__0__CLIENT_SECRET", "TopSecretValue"),
                ("ENTRA_AUTHMETHODS__TENANT__0__TENANT_ID", "bad id"),
            ],
        ),
        (base.to_string() + "client_secret = [\"TopSecretValue\"]\n", &[]),
    ];
    for (toml, env) in cases {
        std::fs::write(&path, toml).unwrap();
        let err = load(&path, env).unwrap_err().to_string();
        assert!(!err.contains("TopSecretValue"), "{err}");
    }
}

/// The configuration keys the schema accepts: every field of the `Raw*` structs of src/config/raw.rs
/// (which deny unknown fields, so they are the whole schema), by their serde name, leaving out the
/// fields that are tables (`[graph]`, `[[tenant]]`, …) rather than keys. Read from the source so that
/// a new key without documentation fails here.
fn schema_keys(raw_rs: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut rename: Option<String> = None;
    for line in raw_rs.lines().map(str::trim) {
        if let Some(r) = line.split("rename = \"").nth(1) {
            rename = r.split('"').next().map(str::to_owned);
        }
        let field = line.strip_prefix("pub(crate) ").or_else(|| line.strip_prefix("pub "));
        let Some(field) = field.filter(|f| !f.starts_with("struct") && f.contains(':')) else {
            continue;
        };
        let (name, ty) = field.split_once(':').unwrap();
        let table = ["Raw", "Vec<Raw", "std::collections::BTreeMap<String, Raw", "BTreeMap<String, Raw"]
            .iter()
            .any(|p| ty.trim().starts_with(p));
        let key = rename.take().unwrap_or_else(|| name.trim().to_owned());
        if !table && !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// A huge configuration or web configuration file (a sparse 512 MiB file here) is refused in one line
/// naming it, from its size, before anything is read: a reload must not take a container's memory.
#[test]
fn huge_config_files_are_refused_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.toml");
    std::fs::File::create(&huge).unwrap().set_len(512 << 20).unwrap();
    let err = load(&huge, &[]).unwrap_err().to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("config file {}: 536870912 bytes, larger than the 64 MiB", huge.display())),
        "{err}"
    );
    let err = entra_authmethods_exporter::http::web::WebConfig::load(&huge).unwrap_err();
    assert_eq!(err, format!("web config {}: larger than the 64 MiB a web configuration file may have", huge.display()));
}

/// `--check-config` lists, after the valid summary, every report of every tenant with `poll` or
/// `skip` and why, in catalog order, so that an operator sees before starting what will be polled.
#[test]
fn check_config_lists_the_reports_each_tenant_polls_or_skips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let tenant = |name: &str, extra: &str| {
        format!(
            "[[tenant]]\nname = \"{name}\"\ntenant_id = \"00000000-0000-0000-0000-00000000000{}\"\nclient_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\nclient_secret = \"s\"\n{extra}",
            name.len()
        )
    };
    let toml = tenant("contoso", "[tenant.reports.password_resets_and_changes]\nenabled = false\n")
        + &tenant("gov", "cloud = \"usgov\"\n");
    std::fs::write(&path, toml).unwrap();
    let exe = env!("CARGO_BIN_EXE_entra-authmethods-exporter");
    let out = Command::new(exe).arg("--check-config").arg("--config").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let legacy = "every 6h, application credential, needs Reports.Read.All (optional: without it the report is exported as unavailable)";
    let login = "it needs a signed-in user's token: set refresh_token_file and run `entra-authmethods-exporter login`";
    let expected = format!(
        "configuration is valid: 2 tenant(s)
tenant contoso (cloud global):
  poll registration_details: every 30m, application credential, needs AuditLog.Read.All
  skip registration_summary: off by default (enable with [tenant.reports.registration_summary] enabled = true)
  poll credential_user_registration_count: {legacy}
  poll credential_usage_summary: {legacy}
  poll credential_user_registration_details: {legacy}
  poll user_credential_usage_details: {legacy}
  skip registration_activity: {login}
  skip sign_ins_by_method: {login}
  poll user_events_summary: every 1h, application credential, needs AuditLog.Read.All
  poll mfa_sign_in_summary: every 6h, application credential, needs AuditLog.Read.All
  skip password_resets_and_changes: disabled in the configuration (enable with [tenant.reports.password_resets_and_changes] enabled = true)
tenant gov (cloud usgov):
  poll registration_details: every 30m, application credential, needs AuditLog.Read.All
  skip registration_summary: off by default (enable with [tenant.reports.registration_summary] enabled = true)
  skip credential_user_registration_count: not offered in the usgov cloud
  skip credential_usage_summary: not offered in the usgov cloud
  skip credential_user_registration_details: not offered in the usgov cloud
  skip user_credential_usage_details: not offered in the usgov cloud
  skip registration_activity: {login}
  skip sign_ins_by_method: {login}
  poll user_events_summary: every 1h, application credential, needs AuditLog.Read.All
  poll mfa_sign_in_summary: every 6h, application credential, needs AuditLog.Read.All
  poll password_resets_and_changes: every 6h, application credential, needs AuditLog.Read.All
"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
}
