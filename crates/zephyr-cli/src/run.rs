//! `zephyr run`: the headless game loop for a script or a scene.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use zephyr_runtime::{
    BehaviourError, FrameReport, Limits, Profile, ScriptSource, Scripting, ScriptingConfig, Stage,
    StateConfig,
};

use crate::console::{LiveConsole, Reading};
use crate::error::{Error, Result};
use crate::input::Replay;
use crate::scene::{CvarSetting, Scene};
use crate::settings::Settings;
use crate::watch::Watcher;
use zephyr_world::{EntityId, SharedWorld, World};

/// Options of `zephyr run` (its command line).
#[derive(Debug, Clone, clap::Args)]
pub struct RunOptions {
    /// The script (.lua) or scene (.toml).
    pub path: PathBuf,
    /// Stop after N frames (flat out; without it frames are paced to --dt).
    #[arg(long, value_name = "N")]
    pub frames: Option<u64>,
    /// Seconds per frame (fixed step).
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0 / 60.0)]
    pub dt: f64,
    /// ScriptRunner worker threads [default: available cores].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Replay input events from a file.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Set a cvar before anything runs (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// End the run with exit status 1 at the first script error.
    #[arg(long)]
    pub strict: bool,
    /// Give scripts the full standard library instead of the sandbox.
    #[arg(long)]
    pub trusted: bool,
    /// Instruction budget per execution (each callback and each worker
    /// script); 0 turns it off.
    #[arg(long, value_name = "N", default_value_t = zephyr_runtime::DEFAULT_INSTRUCTION_BUDGET)]
    pub budget: u64,
    /// The seed of `math.random` (each behaviour instance and each job
    /// draws from its own stream of it): the same seed and input, the same run.
    #[arg(long, value_name = "N", default_value_t = zephyr_runtime::DEFAULT_SEED)]
    pub seed: u64,
    /// Lua code run before the script (in a scene, before each behaviour's
    /// script), written on its first line (so its line numbers stay),
    /// e.g. `--prelude "debug_mode = true"`.
    #[arg(long, value_name = "CODE")]
    pub prelude: Option<String>,
    /// Write a Chrome trace-event JSON file (open in Perfetto or chrome://tracing).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Record where the Lua time goes: FILE gets the collapsed stacks (one
    /// `outer;inner N` line per stack, N microseconds of self time; for
    /// flame-graph tools) and the summary lists the ten functions with the
    /// most self time.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Debugged by `zephyr dap`: the address to connect back to.
    #[arg(long, value_name = "ADDRESS", hide = true)]
    pub debug_connect: Option<String>,
    /// Debugged by `zephyr dap`: stop before the first line of Lua.
    #[arg(long, hide = true, requires = "debug_connect")]
    pub debug_stop_on_entry: bool,
    /// The saved settings: ARCHIVE cvars load from it at start and are
    /// saved to it at exit [default: config.cfg beside the scene or script].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Do not read console commands from stdin (batch runs).
    #[arg(long)]
    pub no_console: bool,
    /// Another folder scripts may read from (`require`, `dofile`,
    /// `io.open`), besides the script's or scene's own (repeatable).
    #[arg(long = "root", value_name = "DIR")]
    pub roots: Vec<PathBuf>,
    /// Read and write no settings file (neither config.cfg nor
    /// autoexec.cfg): a run that an earlier session's settings cannot
    /// change.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Reload behaviour scripts and the modules they require when their
    /// files change, keeping each instance's state.
    #[arg(long)]
    pub watch: bool,
    /// `zephyr console`: no scene or script, an empty world, frames until
    /// `quit` (or the end of piped input).
    #[arg(skip)]
    pub console_only: bool,
}

