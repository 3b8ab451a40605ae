//! Files replaced atomically (the state file, the refresh token): a new temporary file beside the
//! target, written, synced and renamed over it. The temporary file is created exclusively under a
//! random name, so a file or symlink planted in a shared directory is never opened or followed.

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Attempts at a free temporary name before giving up.
const TEMP_ATTEMPTS: usize = 16;

/// A new file `.NAME.tmp.RANDOM` in `dir`, mode 0600, created exclusively: a file or symlink already
/// there (planted by whoever can write to the directory) is never opened or followed; another
/// random name is tried instead.
pub fn create_temp(dir: &Path, name: &OsStr, mut random: impl FnMut() -> u64) -> std::io::Result<(PathBuf, File)> {
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
