//! `zephyr dap`: debugging scripts from any editor that speaks the Debug
//! Adapter Protocol (VS Code, nvim-dap, Helix, Zed).
//!
//! | module     | its one job                                                         |
//! |------------|---------------------------------------------------------------------|
//! | `wire`     | the protocol's framing (`Content-Length`, JSON), numbered sending   |
//! | `adapter`  | the editor's side, on stdin/stdout: launch, relay, output, exit     |
//! | `debuggee` | the run's side (`zephyr run --debug-connect`): breakpoints, stops   |
//! | `lines`    | which lines of a file hold code (where breakpoints are verified)    |
//!
//! Two processes: the adapter starts `zephyr run` as a child, so the run's
//! stdout and stderr are its own (relayed as `output` events) and its exit
//! status is the run's. The child connects back over a local socket with a
//! token only the adapter gave it.

mod adapter;
mod debuggee;
mod lines;
mod wire;

pub(crate) use adapter::serve;
pub(crate) use debuggee::Debuggee;

/// The environment variable that carries the token from the adapter to the
/// run it launches.
const TOKEN_VARIABLE: &str = "ZEPHYR_DAP_TOKEN";

/// The exception breakpoint filters: id, label, on by default.
const EXCEPTION_FILTERS: &[(&str, &str, bool)] = &[
    ("uncaught", "Uncaught errors", true),
    ("caught", "Errors a pcall catches", false),
];
