use std::collections::HashMap;

use super::raw::RawConfig;
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
    assert_eq!(s.graph.max_method_values, 64);
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
    match &s.tenants[0].app_credential {
        Some(AppCredential::Secret(SecretSource::Inline(secret))) => assert_eq!(secret.expose(), "from-env"),
        other => panic!("unexpected {other:?}"),
    }
}

/// A tenant table without credential keys, plus `extra` lines.
fn bare(extra: &str) -> String {
    format!("[[tenant]]\nname = \"contoso\"\ntenant_id = \"{GUID_T}\"\n{extra}")
}

const WEBHOOK: [(&str, &str); 3] = [
    ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token"),
    ("AZURE_CLIENT_ID", GUID_C),
    ("AZURE_TENANT_ID", GUID_T),
];
const APP_SERVICE: [(&str, &str); 2] =
    [("IDENTITY_ENDPOINT", "http://127.0.0.1:41741/MSI/token/"), ("IDENTITY_HEADER", "app-service-header-value")];

/// Which application credential the first tenant got.
fn chosen(s: &Settings) -> &'static str {
    s.tenants[0].app_credential.as_ref().map_or("none", AppCredential::kind)
}

fn managed_identity(t: &TenantSettings) -> Option<&ManagedIdentitySettings> {
    match &t.app_credential {
        Some(AppCredential::ManagedIdentity(mi)) => Some(mi),
        _ => None,
    }
}

#[test]
fn auto_prefers_the_configured_secret_then_workload_identity_then_managed_identity() {
    let auto_secret = bare(&format!("client_id = \"{GUID_C}\"\nclient_secret = \"s\"\ncredential = \"auto\"\n"));
    let everything: Vec<(&str, &str)> = WEBHOOK.iter().chain(APP_SERVICE.iter()).copied().collect();
    assert_eq!(chosen(&load_str(&auto_secret, &everything).unwrap()), "secret");

    let auto = bare("credential = \"auto\"\n");
    let s = load_str(&auto, &everything).unwrap();
    assert_eq!(chosen(&s), "workload_identity");
    assert_eq!(s.tenants[0].client_id, GUID_C, "filled from AZURE_CLIENT_ID as without auto");

    let s = load_str(&auto, &APP_SERVICE).unwrap();
    assert_eq!(chosen(&s), "managed_identity");
    let mi = managed_identity(&s.tenants[0]).unwrap();
    assert_eq!((mi.protocol(), mi.endpoint.as_str()), ("App Service", "http://127.0.0.1:41741/MSI/token/"));
    assert_eq!(mi.app_service_header.as_ref().unwrap().expose(), "app-service-header-value");
    assert!(!format!("{s:?}").contains("app-service-header-value"), "the header is a secret");

    let s = load_str(&auto, &[]).unwrap();
    let mi = managed_identity(&s.tenants[0]).unwrap();
    assert_eq!((mi.protocol(), mi.endpoint.as_str()), ("IMDS", IMDS_TOKEN_ENDPOINT));
    assert_eq!((mi.client_id.as_deref(), mi.resource.as_str()), (None, "https://graph.microsoft.com/"));
    assert_eq!(s.tenants[0].client_id, "", "system-assigned: no client id");
}

#[test]
fn explicit_kinds_never_fall_through() {
    let everything: Vec<(&str, &str)> = WEBHOOK.iter().chain(APP_SERVICE.iter()).copied().collect();
    let explicit = |kind: &str| bare(&format!("client_id = \"{GUID_C}\"\ncredential = \"{kind}\"\n"));
    for (kind, needs) in [("secret", "client_secret"), ("certificate", "client_certificate_file")] {
        let err = load_str(&explicit(kind), &everything).unwrap_err().to_string();
        assert!(err.contains(needs), "{kind}: {err}");
    }
    let err = load_str(&explicit("workload_identity"), &APP_SERVICE).unwrap_err().to_string();
    assert!(err.contains("AZURE_FEDERATED_TOKEN_FILE"), "{err}");
    // Managed identity stays managed identity with the webhook's variables present.
    let s = load_str(&explicit("managed_identity"), &WEBHOOK).unwrap();
    assert_eq!(chosen(&s), "managed_identity");
    assert_eq!(managed_identity(&s.tenants[0]).unwrap().client_id.as_deref(), Some(GUID_C), "user-assigned");
    let err = load_str(&(minimal() + "credential = \"managed_identity\"\n"), &[]).unwrap_err().to_string();
    assert!(err.contains("cannot be combined"), "{err}");
    let err = load_str(&explicit("magic"), &[]).unwrap_err().to_string();
    assert!(err.contains("\"managed_identity\", \"auto\""), "{err}");
}

