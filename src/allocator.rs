//! The allocator's settings (glibc on Linux; elsewhere nothing), measured in BENCHMARKS.md against
//! the RSS of a thousand tenants at rest.
//!
//! - The mmap threshold is fixed at glibc's default 128 KiB: glibc raises it after a large block is
//!   freed, up to 32 MiB, so later large buffers (page bodies, a render's text) would come from the
//!   heap and stay in the RSS as free fragments (100 tenants idle: 41 MiB with the moving threshold,
//!   20 MiB with it fixed).
//! - At most two arenas: glibc gives each thread that allocates concurrently an arena of its own (up
//!   to eight per core), each keeping its own free memory. The exporter's allocations are short
//!   renders and page decodes on a few runtime threads; two arenas cost nothing measurable in time
//!   and kept 15 MiB less at rest with 1,000 tenants (81.4 → 66.0 MiB, BENCHMARKS.md; jemalloc, tried
//!   the same way, kept 100.7 MiB).
//! - [`release_free_memory_soon`] after renders: the free memory inside the heaps, between blocks
//!   still in use, goes back to the system (`malloc_trim`, which glibc otherwise does only at the top
//!   of a heap), within a second, at most once a second, on a thread of its own so that neither a
//!   render nor a scrape waits for it.

/// Applies the settings above; call first thing in `main`, before any other thread exists.
pub fn configure() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const M_MMAP_THRESHOLD: i32 = -3;
        const M_ARENA_MAX: i32 = -8;
        unsafe extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // SAFETY: mallopt only changes glibc's allocation policy, and runs before any other thread
        // exists.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 128 * 1024);
            mallopt(M_ARENA_MAX, 2);
        }
    }
}

/// Asks for [`release_free_memory`] within [`TRIM_DELAY`]: requests in between are one trim. The
/// first request starts the thread that trims.
pub fn release_free_memory_soon() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Condvar, Mutex, OnceLock};
    static REQUESTED: AtomicBool = AtomicBool::new(false);
    static WAKE: OnceLock<(Mutex<()>, Condvar)> = OnceLock::new();
    if REQUESTED.swap(true, Ordering::AcqRel) {
        return;
    }
    let wake = WAKE.get_or_init(|| {
        let spawned = std::thread::Builder::new().name("release-memory".into()).spawn(|| {
            let (lock, cvar) = WAKE.wait();
            let mut guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                while !REQUESTED.load(Ordering::Acquire) {
                    guard = cvar.wait(guard).unwrap_or_else(|p| p.into_inner());
                }
                // Renders come in bursts (a round of polls): one trim after the burst's first second.
                let (g, _) = cvar.wait_timeout(guard, TRIM_DELAY).unwrap_or_else(|p| p.into_inner());
                guard = g;
                REQUESTED.store(false, Ordering::Release);
                release_free_memory();
            }
        });
        if spawned.is_err() {
            // No thread: trim here, now.
            release_free_memory();
        }
        (Mutex::new(()), Condvar::new())
    });
    let _guard = wake.0.lock().unwrap_or_else(|p| p.into_inner());
    wake.1.notify_one();
}

/// How long after a request [`release_free_memory_soon`] trims.
pub const TRIM_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

/// Gives the free memory of the allocator's heaps back to the system (glibc's `malloc_trim`): a few
/// milliseconds with a thousand tenants.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim takes glibc's arena locks itself and is safe to call from any thread.
        unsafe {
            malloc_trim(0);
        }
    }
}