/// What a run did, for the summary.
#[derive(Debug, Default)]
pub struct Summary {
    frame_times: Vec<Duration>,
    script_time: Duration,
    total_time: Duration,
    errors: usize,
    worker_scripts: u64,
    /// Parallel behaviours' `on_update` calls (run on the workers).
    parallel_updates: u64,
    seed: u64,
    /// Warnings for cvar values given for names nothing registered.
    unused_cvars: Vec<String>,
    /// The config file the run saved its settings to, if it did.
    saved_settings: Option<String>,
    /// Why saving the settings failed, if it did.
    save_error: Option<Error>,
    /// Each distinct error printed so far, and how many times it happened
    /// (an error repeated every frame is printed once, then counted).
    seen_errors: Vec<(String, usize)>,
    /// With `--profile`: where the stacks went and the top functions.
    profile: Option<String>,
}

impl Summary {
    /// The error that ends the run after its summary (a failed save).
    pub fn take_error(&mut self) -> Option<Error> {
        self.save_error.take()
    }

    /// Counts an error; whether it is new (to be printed).
    fn first_time(&mut self, text: &str) -> bool {
        self.errors += 1;
        match self.seen_errors.iter_mut().find(|(seen, _)| seen == text) {
            Some((_, count)) => {
                *count += 1;
                false
            }
            None => {
                self.seen_errors.push((text.to_owned(), 1));
                true
            }
        }
    }
}

impl Summary {
    /// The end-of-run summary lines.
    pub fn render(&self) -> String {
        let mut times: Vec<f64> = self
            .frame_times
            .iter()
            .map(|d| d.as_secs_f64() * 1e3)
            .collect();
        times.sort_by(f64::total_cmp);
        let pick = |q: f64| -> f64 {
            if times.is_empty() {
                return 0.0;
            }
            let i = ((times.len() - 1) as f64 * q).round() as usize;
            times[i.min(times.len() - 1)]
        };
        let mean = if times.is_empty() {
            0.0
        } else {
            times.iter().sum::<f64>() / times.len() as f64
        };
        let share = if self.total_time.is_zero() {
            0.0
        } else {
            100.0 * self.script_time.as_secs_f64() / self.total_time.as_secs_f64()
        };
        let mut text = format!(
            "frames: {}\nframe time: mean {mean:.3} ms, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms\n\
             time in scripts: {share:.1}%\nscripts run on workers: {} ({} job(s), {} parallel update(s))\nerrors: {}\nseed: {}",
            times.len(),
            pick(0.5),
            pick(0.99),
            times.last().copied().unwrap_or(0.0),
            self.worker_scripts + self.parallel_updates,
            self.worker_scripts,
            self.parallel_updates,
            self.errors,
            self.seed
        );
        for (error, count) in self.seen_errors.iter().filter(|(_, n)| *n > 1) {
            let first = error.lines().next().unwrap_or_default();
            text.push_str(&format!("\nrepeated {count} times (printed once): {first}"));
        }
        if let Some(path) = &self.saved_settings {
            text.push_str(&format!("\nsettings saved to {path}"));
        }
        for warning in &self.unused_cvars {
            text.push('\n');
            text.push_str(warning);
        }
        if let Some(profile) = &self.profile {
            text.push('\n');
            text.push_str(profile);
        }
        text
    }
}

/// `--profile`: the profiler every state records into, and the file its
/// stacks go to (created before the run, so a bad path fails first). A run
/// that ends early (a script that does not load, `--strict`) still writes
/// what it recorded, when this is dropped.
struct ProfileOutput {
    profiler: zephyr_lua::profile::Profiler,
    file: std::fs::File,
    path: PathBuf,
    written: bool,
}

impl Drop for ProfileOutput {
    fn drop(&mut self) {
        if !self.written {
            let line = match self.write() {
                Ok((lines, _)) => format!(
                    "profile: {lines} stack(s) written to {}",
                    self.path.display()
                ),
                Err(error) => error.to_string(),
            };
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }
}

impl ProfileOutput {
    fn create(path: &Path) -> Result<Self> {
        let file = std::fs::File::create(path)
            .map_err(|e| Error::bad_file(path, format!("cannot write the profile: {e}")))?;
        Ok(ProfileOutput {
            profiler: zephyr_lua::profile::Profiler::new(),
            file,
            path: path.to_path_buf(),
            written: false,
        })
    }

