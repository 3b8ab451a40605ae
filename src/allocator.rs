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
//!   and kept 15 MiB less at rest with 1,000 tenants (81.4 → 66.0 MiB, BENCHMARKS.md).
//! - [`release_free_memory`] after renders: the free memory inside the heaps, between blocks still in
//!   use, goes back to the system (`malloc_trim`), which glibc otherwise does only at the top of a heap.

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

/// Gives the free memory of the allocator's heaps back to the system (glibc's `malloc_trim`): a few
/// milliseconds with a thousand tenants, so callers do it at most about once a second.
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
