use std::collections::HashMap;

use super::*;

const GUID_T: &str = "11111111-2222-3333-4444-555555555555";
const GUID_C: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

fn minimal() -> String {
    format!(
        r#"
[[tenant]]
name = "contoso"
tenant_id = "{GUID_T}"
client_id = "{GUID_C}"
client_secret = "s3cret"
"#
    )
}

fn load_str(toml: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, toml).unwrap();
    let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    load(Sources { file: Some(&path), env: Some(env) })
}

#[test]
fn defaults_fill_everything_not_given() {
    let s = load_str(&minimal(), &[]).unwrap();
    assert_eq!(s.graph.page_size, 1000);
    assert_eq!(s.graph.rate_limit_requests, 5);
    assert_eq!(s.graph.rate_limit_period, Duration::from_secs(10));
    let t = &s.tenants[0];
    assert_eq!(t.poll_interval, DEFAULT_POLL_INTERVAL);
    assert_eq!(t.cloud, Cloud::Global);
    assert_eq!(t.graph_endpoint.as_str(), "https://graph.microsoft.com/");
    assert_eq!(t.login_endpoint.as_str(), "https://login.microsoftonline.com/");
    assert_eq!(t.scope(), "https://graph.microsoft.com/.default");
    assert_eq!(t.breakdowns.len(), 9);
}

#[test]
fn environment_overrides_the_file() {
    let s = load_str(
        &minimal(),
        &[("ENTRA_AUTHMETHODS__GRAPH__PAGE_SIZE", "250"), ("ENTRA_AUTHMETHODS__GRAPH__POLL_TIMEOUT", "5m")],
    )
    .unwrap();
    assert_eq!(s.graph.page_size, 250);
    assert_eq!(s.graph.poll_timeout, Duration::from_secs(300));
}

#[test]
fn unknown_environment_key_is_an_error() {
    let err = load_str(&minimal(), &[("ENTRA_AUTHMETHODS__GRAPH__PAGESIZE", "250")]).unwrap_err();
    assert!(err.to_string().contains("pagesize"), "{err}");
}

#[test]
fn breakdown_lists_are_crossed() {
    let toml = minimal() + "user_types = [\"all\", \"guest\"]\nuser_roles = [\"admin\"]\n";
    let s = load_str(&toml, &[]).unwrap();
    let got: Vec<(&str, &str)> =
        s.tenants[0].breakdowns.iter().map(|b| (b.user_type.as_str(), b.user_role.as_str())).collect();
    assert_eq!(got, vec![("all", "admin"), ("guest", "admin")]);
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let s = load_str(&minimal(), &[]).unwrap();
    let dump = format!("{s:?}");
    assert!(!dump.contains("s3cret"), "{dump}");
}

#[test]
fn environment_can_set_a_tenant_secret_by_index() {
    let toml = minimal().replace("client_secret = \"s3cret\"\n", "");
    let s = load_str(&toml, &[("ENTRA_AUTHMETHODS__TENANT__0__CLIENT_SECRET", "from-env")]).unwrap();
    match &s.tenants[0].client_secret {
        Some(SecretSource::Inline(secret)) => assert_eq!(secret.expose(), "from-env"),
        other => panic!("unexpected {other:?}"),
    }
}