    /// Writes the collapsed stacks: how many, and the report.
    fn write(&mut self) -> Result<(usize, zephyr_lua::profile::Report)> {
        self.written = true;
        let report = self.profiler.report();
        let mut out = std::io::BufWriter::new(&mut self.file);
        let written = report
            .write_collapsed(&mut out)
            .and_then(|lines| out.flush().map(|()| lines));
        let lines = written
            .map_err(|e| Error::bad_file(&self.path, format!("cannot write the profile: {e}")))?;
        Ok((lines, report))
    }

    /// Writes the collapsed stacks; the summary's lines about them.
    fn finish(mut self) -> Result<String> {
        let (lines, report) = self.write()?;
        Ok(format!(
            "profile: {lines} stack(s) written to {} (microseconds of self time); the functions with the most self time:\n{}",
            self.path.display(),
            report.summary(10)
        ))
    }
}

struct Host {
    scripting: Scripting,
    profile: Option<ProfileOutput>,
    /// With `zephyr dap`: the session, and its debug console's lines.
    debuggee: Option<crate::dap::Debuggee>,
    world: Arc<parking_lot::RwLock<World>>,
    options: RunOptions,
    summary: Summary,
    stop: Arc<AtomicBool>,
}

/// Prints warnings (a config or autoexec line that failed) on stderr.
fn warn(lines: &[String]) {
    let mut stderr = std::io::stderr().lock();
    for line in lines {
        let _ = writeln!(stderr, "{line}");
    }
}

impl Host {
    /// Reloads a changed file (`--watch`) and says what it did on stderr.
    fn reload(&mut self, path: &Path) {
        let (behaviours, system) = self.scripting.parts_mut();
        let report = behaviours.reload(system, path);
        let mut stderr = std::io::stderr().lock();
        for name in report.scripts.iter().chain(&report.modules) {
            let _ = writeln!(
                stderr,
                "reloaded {name} ({} instance(s) run the new code)",
                report.instances
            );
        }
        for (script, local) in &report.dropped_locals {
            let _ = writeln!(
                stderr,
                "reload: {script} no longer declares `local {local}`: its value is dropped"
            );
        }
        for error in &report.errors {
            let _ = writeln!(stderr, "reload failed, the old code keeps running: {error}");
        }
    }

