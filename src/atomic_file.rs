//! Files replaced atomically (the state file, the refresh token): a new temporary file beside the
//! target, written, synced and renamed over it. The temporary file is created exclusively under a
//! random name, so a file or symlink planted in a shared directory is never opened or followed.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use rand::Rng;

/// Attempts at a free temporary name before giving up.
const TEMP_ATTEMPTS: usize = 16;

/// A new file `.NAME.tmp.RANDOM` in `dir`, mode 0600, created exclusively: a file or symlink already
/// there (planted by whoever can write to the directory) is never opened or followed; another
/// random name is tried instead.
pub(crate) fn create_temp(
    dir: &Path,
    name: &OsStr,
    mut random: impl FnMut() -> u64,
) -> std::io::Result<(PathBuf, File)> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    for _ in 0..TEMP_ATTEMPTS {
        let tmp = dir.join(format!(".{}.tmp.{:016x}", name.to_string_lossy(), random()));
        match options.open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("{TEMP_ATTEMPTS} temporary file names were all taken"),
    ))
}

/// Replaces `path` with what `write` writes, atomically: a temporary file beside it (mode 0600) is
/// written and synced, renamed over `path`, and the directory is synced so that the rename survives a
/// crash. A reader sees the old file or the new one, never a part; on failure the temporary file is
/// removed and `path` is left as it was (unless only the directory's sync failed, after the rename).
pub(crate) fn replace(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name =
        path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let (tmp, mut file) = create_temp(dir, name, || rand::rng().random())?;
    let result = (|| {
        // The mode given at creation is narrowed by the umask only; set it outright all the same.
        #[cfg(unix)]
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        write(&mut file)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        // A directory can be opened and synced on Unix only.
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        replace(&path, |f| f.write_all(b"old")).unwrap();
        let err = replace(&path, |f| {
            f.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["state.json"], "the temporary file is removed");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let err = replace(Path::new("/"), |_| Ok(())).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