#[test]
fn managed_identity_keys_are_validated() {
    let mi = |extra: &str| bare(&format!("credential = \"managed_identity\"\n{extra}"));
    let s = load_str(
        &mi("managed_identity_endpoint = \"http://127.0.0.1:9/msi/token\"\nmanaged_identity_header = \"h\"\ncloud = \"usgov\"\n"),
        &[],
    )
    .unwrap();
    let got = managed_identity(&s.tenants[0]).unwrap();
    assert_eq!((got.protocol(), got.resource.as_str()), ("App Service", "https://graph.microsoft.us/"));
    // A configured endpoint without a header speaks IMDS, whatever the environment says.
    let s = load_str(
        &mi("managed_identity_endpoint = \"http://127.0.0.1:9/metadata/identity/oauth2/token\"\n"),
        &APP_SERVICE,
    )
    .unwrap();
    assert_eq!(managed_identity(&s.tenants[0]).unwrap().protocol(), "IMDS");

    let cases = [
        (mi("managed_identity_endpoint = \"http://10.1.2.3/token\"\n"), "managed_identity_endpoint"),
        (mi("managed_identity_header = \"h\"\n"), "IDENTITY_ENDPOINT"),
        (mi("managed_identity_header = \"\"\n"), "managed_identity_header is empty"),
        (mi("client_id = \"not-a-guid\"\n"), "user-assigned"),
        (mi("refresh_token_file = \"/tmp/x\"\n"), "delegated_client_id"),
        (
            minimal() + "managed_identity_endpoint = \"http://127.0.0.1:9/x\"\n",
            "needs credential = \"managed_identity\"",
        ),
    ];
    for (toml, expected) in cases {
        let err = load_str(&toml, &[]).unwrap_err().to_string();
        assert!(
            err.contains(expected) && err.contains("config.toml") && err.contains("tenant[0]"),
            "{expected}: {err}"
        );
    }
    let err = load_str(&mi(""), &[("IDENTITY_ENDPOINT", "http://10.0.0.1/msi"), ("IDENTITY_HEADER", "h")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("IDENTITY_ENDPOINT (environment)"), "{err}");
}

/// The field names serde lists when `toml` has an unknown key, i.e. those of the struct holding it.
fn serde_fields(toml: &str) -> Vec<String> {
    let err = config::Config::builder()
        .add_source(config::File::from_str(toml, config::FileFormat::Toml))
        .build()
        .and_then(|c| c.try_deserialize::<RawConfig>())
        .unwrap_err()
        .to_string();
    // "expected one of `a`, `b`, `c`", or "expected `a` or `b`".
    let list = err.split_once(", expected ").unwrap_or_else(|| panic!("{err}")).1;
    let list = list.split(" for key").next().unwrap();
    list.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

#[test]
fn the_schema_and_the_raw_structs_have_the_same_keys() {
    use schema::{GRAPH, Kind, REPORT, SHARDING, TENANT, TOP_LEVEL, TOP_LEVEL_NAMES};
    let keys = |table: &[(&str, Kind)]| table.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>();
    assert_eq!(serde_fields("bogus_key = 1"), TOP_LEVEL_NAMES);
    assert_eq!(serde_fields("[graph]\nbogus_key = 1"), keys(GRAPH));
    assert_eq!(serde_fields("[sharding]\nbogus_key = 1"), keys(SHARDING));
    assert_eq!(
        serde_fields("[[tenant]]\nbogus_key = 1"),
        [keys(TENANT), vec!["reports".into(), "group".into()]].concat()
    );
    assert_eq!(serde_fields("[[tenant]]\n[[tenant.group]]\nbogus_key = 1"), keys(schema::GROUP));
    assert_eq!(serde_fields("[[tenant]]\n[tenant.reports.user_events_summary]\nbogus_key = 1"), keys(REPORT));
    assert_eq!(keys(TOP_LEVEL), ["state_file"]);

    // Every key takes a value of the kind the schema says.
    let sample = |kind: Kind| match kind {
        Kind::Duration => "\"5m\"",
        Kind::Number => "3",
        Kind::Bool => "true",
        Kind::Text | Kind::Secret => "\"x\"",
        Kind::List => "[\"all\"]",
    };
    let lines =
        |table: &[(&str, Kind)]| table.iter().map(|(k, kind)| format!("{k} = {}\n", sample(*kind))).collect::<String>();
    let toml = format!(
        "{}[graph]\n{}[sharding]\n{}[[tenant]]\n{}[tenant.reports.user_events_summary]\n{}",
        lines(TOP_LEVEL),
        lines(GRAPH),
        lines(SHARDING),
        lines(TENANT),
        lines(REPORT)
    );
    let cfg =
        config::Config::builder().add_source(config::File::from_str(&toml, config::FileFormat::Toml)).build().unwrap();
    use config::Source;
    schema::check_file(&cfg.collect().unwrap()).unwrap();
    cfg.try_deserialize::<RawConfig>().unwrap_or_else(|e| panic!("{e}\n{toml}"));
}

#[test]
fn environment_variables_are_merged_with_their_kinds() {
    let toml = minimal().replace("client_secret = \"s3cret\"\n", "");
    let s = load_str(
        &toml,
        &[
            ("ENTRA_AUTHMETHODS__TENANT__0__CLIENT_SECRET", "from-env"),
            ("ENTRA_AUTHMETHODS__TENANT__0__USER_TYPES", "all,guest"),
            ("ENTRA_AUTHMETHODS__TENANT__0__REPORTS__CREDENTIAL_USAGE_SUMMARY__ENABLED", "FALSE"),
            ("ENTRA_AUTHMETHODS__TENANT__0__REPORTS__USER_EVENTS_SUMMARY__MAX_FAILURE_REASONS", "20"),
            ("ENTRA_AUTHMETHODS__SHARDING__COUNT", "2"),
            // Not ours: a single underscore after the prefix.
            ("ENTRA_AUTHMETHODS_REVISION", "abc"),
        ],
    )
    .unwrap();
    let t = &s.tenants[0];
    assert_eq!(t.breakdowns.len(), 6);
    assert!(!t.reports.contains_key(&ReportKind::CredentialUsageSummary));
    assert_eq!(t.reports[&ReportKind::UserEventsSummary].max_failure_reasons, 20);
    assert_eq!(s.sharding_count, Some(2));
    let err = load_str(&toml, &[("ENTRA_AUTHMETHODS__TENANT__0__REPORTS__USER_EVENTS_SUMMARY__ENABLED", "yes please")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("reports.user_events_summary.enabled = \"yes please\" is not true or false"), "{err}");
}

/// `[method_strength]` keeps the camelCase method names as written, gives every tenant the same
/// table, and cannot be set from the environment (whose variable names cannot spell them).
#[test]
fn method_strength_is_read_from_the_file_with_its_spelling() {
    let toml = format!(
        "[method_strength]\nsomeNewMethod = \"mfa\"\nmobilePhone = \"none\"\n{}{}",
        minimal(),
        minimal().replace("contoso", "fabrikam")
    );
    let s = load_str(&toml, &[]).unwrap();
    let expected: std::collections::BTreeMap<String, u8> =
        [("mobilePhone".to_string(), NO_TIER), ("someNewMethod".to_string(), 2)].into();
    for t in &s.tenants {
        assert_eq!(t.method_strength.overrides, expected, "{}", t.name);
    }
    assert!(load_str(&minimal(), &[]).unwrap().tenants[0].method_strength.overrides.is_empty());

    let var = "ENTRA_AUTHMETHODS__METHOD_STRENGTH__SOMENEWMETHOD";
    let err = load_str(&minimal(), &[(var, "mfa")]).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("environment variable {var}: method_strength is set in the configuration file only")),
        "{err}"
    );
}