    /// Runs one line from the live console, between frames. `= expr`
    /// prints the expression's values; `lua code` runs on the main thread
    /// in the console's environment (so `lua x = 1` then `= x` works);
    /// anything else is a console command. Output goes to stdout, errors
    /// to stderr.
    fn console_line(&mut self, line: &str) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return;
        }
        let lua = match trimmed.strip_prefix('=') {
            Some(expr) => Some((format!("return {expr}"), true)),
            None => match trimmed.split_once(char::is_whitespace) {
                Some(("lua", code)) => Some((code.to_owned(), false)),
                _ => None,
            },
        };
        let Some((code, show)) = lua else {
            if let Err(e) = self.scripting.console().execute_from(trimmed, "console") {
                let _ = writeln!(std::io::stderr(), "console: {e}");
            }
            return;
        };
        match self.scripting.execute(&code, "console") {
            zephyr_runtime::Outcome::Returned(values) => {
                if show || !values.is_empty() {
                    let mut line = printed(&values);
                    if values.is_empty() {
                        line.extend_from_slice(b"nil");
                    }
                    // An integer that is an entity's id: which entity.
                    let entities: Vec<String> = values
                        .iter()
                        .filter_map(|value| match value {
                            zephyr_runtime::ScriptValue::Integer(i) => EntityId::from_lua(*i),
                            _ => None,
                        })
                        .filter_map(|id| self.scripting.system().describe_entity(id))
                        .collect();
                    if !entities.is_empty() {
                        line.extend_from_slice(format!("\t-- {}", entities.join(", ")).as_bytes());
                    }
                    line.push(b'\n');
                    crate::console::write_output(&line);
                }
            }
            other => {
                let _ = writeln!(std::io::stderr(), "{other}");
            }
        }
    }

    /// Runs the debug console's lines (`zephyr dap`, `evaluate` while the
    /// game runs), between frames: an expression's values are the answer;
    /// anything else is a console line (a command, `lua code`), whose
    /// output goes where the live console's does.
    fn debug_console(&mut self) {
        let Some(debuggee) = &self.debuggee else {
            return;
        };
        for (request, line) in debuggee.console_lines() {
            let trimmed = line.trim();
            let expression = trimmed.strip_prefix('=').unwrap_or(trimmed);
            let is_expression = !trimmed.starts_with("lua ")
                && zephyr_lua::check_syntax(format!("return {expression}").as_bytes(), "console")
                    .is_ok();
            let result = if is_expression {
                match self
                    .scripting
                    .execute(&format!("return {expression}"), "console")
                {
                    zephyr_runtime::Outcome::Returned(values) => {
                        Ok(String::from_utf8_lossy(&printed(&values)).into_owned())
                    }
                    other => Err(other.to_string()),
                }
            } else {
                self.console_line(trimmed);
                Ok(String::new())
            };
            if let Some(debuggee) = &self.debuggee {
                debuggee.answer(&request, result);
            }
        }
    }

    /// Prints a frame's (or phase's) errors and counts them; with
    /// `--strict`, the first ends the run.
    fn report(&mut self, report: FrameReport) -> Result<()> {
        self.summary.script_time += report.script_time;
        self.summary.parallel_updates += report.updated_in_parallel as u64;
        let mut stderr = std::io::stderr().lock();
        for error in &report.errors {
            let text = error.to_string();
            if self.summary.first_time(&text) {
                let _ = writeln!(stderr, "{text}");
                if let Some(traceback) = &error.error.traceback {
                    let _ = writeln!(stderr, "{traceback}");
                }
            }
        }
        for error in &report.update.errors {
            let error = error.to_string();
            if self.summary.first_time(&error) {
                let _ = writeln!(stderr, "{error}");
            }
        }
        let failed = !report.errors.is_empty() || !report.update.errors.is_empty();
        if self.options.strict && failed {
            return Err(Error::Strict);
        }
        Ok(())
    }
}

/// Values as `print` writes them, byte for byte: tab-separated.
fn printed(values: &[zephyr_runtime::ScriptValue]) -> Vec<u8> {
    let mut line = Vec::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            line.push(b'\t');
        }
        line.extend_from_slice(&value.to_bytes());
    }
    line
}

/// What a run loads before anything runs: the scene or the script, the
/// input replay, and the folder its scripts are found in.
struct Program {
    scene: Option<Scene>,
    main_script: Option<ScriptSource>,
    replay: Replay,
    dir: PathBuf,
}

