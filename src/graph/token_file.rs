//! The refresh-token file written by `login` and rotated by the daemon: read trimmed, written
//! atomically (temporary file, fsync, rename) with mode 0600, so a crash never leaves a half-written
//! token and no other user can read it.

use std::io::Write;
use std::path::Path;

use crate::config::Secret;

pub fn read(path: &Path) -> Result<Secret, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read refresh_token_file {}: {e}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("refresh_token_file {} is empty", path.display()));
    }
    Ok(Secret::new(token))
}

pub fn write(path: &Path, token: &Secret) -> Result<(), String> {
    let fail = |what: &str, e: std::io::Error| format!("cannot {what} refresh_token_file {}: {e}", path.display());
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name =
        path.file_name().ok_or_else(|| format!("refresh_token_file {} has no file name", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp{}", file_name.to_string_lossy(), std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(token.expose().as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename is durable only once the directory entry is.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| fail("write", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_atomically_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contoso.refresh");
        write(&path, &Secret::new("first")).unwrap();
        write(&path, &Secret::new("second")).unwrap();
        assert_eq!(read(&path).unwrap().expose(), "second");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
        assert!(read(&dir.path().join("missing")).unwrap_err().contains("cannot read"));
    }
}
