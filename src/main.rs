//! The binary: everything lives in the library so that tests run the same code.

fn main() -> std::process::ExitCode {
    fix_mmap_threshold();
    entra_authmethods_exporter::cli::main()
}

/// glibc raises its mmap threshold after a large block is freed, up to 32 MiB, so the exposition
/// buffers of every later render (5 MB at 100 tenants) come from the heap and stay in the RSS as
/// free fragments after the render: idle RSS with 100 tenants was 41 MiB with the moving threshold and
/// 20 MiB with it fixed at glibc's default 128 KiB (BENCHMARKS.md). Fixing it returns large buffers to
/// the system when they are freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_mmap_threshold() {
    const M_MMAP_THRESHOLD: i32 = -3;
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    // SAFETY: mallopt only changes glibc's allocation policy, and runs before any other thread exists.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_mmap_threshold() {}