/// Runs a script or a scene: load, build the scripting, apply the settings,
/// frame 0, the frames, the end.
pub(crate) fn run(options: RunOptions) -> Result<Summary> {
    validate(&options)?;
    let program = load_program(&options)?;
    let world = zephyr_world::share(World::default());
    let profile = options
        .profile
        .as_deref()
        .map(ProfileOutput::create)
        .transpose()?;
    let profiler = profile.as_ref().map(|p| p.profiler.clone());
    let debuggee = match &options.debug_connect {
        Some(address) => {
            let mut folders = vec![PathBuf::from("."), program.dir.clone()];
            folders.extend(options.roots.iter().cloned());
            let debuggee =
                crate::dap::Debuggee::connect(address, options.debug_stop_on_entry, folders)?;
            debuggee.wait_configured();
            debuggee.set_world(world.clone());
            Some(debuggee)
        }
        None => None,
    };
    let debugger = debuggee.as_ref().map(crate::dap::Debuggee::debugger);
    let scripting = build(&options, &program.dir, world.clone(), profiler, debugger)?;
    let mut settings = Settings::new(options.config.as_deref(), &program.dir, options.no_config);
    settings.register_command(scripting.console())?;
    apply_settings(&scripting, program.scene.as_ref(), &options, &mut settings)?;

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second handler cannot be installed (tests run the CLI in-process
        // only once per process); ignore that case.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let mut host = Host {
        scripting,
        profile,
        debuggee,
        world,
        options,
        summary: Summary::default(),
        stop,
    };
    let started = Instant::now();
    let has_frames = host.load(&program)?;
    host.frame_zero()?;
    // The scripts have registered their cvars and commands: autoexec.cfg
    // may use them.
    warn(&settings.autoexec(host.scripting.console()));
    host.frames(has_frames, &program)?;
    // The run ends: every remaining behaviour's on_destroy, in attach order,
    // then the effects they had.
    let last = host.scripting.shutdown();
    host.report(last)?;
    host.summary.total_time = started.elapsed();
    Ok(host.end(&settings))
}

/// Refuses output files (`--trace`, `--profile`) that are files the run
/// reads (the script or scene, the input replay, the settings) or each
/// other: writing one would destroy it. Checked before any is created.
pub(crate) fn refuse_overwriting_inputs(options: &RunOptions) -> Result<()> {
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    let outputs = [("--trace", &options.trace), ("--profile", &options.profile)];
    let inputs = [
        ("the script or scene", Some(&options.path)),
        ("the input replay", options.input.as_ref()),
        ("the settings file", options.config.as_ref()),
    ];
    for (i, (flag, output)) in outputs.iter().enumerate() {
        let Some(output) = output else { continue };
        for (what, input) in inputs {
            if input.is_some_and(|input| same(output, input)) {
                return Err(Error::Usage(format!(
                    "{flag} {}: that is {what} this run reads; give another file",
                    output.display()
                )));
            }
        }
        for (other_flag, other) in &outputs[i + 1..] {
            if other.as_ref().is_some_and(|other| same(output, other)) {
                return Err(Error::Usage(format!(
                    "{flag} and {other_flag} name one file ({}); give each its own",
                    output.display()
                )));
            }
        }
    }
    Ok(())
}

/// Refuses options that cannot work, before anything is loaded.
fn validate(options: &RunOptions) -> Result<()> {
    if options
        .prelude
        .as_deref()
        .is_some_and(|code| code.contains('\n'))
    {
        return Err(Error::Usage(
            "--prelude takes one line of Lua (it goes on the script's first line)".into(),
        ));
    }
    if !(options.dt.is_finite() && options.dt > 0.0) {
        return Err(Error::Usage(format!(
            "--dt must be a positive number of seconds, got {}",
            options.dt
        )));
    }
    if let Some(missing) = options.roots.iter().find(|r| !r.is_dir()) {
        return Err(Error::Usage(format!(
            "--root {}: not a folder",
            missing.display()
        )));
    }
    if options.workers == Some(0) {
        return Err(Error::Usage("--workers must be at least 1".into()));
    }
    Ok(())
}

