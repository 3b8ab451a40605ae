//! Loading: the file and the environment layered over compiled defaults, checked against the schema,
//! validated (validate.rs), and every error prefixed with where its values came from.

use std::collections::HashMap;

use super::credential::AzureEnv;
use super::env;
use super::raw::RawConfig;
use super::validate::validate;
use super::{ConfigError, ENV_PREFIX, Settings, Sources, TenantOrigin, schema};

/// Loads and validates the configuration.
pub fn load(sources: Sources<'_>) -> Result<Settings, ConfigError> {
    let env = match sources.env {
        Some(env) => env,
        None => process_env()?,
    };
    let file = match sources.file {
        Some(path) => {
            let name = format!("config file {}", path.display());
            // Read with crate::file_read: a FIFO, a device or a directory is refused, a huge file (a
            // sparse file, a log pointed at by mistake) is refused from its size before it is read,
            // and a hung mount fails after the read deadline. Async callers run this on the
            // blocking pool.
            let text = crate::file_read::read_string_blocking(path, name.clone(), super::MAX_CONFIG_FILE_SIZE)
                .map_err(|e| {
                    ConfigError(match e.problem {
                        crate::file_read::Problem::TooLarge { len: Some(len), .. } => format!(
                            "{name}: {len} bytes, larger than the {} MiB a configuration file may have",
                            super::MAX_CONFIG_FILE_SIZE >> 20
                        ),
                        _ => e.to_string(),
                    })
                })?;
            let source = config::File::from_str(&text, config::FileFormat::Toml);
            Some(FileLayer::new(config::Config::builder().add_source(source), name)?)
        }
        None => None,
    };
    load_layers(file, &env)
}

/// The process environment. Unlike `std::env::vars`, it does not panic on a variable that is not
/// UTF-8: such a variable of ours is an error, any other is not our business.
fn process_env() -> Result<HashMap<String, String>, ConfigError> {
    let prefix = format!("{ENV_PREFIX}__");
    let mut env = HashMap::new();
    for (name, value) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        match value.into_string() {
            Ok(value) => {
                env.insert(name, value);
            }
            Err(_) if name.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(&prefix)) => {
                return Err(ConfigError(format!("environment variable {name}: the value is not valid UTF-8")));
            }
            Err(_) => {}
        }
    }
    Ok(env)
}

/// Parses a TOML string; used by `--check-config` tests and the demo, which builds its config in memory.
pub fn from_toml_str(text: &str) -> Result<Settings, ConfigError> {
    let source = config::File::from_str(text, config::FileFormat::Toml);
    let file = FileLayer::new(config::Config::builder().add_source(source), "configuration".into())?;
    load_layers(Some(file), &HashMap::new())
}

/// The file, parsed and checked against the schema, before the environment is merged over it.
struct FileLayer {
    config: config::Config,
    /// The names of its `[[tenant]]` tables, by index.
    tenants: Vec<Option<String>>,
    /// `config file PATH`, the start of its error messages.
    name: String,
}

impl FileLayer {
    fn new(builder: config::ConfigBuilder<config::builder::DefaultState>, name: String) -> Result<Self, ConfigError> {
        use config::Source;
        let fail = |e: String| ConfigError(format!("{name}: {e}"));
        let config = builder.build().map_err(|e| fail(describe_config_error(e)))?;
        let root = config.collect().map_err(|e| fail(describe_config_error(e)))?;
        let tenants = schema::check_file(&root).map_err(fail)?;
        Ok(FileLayer { config, tenants, name })
    }

    fn has(&self, key: &str) -> bool {
        self.config.get::<config::Value>(key).is_ok()
    }
}

fn load_layers(file: Option<FileLayer>, env: &HashMap<String, String>) -> Result<Settings, ConfigError> {
    let azure = AzureEnv::from_map(env);
    let overrides = env::overrides(env, file.as_ref().map(|f| f.tenants.as_slice())).map_err(ConfigError)?;
    let mut builder = config::Config::builder();
    if let Some(f) = &file {
        builder = builder.add_source(f.config.clone());
    }
    for o in &overrides {
        builder = builder
            .set_override(&o.path, config::Value::new(Some(&o.var), o.value.clone()))
            .map_err(|e| ConfigError(format!("environment variable {}: {}", o.var, describe_config_error(e))))?;
    }
    let whole = file.as_ref().map_or("configuration", |f| f.name.as_str());
    // The schema checks above leave nothing for the deserializer to reject; this is a safety net.
    let raw: RawConfig = builder
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| ConfigError(format!("{whole}: {}", describe_config_error(e))))?;
    let mut settings = validate(raw, &azure)
        .map_err(|e| ConfigError(format!("{}: {}", blame(&e.keys, file.as_ref(), &overrides), e.message)))?;
    let source = |keys: &[&str], index: usize| {
        let keys: Vec<String> = keys.iter().map(|k| format!("tenant[{index}].{k}")).collect();
        blame(&keys, file.as_ref(), &overrides)
    };
    settings.origins = (settings.tenants.iter().enumerate())
        .map(|(index, t)| TenantOrigin {
            tenant: t.name.clone(),
            label: schema::tenant_label(index, Some(&t.name)),
            certificate_source: source(&["client_certificate_file", "client_certificate_key_file"], index),
            secret_file_source: source(&["client_secret_file"], index),
        })
        .collect();
    Ok(settings)
}

/// Where the values behind a validation error come from: `config file PATH`,
/// `environment variable NAME`, or both.
fn blame(keys: &[String], file: Option<&FileLayer>, overrides: &[env::EnvOverride]) -> String {
    let file_tenants = file.map_or(0, |f| f.tenants.len());
    // A tenant that only the environment defines: every variable of it is involved.
    let env_only_tenant = |key: &str| {
        let index: usize = key.strip_prefix("tenant[")?.split_once(']')?.0.parse().ok()?;
        (index >= file_tenants).then(|| format!("tenant[{index}]."))
    };
    let mut vars: Vec<&str> = overrides.iter().filter(|o| keys.contains(&o.path)).map(|o| o.var.as_str()).collect();
    if vars.is_empty() {
        vars = overrides
            .iter()
            .filter(|o| keys.iter().any(|k| env_only_tenant(k).is_some_and(|prefix| o.path.starts_with(&prefix))))
            .map(|o| o.var.as_str())
            .collect();
    }
    let from_file = file.filter(|f| keys.iter().any(|k| !overrides.iter().any(|o| o.path == *k) && f.has(k)));
    let file_name = file.map_or("configuration", |f| f.name.as_str());
    let env_part = match vars.as_slice() {
        [] => return file_name.to_string(),
        [one] => format!("environment variable {one}"),
        [init @ .., last] => format!("environment variables {} and {last}", init.join(", ")),
    };
    match from_file {
        Some(f) => format!("{} and {env_part}", f.name),
        None => env_part,
    }
}

fn describe_config_error(e: config::ConfigError) -> String {
    // TOML syntax errors come as several lines with a source excerpt; keep one line for logs.
    let text = e.to_string();
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('|')
                && !l.split_once(" |").is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
        })
        .collect();
    parts.join(": ")
}

/// A validation failure: its message, and the keys whose values it is about (`graph.page_size`,
/// `tenant[0].poll_interval`, or `tenant[0]` for a tenant as a whole), to name where they came from.
#[derive(Debug)]
pub(super) struct Invalid {
    pub(super) message: String,
    pub(super) keys: Vec<String>,
}

impl Invalid {
    pub(super) fn new(keys: &[&str], message: impl Into<String>) -> Self {
        Invalid { message: message.into(), keys: keys.iter().map(|k| k.to_string()).collect() }
    }
}
