//! The refresh-token file written by `login` and rotated by the daemon: read trimmed, written
//! atomically (temporary file, fsync, rename) with mode 0600, so a crash never leaves a half-written
//! token and no other user can read it.

use std::io::Write;
use std::path::Path;

use crate::config::Secret;
use crate::file_read;

fn label(path: &Path) -> String {
    format!("refresh_token_file {}", path.display())
}

/// The raw bytes of the file (to recognise a token Entra refused), `None` when it cannot be read.
pub(crate) async fn read_bytes(path: &Path) -> Option<Vec<u8>> {
    file_read::read(path, label(path), file_read::CREDENTIAL_LIMIT).await.ok()
}

/// Reads the token off the async runtime ([`crate::file_read`]); the error names the file, never
/// its content.
pub async fn read(path: &Path) -> Result<Secret, String> {
    let text =
        file_read::read_string(path, label(path), file_read::CREDENTIAL_LIMIT).await.map_err(|e| e.to_string())?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("refresh_token_file {} is empty", path.display()));
    }
    Ok(Secret::new(token))
}

pub fn write(path: &Path, token: &Secret) -> Result<(), String> {
    crate::atomic_file::replace(path, |f| {
        f.write_all(token.expose().as_bytes())?;
        f.write_all(b"\n")
    })
    .map_err(|e| format!("cannot write refresh_token_file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;
    use crate::atomic_file::create_temp;

    #[tokio::test]
    async fn written_atomically_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contoso.refresh");
        write(&path, &Secret::new("first")).unwrap();
        write(&path, &Secret::new("second")).unwrap();
        assert_eq!(read(&path).await.unwrap().expose(), "second");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
        assert!(read(&dir.path().join("missing")).await.unwrap_err().contains("cannot read"));
    }

    /// Symlinks planted where the temporary file goes (the old name was predictable from the PID)
    /// are never followed: the file they point to is left alone.
    #[cfg(unix)]
    #[tokio::test]
    async fn planted_symlinks_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let path = dir.path().join("contoso.refresh");
        let old_name = dir.path().join(format!(".contoso.refresh.tmp{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &old_name).unwrap();
        write(&path, &Secret::new("token")).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(read(&path).await.unwrap().expose(), "token");

        // A symlink at the first random name is skipped for the next one.
        let taken = dir.path().join(format!(".contoso.refresh.tmp.{:016x}", 1));
        std::os::unix::fs::symlink(&victim, &taken).unwrap();
        let mut suffixes = [1u64, 2].into_iter();
        let (tmp, mut file) =
            create_temp(dir.path(), OsStr::new("contoso.refresh"), || suffixes.next().unwrap()).unwrap();
        assert_eq!(tmp, dir.path().join(format!(".contoso.refresh.tmp.{:016x}", 2)));
        file.write_all(b"x").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let err = create_temp(dir.path(), OsStr::new("contoso.refresh"), || 1).unwrap_err();
        assert!(err.to_string().contains("were all taken"), "{err}");
    }
}