/// Reads the scene or the script and the input replay.
fn load_program(options: &RunOptions) -> Result<Program> {
    let replay = match &options.input {
        Some(path) => Replay::load(path)?,
        None => Replay::default(),
    };
    let is_scene = match options.path.extension().and_then(|e| e.to_str()) {
        _ if options.console_only => false,
        Some("lua") => false,
        Some("toml") => true,
        _ => {
            return Err(Error::Usage(format!(
                "{}: expected a .lua script or a .toml scene",
                options.path.display()
            )));
        }
    };
    // The prelude goes on the first line of every script the run loads:
    // the script's, or each behaviour's in a scene.
    let with_prelude = |script: ScriptSource| match &options.prelude {
        Some(code) => script.with_prelude(code),
        None => script,
    };
    let scene = if is_scene {
        let mut scene = Scene::load(&options.path)?;
        scene.map_scripts(with_prelude);
        Some(scene)
    } else {
        None
    };
    let main_script = if is_scene || options.console_only {
        None
    } else {
        let name = options.path.display().to_string();
        let script = ScriptSource::from_file(&options.path, name)
            .map_err(|e| Error::bad_file(&options.path, io_reason(e)))?;
        Some(with_prelude(script))
    };
    let dir = options
        .path
        .parent()
        .map(Path::to_path_buf)
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(Program {
        scene,
        main_script,
        replay,
        dir,
    })
}

/// The scripting over the run's world: the options' profile, budget,
/// roots and seed; output on stdout; the frame with Zephyr's physics.
fn build(
    options: &RunOptions,
    dir: &Path,
    world: SharedWorld,
    profiler: Option<zephyr_lua::profile::Profiler>,
    debugger: Option<zephyr_lua::debugger::Debugger>,
) -> Result<Scripting> {
    let workers = options
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let config = ScriptingConfig {
        workers,
        state: StateConfig {
            profile: if options.trusted {
                Profile::Trusted
            } else {
                Profile::Safe
            },
            limits: Limits {
                instructions: options.budget,
                ..Limits::default()
            },
            script_roots: std::iter::once(dir.to_path_buf())
                .chain(options.roots.iter().cloned())
                .collect(),
            seed: options.seed,
            profiler,
            debugger,
        },
        print: Some(Arc::new(crate::console::write_output)),
        ..ScriptingConfig::default()
    };
    let mut scripting = Scripting::with_world(config, world)?;
    scripting.set_stages(&Stage::FRAME_WITH_PHYSICS);
    scripting.set_stop_on_error(options.strict);
    // Console output (`echo`, `get`, `help`, ...) is the run's output:
    // stdout. Logs stay on stderr.
    scripting
        .console()
        .set_output(Some(Arc::new(crate::console::write_output)));
    Ok(scripting)
}

/// Cvars: the scene's, then the player's saved settings (config.cfg), then
/// the command line's, before anything runs. A bad value for a cvar that
/// exists ends the run here (exit status 2), naming where the value came
/// from; a name nobody registered waits for a script to register it, and is
/// reported at the end if none does.
fn apply_settings(
    scripting: &Scripting,
    scene: Option<&Scene>,
    options: &RunOptions,
    settings: &mut Settings,
) -> Result<()> {
    let apply = |settings: Vec<CvarSetting>| -> Result<()> {
        for setting in settings {
            scripting
                .cvars()
                .set_or_preset_from(&setting.name, &setting.value, &setting.origin)
                .map_err(|e| Error::Usage(format!("{}: {e}", setting.origin)))?;
        }
        Ok(())
    };
    apply(scene.map(Scene::cvars).unwrap_or_default())?;
    warn(&settings.load(scripting.cvars())?);
    let mut from_command_line = Vec::new();
    for pair in &options.set {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("--set expects NAME=VALUE, got '{pair}'")))?;
        from_command_line.push(CvarSetting {
            name: name.to_owned(),
            value: value.to_owned(),
            origin: format!("--set {pair}"),
        });
    }
    apply(from_command_line)?;
    // The run's own settings are in: an archived cvar that changes from
    // here on (a script's main chunk included) is the player's, saved at
    // the end.
    settings.mark_baseline(scripting.cvars());
    Ok(())
}

