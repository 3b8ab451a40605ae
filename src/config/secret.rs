//! Secrets that must never reach a log line, an error message, a status page or a file we write.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::file_read;

/// A secret value. `Debug` and `Display` print a fixed placeholder, so a secret that slips into a
/// `{:?}` of a config struct or an error chain is still not disclosed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The only way to read the value; grep for `expose` to audit every use.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a client secret comes from. A file is re-read at every token request so that a rotated
/// Kubernetes secret or Vault agent file takes effect without a restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    Inline(Secret),
    File(PathBuf),
}

impl SecretSource {
    /// Reads the current value off the async runtime (a token request). The error names the file
    /// but never its content.
    pub(crate) async fn read(&self) -> Result<Secret, String> {
        match self {
            SecretSource::Inline(secret) => Ok(secret.clone()),
            SecretSource::File(path) => {
                let text = file_read::read_string(path, label(path), file_read::CREDENTIAL_LIMIT).await;
                value(path, text.map_err(|e| e.to_string())?)
            }
        }
    }

    /// [`SecretSource::read`] for sync code (the preflight checks), blocking for at most
    /// [`file_read::DEADLINE`].
    pub(crate) fn read_blocking(&self) -> Result<Secret, String> {
        match self {
            SecretSource::Inline(secret) => Ok(secret.clone()),
            SecretSource::File(path) => {
                let text = file_read::read_string_blocking(path, label(path), file_read::CREDENTIAL_LIMIT);
                value(path, text.map_err(|e| e.to_string())?)
            }
        }
    }
}

fn label(path: &Path) -> String {
    format!("client_secret_file {}", path.display())
}

fn value(path: &Path, text: String) -> Result<Secret, String> {
    // Files written by editors and `kubectl create secret --from-file` often end in a newline.
    let value = text.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        return Err(format!("client_secret_file {} is empty", path.display()));
    }
    Ok(Secret::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{s}"), "<redacted>");
        let src = SecretSource::Inline(s);
        assert!(!format!("{src:?}").contains("hunter2"));
    }

    #[test]
    fn file_secret_is_trimmed_and_reread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "first\n").unwrap();
        let src = SecretSource::File(path.clone());
        assert_eq!(src.read_blocking().unwrap().expose(), "first");
        std::fs::write(&path, "second").unwrap();
        assert_eq!(src.read_blocking().unwrap().expose(), "second");
        std::fs::write(&path, "\n").unwrap();
        assert!(src.read_blocking().unwrap_err().contains("is empty"));
    }
}
