//! The checks of a loaded configuration that read credential material: the client certificate and
//! its key are parsed and their validity dates compared with the clock, and a client secret file
//! must be readable and not empty. `config` itself does no such I/O, so that it depends on no other
//! layer; the daemon, `--once`, `login`, reloads and `--check-config` run these checks right after
//! loading, before anything starts.

use crate::config::{AppCredential, ConfigError, ConfigWarning, SecretSource, Settings, Sources};
use crate::graph::{ClientCertificate, now_unix};

/// Loads the configuration and runs the preflight checks.
pub fn load(sources: Sources<'_>) -> Result<Settings, ConfigError> {
    let mut settings = crate::config::load(sources)?;
    check(&mut settings)?;
    Ok(settings)
}

/// [`crate::config::from_toml_str`], then the preflight checks.
pub fn from_toml_str(text: &str) -> Result<Settings, ConfigError> {
    let mut settings = crate::config::from_toml_str(text)?;
    check(&mut settings)?;
    Ok(settings)
}

/// Reads every tenant's certificate or secret file. A failure is an error worded as a validation
/// error of the same keys (their source, the tenant, the problem); a certificate outside its
/// validity dates is a warning, placed before that tenant's other warnings.
pub(crate) fn check(settings: &mut Settings) -> Result<(), ConfigError> {
    let mut earlier = std::mem::take(&mut settings.warnings);
    let mut warnings = Vec::with_capacity(earlier.len());
    for t in &settings.tenants {
        let Some(origin) = settings.origins.iter().find(|o| o.tenant == t.name) else { continue };
        match &t.app_credential {
            Some(AppCredential::Certificate(files)) => {
                let cert = ClientCertificate::load(&files.certificate_file, files.key_file.as_deref())
                    .map_err(|m| ConfigError(format!("{}: {}: {m}", origin.certificate_source, origin.label)))?;
                if let Some(problem) = cert.validity_problem(now_unix()) {
                    // Not fatal: the operator may be about to rotate it, and the metric shows it.
                    warnings.push(ConfigWarning {
                        tenant: t.name.clone(),
                        key: "client_certificate_file",
                        message: format!("{}: {problem}", origin.label),
                    });
                }
            }
            Some(AppCredential::Secret(source @ SecretSource::File(_))) => {
                source
                    .read_blocking()
                    .map_err(|m| ConfigError(format!("{}: {}: {m}", origin.secret_file_source, origin.label)))?;
            }
            _ => {}
        }
        let (own, rest): (Vec<_>, Vec<_>) = earlier.into_iter().partition(|w| w.tenant == t.name);
        warnings.extend(own);
        earlier = rest;
    }
    warnings.extend(earlier);
    settings.warnings = warnings;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn a_missing_secret_file_is_blamed_on_the_variable_that_named_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[[tenant]]\nname = \"contoso\"\ntenant_id = \"11111111-2222-3333-4444-555555555555\"\nclient_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\n",
        )
        .unwrap();
        let var = "ENTRA_AUTHMETHODS__TENANT__0__CLIENT_SECRET_FILE";
        let missing = dir.path().join("missing.secret");
        let env: HashMap<String, String> = [(var.to_string(), missing.display().to_string())].into();
        let loaded = crate::config::load(Sources { file: Some(&path), env: Some(env.clone()) });
        assert!(loaded.is_ok(), "config reads no credential file: {loaded:?}");
        let err = load(Sources { file: Some(&path), env: Some(env) }).unwrap_err().to_string();
        let start = format!(
            "environment variable {var}: tenant[0] (\"contoso\"): cannot read client_secret_file {}: ",
            missing.display()
        );
        assert!(err.starts_with(&start), "{err}");
    }

    #[test]
    fn a_certificate_warning_comes_first_among_its_tenant_s_warnings() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let key_pem = std::fs::read_to_string(root.join("tests/testdata/credentials/rsa-pkcs8.key")).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.not_before = rcgen::date_time_ymd(2019, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        let cert = params.self_signed(&rcgen::KeyPair::from_pem(&key_pem).unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("expired.pem");
        std::fs::write(&file, format!("{}{key_pem}", cert.pem())).unwrap();
        let tenant = |name: &str, extra: &str| {
            format!(
                "[[tenant]]\nname = \"{name}\"\ntenant_id = \"11111111-2222-3333-4444-555555555555\"\nclient_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"\n{extra}"
            )
        };
        let toml = tenant(
            "a",
            &format!("client_certificate_file = {:?}\nuser_types = [\"member\"]\n", file.display().to_string()),
        ) + &tenant("b", "client_secret = \"s\"\nuser_roles = [\"admin\"]\n");
        let settings = from_toml_str(&toml).unwrap();
        let keys: Vec<(&str, &str)> = settings.warnings.iter().map(|w| (w.tenant.as_str(), w.key)).collect();
        assert_eq!(keys, [("a", "client_certificate_file"), ("a", "user_types"), ("b", "user_roles")]);
        assert!(settings.warnings[0].message.starts_with("tenant[0] (\"a\"): "), "{}", settings.warnings[0]);
    }
}