impl Host {
    /// Frame 0, part one: spawns the scene and attaches its behaviours, or
    /// runs the script's main chunk. A script that fails to load ends the
    /// run before any frame (exit status 2). Returns whether the run has
    /// frames.
    fn load(&mut self, program: &Program) -> Result<bool> {
        match (&program.scene, &program.main_script) {
            (Some(scene), _) => {
                for (name, prefab) in &scene.prefabs {
                    self.scripting
                        .add_prefab(name, prefab.clone())
                        .map_err(|e| Error::bad_file(&scene.path, e.to_string()))?;
                }
                let entity_ids = scene.spawn(&mut self.world.write())?;
                for (index, template) in scene.entities.iter().enumerate() {
                    let Some(script) = &template.script else {
                        continue;
                    };
                    let entity = entity_ids[index];
                    let loaded = if template.parallel == Some(true) {
                        self.scripting.attach_parallel(entity, script)
                    } else {
                        self.scripting.attach(entity, script)
                    };
                    if let Err(error) = loaded {
                        let entity = scene.file.entities[index].label(index);
                        return Err(load_error(&scene.path, &entity, &error));
                    }
                }
                // A scene runs its frames, scripted or not (bodies still move).
                Ok(true)
            }
            (None, Some(script)) => {
                let stem = self
                    .options
                    .path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("script");
                self.world.write().set_scene_name(stem);
                match self.scripting.attach_global(script) {
                    // A script runs frames when it has an on_update, or when
                    // --frames asks for them (physics steps, tasks run).
                    Ok(id) => Ok(self.options.frames.is_some()
                        || self
                            .scripting
                            .behaviours()
                            .list()
                            .any(|info| info.id == id && info.has_update)),
                    Err(error) => Err(load_error(&self.options.path, "", &error)),
                }
            }
            (None, None) => {
                self.world.write().set_scene_name("console");
                // `zephyr console`: frames until `quit`.
                Ok(true)
            }
        }
    }

    /// Frame 0, part two: every `on_start`, then the rest of a frame after
    /// the updates (physics, sync, events, destroy).
    fn frame_zero(&mut self) -> Result<()> {
        let mut report = FrameReport::default();
        self.scripting.run_stage(Stage::Start, 0.0, &mut report);
        self.scripting
            .run_stages(&Stage::AFTER_UPDATES, 0.0, &mut report);
        self.report(report)
    }

    /// The frames, until `--frames`, `quit`, Ctrl-C, the console's end (for
    /// `zephyr console`) or, for a script without `on_update`, its last
    /// task.
    fn frames(&mut self, has_frames: bool, program: &Program) -> Result<()> {
        let options = self.options.clone();
        let mut watcher = if options.watch {
            Some(Watcher::start(&program.dir)?)
        } else {
            None
        };
        let live = self.start_console()?;
        let tasks_waiting = |host: &Host| {
            let scripting = &host.scripting;
            scripting.behaviours().tasks_waiting(scripting.system())
        };
        // A script without on_update still runs frames while its tasks wait.
        if !has_frames && tasks_waiting(self) == 0 {
            return Ok(());
        }
        let mut frame: u64 = 0;
        loop {
            if self.scripting.console().quit_requested() || self.stop.load(Ordering::SeqCst) {
                break;
            }
            if options.frames.is_some_and(|n| frame >= n) {
                break;
            }
            if !has_frames && tasks_waiting(self) == 0 {
                break;
            }
            // Scripts edited since the last frame (--watch).
            if let Some(watcher) = &mut watcher {
                for path in watcher.ready() {
                    self.reload(&path);
                }
            }
            // The debugger's console lines typed since the last frame.
            self.debug_console();
            // Console commands typed (or piped) since the last frame.
            if let Some(live) = &live {
                let (lines, ended) = live.take_lines();
                if !lines.is_empty() {
                    for line in &lines {
                        self.console_line(line);
                    }
                    live.refresh(self.scripting.console());
                }
                if (ended && options.console_only) || self.scripting.console().quit_requested() {
                    break;
                }
            } else if options.console_only {
                break;
            }
            frame += 1;
            let frame_started = Instant::now();
            {
                let _input = tracing::info_span!("input").entered();
                let mut world = self.world.write();
                for event in program.replay.frame(frame) {
                    event.apply(world.input_mut());
                }
            }
            let report = self.scripting.frame(options.dt);
            self.report(report)?;
            let spent = frame_started.elapsed();
            self.summary.frame_times.push(spent);
            // Without --frames the run is a game: frames are paced to --dt in
            // real time. With --frames it is a batch and runs flat out.
            if options.frames.is_none() {
                std::thread::sleep(Duration::from_secs_f64(options.dt).saturating_sub(spent));
            }
        }
        Ok(())
    }

