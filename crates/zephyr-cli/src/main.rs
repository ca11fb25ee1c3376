//! The `zephyr` binary: runs scripts and scenes headless. See `zephyr --help`.
#![forbid(unsafe_code)]

/// See the `mimalloc` feature in this crate's `Cargo.toml`.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    zephyr_cli::main()
}
