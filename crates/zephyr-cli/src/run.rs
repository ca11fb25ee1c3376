//! `zephyr run`: the headless game loop for a script or a scene.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mlua::{Table, Value};
use zephyr_runtime::{
    Profile, ScriptError, ScriptingConfig, ScriptingSystem, StateConfig, UpdateReport,
};
use zephyr_world::{EntityId, Time, WorldRead};

use crate::error::{Error, Result};
use crate::input::Replay;
use crate::scene::Scene;

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
    /// Write a Chrome trace-event JSON file (open in Perfetto or chrome://tracing).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

/// What a run did, for the summary.
#[derive(Debug, Default)]
pub struct Summary {
    frame_times: Vec<Duration>,
    script_time: Duration,
    total_time: Duration,
    errors: usize,
    worker_scripts: u64,
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
        format!(
            "frames: {}\nframe time: mean {mean:.3} ms, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms\n\
             time in scripts: {share:.1}%\nscripts run on workers: {}\nerrors: {}",
            times.len(),
            pick(0.5),
            pick(0.99),
            times.last().copied().unwrap_or(0.0),
            self.worker_scripts,
            self.errors
        )
    }
}

/// A script instance: the functions one script file defined in its own
/// environment (one per scripted entity in a scene; one for a script run).
struct Instance {
    label: String,
    entity: Option<EntityId>,
    env: Table,
    destroyed: bool,
}

struct Host {
    system: ScriptingSystem,
    options: RunOptions,
    summary: Summary,
    stop: Arc<AtomicBool>,
}

impl Host {
    fn report_script_error(&mut self, error: &ScriptError, context: &str) -> Result<()> {
        self.summary.errors += 1;
        let mut stderr = std::io::stderr().lock();
        let context = if context.is_empty() {
            String::new()
        } else {
            format!(" ({context})")
        };
        let _ = writeln!(stderr, "{}{context}", error.message);
        if let Some(traceback) = &error.traceback {
            let _ = writeln!(stderr, "{traceback}");
        }
        if self.options.strict {
            Err(Error::Strict)
        } else {
            Ok(())
        }
    }

    fn report_update(&mut self, report: UpdateReport) -> Result<()> {
        for error in &report.errors {
            self.summary.errors += 1;
            let _ = writeln!(std::io::stderr().lock(), "{error}");
        }
        if self.options.strict && !report.errors.is_empty() {
            return Err(Error::Strict);
        }
        Ok(())
    }

    /// Calls `name(args)` in an instance, if it defines it.
    fn callback(
        &mut self,
        instance: &Instance,
        name: &str,
        args: impl mlua::IntoLuaMulti,
    ) -> Result<()> {
        let function = match instance.env.raw_get::<Value>(name) {
            Ok(Value::Function(f)) => f,
            _ => return Ok(()),
        };
        let _span = tracing::info_span!("callback", name, script = %instance.label).entered();
        let started = Instant::now();
        let result = self
            .system
            .main_state()
            .call_function(&function, args, &instance.label);
        self.summary.script_time += started.elapsed();
        match result {
            Ok(_) => Ok(()),
            Err(error) => {
                let context = match instance.entity {
                    Some(entity) => {
                        let name_of_entity = self.system.world().read().name(entity).ok().flatten();
                        match name_of_entity {
                            Some(n) => format!("callback {name}, entity {entity} \"{n}\""),
                            None => format!("callback {name}, entity {entity}"),
                        }
                    }
                    None => format!("callback {name}"),
                };
                self.report_script_error(&error, &context)
            }
        }
    }

    /// Runs a script file in a fresh environment on the main state.
    fn instantiate(
        &mut self,
        label: &str,
        source: &str,
        entity: Option<EntityId>,
    ) -> Result<Option<Instance>> {
        let state = self.system.main_state();
        let env = match entity {
            // Each scripted entity gets its own instance.
            Some(_) => state.new_env()?,
            // A run script is the main script: its globals are the main state's.
            None => state
                .persistent_env()
                .cloned()
                .ok_or_else(|| Error::Usage("no main environment".into()))?,
        };
        let started = Instant::now();
        let result = state.execute_in(&env, source, label);
        self.summary.script_time += started.elapsed();
        let instance = Instance {
            label: label.to_owned(),
            entity,
            env,
            destroyed: false,
        };
        match result {
            Ok(_) => Ok(Some(instance)),
            Err(error) => {
                let context = entity
                    .map(|e| format!("loading, entity {e}"))
                    .unwrap_or_default();
                self.report_script_error(&error, &context)?;
                Ok(entity.map(|_| instance))
            }
        }
    }

    /// Ends a frame: physics, then a sync point (every frame reproducible).
    fn end_frame(&mut self) -> Result<()> {
        {
            let _span = tracing::info_span!("physics").entered();
            self.system.step_physics();
        }
        let started = Instant::now();
        let report = {
            let _span = tracing::info_span!("sync").entered();
            self.system.sync()
        };
        self.summary.script_time += started.elapsed();
        self.report_update(report)
    }
}

fn has_function(env: &Table, name: &str) -> bool {
    matches!(env.raw_get::<Value>(name), Ok(Value::Function(_)))
}