    /// The live console on stdin, when there is one to read (not in the
    /// background of a terminal: reading would stop us).
    fn start_console(&self) -> Result<Option<LiveConsole>> {
        let options = &self.options;
        let reading = Reading::of_stdin();
        if options.console_only && reading == Some(Reading::Terminal) {
            let _ = writeln!(
                std::io::stderr(),
                "Zephyr console on an empty world (Lua 5.4). `help` lists the commands, \
                 `= expr` prints a value, `lua code` runs code, Tab completes, `quit` ends."
            );
        }
        let console = self.scripting.console();
        let live = reading
            .filter(|_| !options.no_console)
            .map(|reading| LiveConsole::start(reading, console.clone()));
        if live.is_some() {
            // Typed here, `lua` runs on the main thread (see `console_line`).
            console
                .set_help(
                    "lua",
                    "lua <code>: runs Lua code; typed at this console, on the main thread in the \
                     console's environment; from a script's console.execute, on a worker thread \
                     (an unfinished chunk takes the next lines)",
                )
                .map_err(|e| Error::Usage(format!("lua: {e}")))?;
        }
        Ok(live)
    }

    /// The summary: cvars set but never registered, the saved settings.
    fn end(mut self, settings: &Settings) -> Summary {
        self.summary.unused_cvars = self
            .scripting
            .cvars()
            .unused_presets()
            .into_iter()
            // Saved settings of cvars this run did not register are kept for
            // the runs that do, not warned about.
            .filter(|preset| !settings.is_from_config(&preset.origin))
            .map(|preset| {
                let mut line = format!(
                    "warning: {}: cvar '{}' was never registered (not built in, and no script registered it)",
                    preset.origin, preset.name
                );
                if !preset.suggestions.is_empty() {
                    line.push_str(&format!(" (did you mean: {}?)", preset.suggestions.join(", ")));
                }
                line
            })
            .collect();
        // A save that fails is the run's error (exit status 2, naming the
        // file), after its summary.
        match settings.save_if_changed(self.scripting.cvars()) {
            Ok(true) => self.summary.saved_settings = Some(settings.path().display().to_string()),
            Ok(false) => {}
            Err(error) => self.summary.save_error = Some(error),
        }
        self.summary.worker_scripts = self.scripting.system().runner().stats().enqueued;
        self.summary.seed = self.options.seed;
        if let Some(profile) = self.profile.take() {
            match profile.finish() {
                Ok(text) => self.summary.profile = Some(text),
                Err(error) => {
                    self.summary.save_error.get_or_insert(error);
                }
            }
        }
        let _ = std::io::stdout().flush();
        self.summary
    }
}

/// A script that failed to load: exit status 2, naming the script's file
/// and line, and for a scene the scene file and the entity by its label.
fn load_error(file: &Path, entity: &str, error: &BehaviourError) -> Error {
    let mut message = error.error.message.clone();
    if !entity.is_empty() {
        message = format!("{}: {entity}: {message}", file.display());
    }
    if let Some(traceback) = &error.error.traceback {
        message = format!("{message}\n{traceback}");
    }
    Error::ScriptLoad(message)
}

fn io_reason(error: zephyr_runtime::Error) -> String {
    match error {
        zephyr_runtime::Error::Io { message, .. } => message,
        other => other.to_string(),
    }
}
