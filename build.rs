//! Records the source revision for `entra_authmethods_build_info{revision}`. Builds outside a git
//! checkout (a source tarball, a Docker context without .git) report "unknown" unless
//! ENTRA_AUTHMETHODS_REVISION is set by the builder.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=ENTRA_AUTHMETHODS_REVISION");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    if std::env::var("ENTRA_AUTHMETHODS_REVISION").is_ok() {
        return;
    }
    let revision = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit()));
    if let Some(rev) = revision {
        println!("cargo:rustc-env=ENTRA_AUTHMETHODS_REVISION={rev}");
    }
}
