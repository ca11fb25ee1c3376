//! The `zephyr` binary: runs scripts and scenes headless. See `zephyr --help`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    zephyr_cli::main()
}
