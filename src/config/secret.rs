//! Secrets that must never reach a log line, an error message, a status page or a file we write.

use std::fmt;
use std::path::PathBuf;

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
    /// Reads the current value. The error names the file but never its content.
    pub(crate) fn read(&self) -> Result<Secret, String> {
        match self {
            SecretSource::Inline(secret) => Ok(secret.clone()),
            SecretSource::File(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read client_secret_file {}: {e}", path.display()))?;
                // Files written by editors and `kubectl create secret --from-file` often end in a newline.
                let value = text.trim_end_matches(['\n', '\r']);
                if value.is_empty() {
                    return Err(format!("client_secret_file {} is empty", path.display()));
                }
                Ok(Secret::new(value))
            }
        }
    }
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
        assert_eq!(src.read().unwrap().expose(), "first");
        std::fs::write(&path, "second").unwrap();
        assert_eq!(src.read().unwrap().expose(), "second");
        std::fs::write(&path, "\n").unwrap();
        assert!(src.read().unwrap_err().contains("is empty"));
    }
}