/// Runs a script or a scene.
pub(crate) fn run(options: RunOptions) -> Result<Summary> {
    let replay = match &options.input {
        Some(path) => Replay::load(path)?,
        None => Replay::default(),
    };
    let is_scene = match options.path.extension().and_then(|e| e.to_str()) {
        Some("lua") => false,
        Some("toml") => true,
        _ => {
            return Err(Error::Usage(format!(
                "{}: expected a .lua script or a .toml scene",
                options.path.display()
            )));
        }
    };
    let scene = if is_scene {
        Some(Scene::load(&options.path)?)
    } else {
        None
    };
    let script_source = if is_scene {
        None
    } else {
        Some(
            std::fs::read_to_string(&options.path)
                .map_err(|e| Error::bad_file(&options.path, e.to_string()))?,
        )
    };
    let dir = options
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };

    let stdout_sink = Arc::new(|line: &str| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    });
    if !(options.dt.is_finite() && options.dt > 0.0) {
        return Err(Error::Usage(format!(
            "--dt must be a positive number of seconds, got {}",
            options.dt
        )));
    }
    let workers = options
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if workers == 0 {
        return Err(Error::Usage("--workers must be at least 1".into()));
    }
    let system = ScriptingSystem::new(ScriptingConfig {
        workers,
        state: StateConfig {
            profile: if options.trusted {
                Profile::Trusted
            } else {
                Profile::Safe
            },
            instruction_budget: options.budget,
            script_roots: vec![dir],
            ..StateConfig::default()
        },
        print: Some(stdout_sink),
        ..ScriptingConfig::default()
    })?;

    // Cvars: the scene's, then the command line's, before anything runs.
    let mut settings: Vec<(String, String)> = scene.as_ref().map(Scene::cvars).unwrap_or_default();
    for pair in &options.set {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("--set expects NAME=VALUE, got '{pair}'")))?;
        settings.push((name.to_owned(), value.to_owned()));
    }
    for (name, value) in settings {
        system
            .cvars()
            .set_or_preset(&name, &value)
            .map_err(|e| Error::Usage(format!("--set {name}={value}: {e}")))?;
    }

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second handler cannot be installed (tests run the CLI in-process
        // only once per process); ignore that case.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let mut host = Host {
        system,
        options: options.clone(),
        summary: Summary::default(),
        stop,
    };
    let started = Instant::now();

    // Frame 0: load the scripts.
    let mut instances = Vec::new();
    let entity_ids = match &scene {
        Some(scene) => scene.spawn(&mut host.system.world().write())?,
        None => Vec::new(),
    };
    match (&scene, &script_source) {
        (Some(scene), _) => {
            for (index, label, source) in &scene.scripts {
                if let Some(instance) = host.instantiate(label, source, Some(entity_ids[*index]))? {
                    instances.push(instance);
                }
            }
        }
        (None, Some(source)) => {
            let stem = options
                .path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("script");
            host.system.world().write().set_scene_name(stem);
            let label = options.path.display().to_string();
            if let Some(instance) = host.instantiate(&label, source, None)? {
                instances.push(instance);
            }
        }
        (None, None) => {}
    }
    for instance in &instances {
        if let Some(entity) = instance.entity {
            host.callback(instance, "on_start", entity.to_lua())?;
        }
    }
    host.end_frame()?;

    let has_frames = instances.iter().any(|i| {
        if i.entity.is_some() {
            true
        } else {
            has_function(&i.env, "on_update")
        }
    });
    let mut frame: u64 = 0;
    if has_frames {
        loop {
            if host.system.console().quit_requested() || host.stop.load(Ordering::SeqCst) {
                break;
            }
            if options.frames.is_some_and(|n| frame >= n) {
                break;
            }
            frame += 1;
            let frame_started = Instant::now();
            let _span = tracing::info_span!("frame", frame).entered();
            {
                let _input = tracing::info_span!("input").entered();
                let mut world = host.system.world().write();
                for event in replay.frame(frame) {
                    event.apply(world.input_mut());
                }
                world.set_time(Time {
                    delta: options.dt,
                    elapsed: frame as f64 * options.dt,
                    frame,
                });
            }
            for instance in &instances {
                if instance.destroyed {
                    continue;
                }
                match instance.entity {
                    Some(entity) => {
                        host.callback(instance, "on_update", (entity.to_lua(), options.dt))?
                    }
                    None => host.callback(instance, "on_update", options.dt)?,
                }
            }
            host.end_frame()?;
            // Entities destroyed this frame get their on_destroy once.
            for instance in instances.iter_mut() {
                if let Some(entity) = instance.entity
                    && !instance.destroyed
                    && !host.system.world().read().exists(entity)
                {
                    instance.destroyed = true;
                    host.callback(instance, "on_destroy", entity.to_lua())?;
                }
            }
            let spent = frame_started.elapsed();
            host.summary.frame_times.push(spent);
            // Without --frames the run is a game: frames are paced to --dt in
            // real time. With --frames it is a batch and runs flat out.
            if options.frames.is_none() {
                std::thread::sleep(Duration::from_secs_f64(options.dt).saturating_sub(spent));
            }
        }
    }
    // The run ends: every remaining entity's on_destroy, in scene order.
    for instance in instances
        .iter_mut()
        .filter(|i| i.entity.is_some() && !i.destroyed)
    {
        instance.destroyed = true;
        if let Some(entity) = instance.entity {
            host.callback(instance, "on_destroy", entity.to_lua())?;
        }
    }
    host.end_frame()?;
    host.summary.total_time = started.elapsed();
    host.summary.worker_scripts = host.system.runner().stats().enqueued;
    let _ = std::io::stdout().flush();
    Ok(host.summary)
}
