//! The `zephyr` host: a headless game loop that runs Lua scripts and TOML
//! scenes on the Zephyr scripting runtime, replays recorded input, writes
//! frame traces, profiles and debugs scripts (`--profile`, `zephyr dap`),
//! and checks mods. This is the only crate that prints to the
//! terminal or exits.
//!
//! | module  | its one job                                                   |
//! |---------|---------------------------------------------------------------|
//! | `run`   | `zephyr run`: the frame loop, callbacks, the summary          |
//! | `scene` | scene files: schema, checks, spawning                         |
//! | `input` | input replay files                                            |
//! | `check` | `zephyr check`                                                |
//! | `console` | the live console: reading stdin, completion, history         |
//! | `settings` | saved settings: `config.cfg`, `autoexec.cfg`, `host_writeconfig` |
//! | `trace` | `--trace`: span names for the Chrome trace                    |
//! | `watch` | `--watch`: the file watcher behind hot reload                 |
//! | `conformance` | `zephyr conformance`: Lua's own test suite, stock vs trusted |
//! | `dap`   | `zephyr dap`: the debug adapter, and the run's side of a session (`--debug-connect`) |
//! | `error` | errors and exit statuses                                      |
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this crate's job

mod check;
mod conformance;
mod console;
mod dap;
mod error;
mod input;
mod lint;
mod run;
mod scene;
mod settings;
mod trace;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use error::{Error, Result};
pub use input::{InputEvent, Replay};
pub use run::{RunOptions, Summary};
pub use scene::{CvarSetting, Scene};

#[derive(Debug, Parser)]
#[command(
    name = "zephyr",
    version,
    about = "Runs Lua scripts and scenes on the Zephyr scripting runtime, headless."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a Lua script (.lua) or a scene (.toml).
    Run(RunOptions),
    /// Opens the console on an empty world, without a scene: type console
    /// commands, `lua <code>` and `= expr` (Tab completes; `quit` ends).
    Console(ConsoleOptions),
    /// Writes the editor definitions of the Lua API (a LuaLS / EmmyLua
    /// `---@meta` file) to FILE, or to stdout.
    Types {
        /// Where to write them.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Compiles Lua files and validates scenes without running them.
    Check {
        /// Lua scripts and scene files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Serves the Debug Adapter Protocol on stdin/stdout for an editor
    /// (VS Code, nvim-dap, Helix, Zed): `launch` runs a scene or script
    /// with breakpoints, stepping and variables (docs/DEBUGGING.md).
    Dap,
    /// Runs the official Lua 5.4 test suite (its `testes/` folder) file by
    /// file through `zephyr run --trusted` and through stock Lua, and
    /// compares the results (exit status 1 if any file differs).
    Conformance(conformance::ConformanceOptions),
}

/// Logging: `console.log` and warnings to stderr; with a trace file, spans
/// too. The returned guard writes the trace file when dropped.
///
/// Without a trace file the filter is global, so the callsites it disables
/// (every per-callback span) cost one cached check: a filter on one layer
/// alone makes the registry build and close every span for the others.
fn init_logging(trace: Option<&PathBuf>) -> Result<Option<tracing_chrome::FlushGuard>> {
    let filter = EnvFilter::try_from_env("ZEPHYR_LOG").unwrap_or_else(|_| {
        EnvFilter::new("warn,zephyr::script=debug,zephyr::console=info,zephyr::runtime=off")
    });
    match trace {
        Some(path) => {
            // Opened here, so that a path that cannot be written is an error
            // naming it (exit status 2), not a panic inside the tracer.
            let file = std::fs::File::create(path)
                .map_err(|e| Error::bad_file(path, format!("cannot write the trace file: {e}")))?;
            let (chrome, guard) = tracing_chrome::ChromeLayerBuilder::new()
                .writer(std::io::BufWriter::new(file))
                .include_args(true)
                .name_fn(Box::new(trace::name))
                .build();
            let _ = tracing_subscriber::registry()
                .with(trace::LabelLayer)
                .with(stderr_layer().with_filter(filter))
                .with(chrome)
                .try_init();
            Ok(Some(guard))
        }
        None => {
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(stderr_layer())
                .try_init();
            Ok(None)
        }
    }
}

use tracing_subscriber::Layer as _;

/// Log lines on stderr in the host's one format, `level: message`
/// (`warning: config.cfg:3: ...`, `error: ...`, `info: ...`), as the
/// host's own warnings and errors are written.
fn stderr_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .event_format(LevelPrefix)
}

/// `level: message` for a log event.
struct LevelPrefix;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for LevelPrefix
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warning",
            tracing::Level::INFO => "info",
            tracing::Level::DEBUG => "debug",
            tracing::Level::TRACE => "trace",
        };
        write!(writer, "{level}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Writes a line, ignoring a closed pipe (`zephyr run ... 2>&1 | head`):
/// the run's status must not turn into a panic because nobody reads on.
fn say(out: &mut impl std::io::Write, line: &str) {
    let _ = writeln!(out, "{line}");
}

/// Runs the command line; the process's exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if !matches!(error, Error::CheckFailed(_)) {
                say(&mut std::io::stderr(), &format!("error: {error}"));
            }
            ExitCode::from(error.exit_code())
        }
    }
}

/// Options of `zephyr console`.
#[derive(Debug, Clone, clap::Args)]
struct ConsoleOptions {
    /// Give `lua` the full standard library instead of the sandbox.
    #[arg(long)]
    trusted: bool,
    /// ScriptRunner worker threads [default: available cores].
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// The saved settings [default: config.cfg in the working directory].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The seed of `math.random`.
    #[arg(long, value_name = "N", default_value_t = zephyr_runtime::DEFAULT_SEED)]
    seed: u64,
}

impl ConsoleOptions {
    fn into_run(self) -> RunOptions {
        RunOptions {
            path: PathBuf::from("."),
            frames: None,
            dt: 1.0 / 60.0,
            workers: self.workers,
            input: None,
            set: Vec::new(),
            strict: false,
            trusted: self.trusted,
            budget: zephyr_runtime::DEFAULT_INSTRUCTION_BUDGET,
            seed: self.seed,
            prelude: None,
            trace: None,
            profile: None,
            debug_connect: None,
            debug_stop_on_entry: false,
            config: self.config,
            no_console: false,
            no_config: false,
            roots: Vec::new(),
            watch: false,
            console_only: true,
        }
    }
}

fn execute(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Console(options) => {
            let _guard = init_logging(None)?;
            let mut summary = run::run(options.into_run())?;
            summary.take_error().map_or(Ok(()), Err)
        }
        Command::Run(options) => {
            run::refuse_overwriting_inputs(&options)?;
            let _guard = init_logging(options.trace.as_ref())?;
            let mut summary = run::run(options)?;
            say(&mut std::io::stderr(), &summary.render());
            summary.take_error().map_or(Ok(()), Err)
        }
        Command::Types { output } => {
            let text = zephyr_runtime::api::lua_definitions();
            match output {
                Some(path) => std::fs::write(&path, text).map_err(|e| {
                    Error::bad_file(&path, format!("cannot write the definitions: {e}"))
                }),
                None => {
                    use std::io::Write as _;
                    let _ = std::io::stdout().lock().write_all(text.as_bytes());
                    Ok(())
                }
            }
        }
        Command::Check { paths } => match check::check(&paths)? {
            0 => Ok(()),
            n => Err(Error::CheckFailed(n)),
        },
        Command::Conformance(options) => conformance::conformance(&options),
        Command::Dap => {
            let _guard = init_logging(None)?;
            dap::serve()
        }
    }
}
