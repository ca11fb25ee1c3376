//! The runtime's cost table: each figure a ratio to a baseline written by
//! hand on raw mlua and measured in the same process, the variants
//! interleaved round by round, the median of the rounds reported (a noise
//! burst on this shared machine lands on one round of every variant, not on
//! one variant). BENCHMARKS.md records the figures.
//!
//! `cargo bench --bench frame` (add `-- --rounds 11` for more rounds,
//! `-- --quick` for a smoke run with small sizes, `-- --only serial` for one
//! section: serial, parallel, own, empty, startup, jobs, latency, find,
//! queries, engine, memory)

#![allow(clippy::print_stdout)] // printing the table is this bench's job

/// With `--features bench-mimalloc`, the table under the `zephyr` host's
/// allocator; without, under the system allocator an engine gets by
/// default. The baselines run under the same allocator as Zephyr.
#[cfg(feature = "bench-mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlua::{Function, Lua};
use parking_lot::Mutex;
use zephyr::runtime::{
    Behaviours, FrameReport, Job, Limits, ScriptSource, ScriptingConfig, ScriptingSystem,
    StateConfig,
};
use zephyr::world::glam::DVec3;
use zephyr::world::{EntityId, RigidBody, World};

mod support;
use support::{Variant, interleave, ms, ns, pair_table, table, us};
use zephyr::runtime::lua::debugger::{Breakpoint, Controller, Debugger, Resume, Stop};
use zephyr::runtime::lua::profile::Profiler;

/// An engine's own world (plain `Vec`s), from the example.
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/own_world.rs"]
mod own_world;

/// Sizes of one run.
struct Sizes {
    entities: usize,
    rounds: usize,
    frames_per_round: usize,
    jobs: usize,
}

const MOVER: &str = "
local get_position = zephyr.transform.get_position
local get_velocity = zephyr.physics.get_velocity
local set_position = zephyr.transform.set_position
function on_update(self, dt)
    local x, y, z = get_position(self)
    local vx, vy, vz = get_velocity(self)
    set_position(self, x + vx * dt, y + vy * dt, z + vz * dt)
end";

fn system(workers: usize, budget: u64) -> ScriptingSystem {
    system_with(
        workers,
        StateConfig {
            limits: Limits {
                instructions: budget,
                ..Limits::default()
            },
            ..StateConfig::default()
        },
    )
}

/// A system whose states are built with `state`.
fn system_with(workers: usize, state: StateConfig) -> ScriptingSystem {
    ScriptingSystem::new(ScriptingConfig {
        workers,
        state,
        ..ScriptingConfig::default()
    })
    .expect("system")
}

/// A system with `n` entities moving at (1, 0, 0), each with the mover.
fn movers(n: usize, workers: usize, budget: u64) -> (ScriptingSystem, Behaviours) {
    movers_in(n, workers, budget, false)
}

/// [`movers`], the behaviours parallel or not.
fn movers_in(
    n: usize,
    workers: usize,
    budget: u64,
    parallel: bool,
) -> (ScriptingSystem, Behaviours) {
    scene_of(n, workers, budget, parallel, MOVER)
}

/// A behaviour with some work of its own: scores 16 waypoints (about 400
/// VM instructions of plain Lua), then moves a step toward the best.
const SCORER: &str = "
local get_position, set_position = zephyr.transform.get_position, zephyr.transform.set_position
local waypoints = {}
for i = 1, 16 do waypoints[i] = { math.cos(i) * 10, 0, math.sin(i) * 10 } end
function on_update(self, dt)
    local x, y, z = get_position(self)
    local best, best_score = 1, math.huge
    for i = 1, #waypoints do
        local w = waypoints[i]
        local dx, dy, dz = w[1] - x, w[2] - y, w[3] - z
        local score = dx * dx + dy * dy + dz * dz + (i % 3) * 0.5
        if score < best_score then best, best_score = i, score end
    end
    local w = waypoints[best]
    set_position(self, x + (w[1] - x) * dt * 0.1, y, z + (w[3] - z) * dt * 0.1)
end";

/// A behaviour whose update calls four small Lua functions (the profiler's
/// worst case: a call and a return hook per call).
const CALLER: &str = "
local get_position, set_position = zephyr.transform.get_position, zephyr.transform.set_position
local function add(a, b) return a + b end
local function scale(v, k) return v * k end
local function step(x, dt) return add(x, scale(dt, 2)) end
local function clamp(v) if v > 1000 then return 0 end return v end
function on_update(self, dt)
    local x, y, z = get_position(self)
    set_position(self, clamp(step(x, dt)), y, z)
end";

/// `n` entities with a body, each running `source`, parallel or not.
fn scene_of(
    n: usize,
    workers: usize,
    budget: u64,
    parallel: bool,
    source: &str,
) -> (ScriptingSystem, Behaviours) {
    let state = StateConfig {
        limits: Limits {
            instructions: budget,
            ..Limits::default()
        },
        ..StateConfig::default()
    };
    scene_with(n, workers, state, parallel, source)
}

/// [`scene_of`], its states built with `state`.
fn scene_with(
    n: usize,
    workers: usize,
    state: StateConfig,
    parallel: bool,
    source: &str,
) -> (ScriptingSystem, Behaviours) {
    let system = system_with(workers, state);
    let mut behaviours = Behaviours::new();
    let script = ScriptSource::new("mover.lua", source);
    for _ in 0..n {
        let e = {
            let mut world = system.world().write();
            let e = world.create().expect("an entity");
            world
                .insert_body(
                    e,
                    RigidBody {
                        velocity: DVec3::X,
                        ..RigidBody::default()
                    },
                )
                .expect("body");
            e
        };
        if parallel {
            behaviours.attach_parallel(&system, e, &script)
        } else {
            behaviours.attach(&system, e, &script)
        }
        .expect("attach");
    }
    let mut start = FrameReport::default();
    behaviours.start(&system, &mut start);
    (system, behaviours)
}

/// R_call: one shared Lua function called from Rust per entity, calling
/// hand-written closures on `Vec`s (what an engine author writes by hand).
/// R_each: the same, with each entity's function its own closure (the
/// loader run once per entity, as a per-entity script is): what the
/// per-instance data costs a frame, apart from Zephyr's machinery.
struct RawCall {
    _lua: Lua,
    updates: Vec<Function>,
    n: usize,
}

impl RawCall {
    /// One function shared by the `n` entities.
    fn new(n: usize) -> Self {
        Self::with(n, false)
    }

    /// One closure for each of the `n` entities.
    fn each(n: usize) -> Self {
        Self::with(n, true)
    }

    fn with(n: usize, each: bool) -> Self {
        let lua = Lua::new();
        let positions = Arc::new(Mutex::new(vec![[0.0f64; 3]; n]));
        let velocities = Arc::new(Mutex::new(vec![[1.0f64, 0.0, 0.0]; n]));
        let p = positions.clone();
        let get_position = lua
            .create_function(move |_, e: usize| {
                let v = p.lock()[e];
                Ok((v[0], v[1], v[2]))
            })
            .expect("fn");
        let v = velocities;
        let get_velocity = lua
            .create_function(move |_, e: usize| {
                let v = v.lock()[e];
                Ok((v[0], v[1], v[2]))
            })
            .expect("fn");
        let p = positions;
        let set_position = lua
            .create_function(move |_, (e, x, y, z): (usize, f64, f64, f64)| {
                p.lock()[e] = [x, y, z];
                Ok(())
            })
            .expect("fn");
        let loader: Function = lua
            .load(
                "local get_position, get_velocity, set_position = ...
                 return function(self, dt)
                     local x, y, z = get_position(self)
                     local vx, vy, vz = get_velocity(self)
                     set_position(self, x + vx * dt, y + vy * dt, z + vz * dt)
                 end",
            )
            .into_function()
            .expect("loader");
        let closures = if each { n } else { 1 };
        let updates = (0..closures)
            .map(|_| {
                loader
                    .call((&get_position, &get_velocity, &set_position))
                    .expect("update")
            })
            .collect();
        RawCall {
            _lua: lua,
            updates,
            n,
        }
    }

    fn frame(&self, dt: f64) {
        match self.updates.as_slice() {
            [shared] => {
                for e in 0..self.n {
                    shared.call::<()>((e, dt)).expect("call");
                }
            }
            each => {
                for (e, update) in each.iter().enumerate() {
                    update.call::<()>((e, dt)).expect("call");
                }
            }
        }
    }
}

fn timed(frames: usize, mut f: impl FnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..frames {
        f();
    }
    started.elapsed() / frames as u32
}

/// A variant that times `frames` serial update phases of `behaviours`.
fn update_phase<'a>(
    behaviours: &'a mut Behaviours,
    system: &'a ScriptingSystem,
    frames: usize,
    dt: f64,
) -> Box<dyn FnMut() -> Duration + 'a> {
    Box::new(move || {
        timed(frames, || {
            let mut report = FrameReport::default();
            behaviours.update(system, dt, &mut report);
            assert!(report.errors.is_empty());
        })
    })
}

/// A variant that times `frames` parallel phases (updates, then their
/// writes applied) of `behaviours`.
fn parallel_phase<'a>(
    behaviours: &'a mut Behaviours,
    system: &'a mut ScriptingSystem,
    frames: usize,
    dt: f64,
) -> Box<dyn FnMut() -> Duration + 'a> {
    Box::new(move || {
        timed(frames, || {
            let mut report = FrameReport::default();
            behaviours.parallel_update(system, dt, &mut report);
            assert!(report.errors.is_empty());
        })
    })
}

fn serial_behaviours(sizes: &Sizes) {
    let n = sizes.entities;
    let raw = RawCall::new(n);
    let raw_each = RawCall::each(n);
    let (budgeted, mut b1) = movers(n, 1, zephyr::runtime::DEFAULT_INSTRUCTION_BUDGET);
    let (unbudgeted, mut b2) = movers(n, 1, 0);
    let (mut whole, mut b3) = movers(n, 1, zephyr::runtime::DEFAULT_INSTRUCTION_BUDGET);
    let (mut par, mut b4) = movers_in(n, 2, zephyr::runtime::DEFAULT_INSTRUCTION_BUDGET, true);
    let (mut par_whole, mut b5) =
        movers_in(n, 2, zephyr::runtime::DEFAULT_INSTRUCTION_BUDGET, true);
    let frames = sizes.frames_per_round;
    let dt = 1.0 / 60.0;
    let mut variants: Vec<Variant<'_>> = vec![
        ("R_call", Box::new(|| timed(frames, || raw.frame(dt)))),
        (
            "R_each (R_call with a closure per entity)",
            Box::new(|| timed(frames, || raw_each.frame(dt))),
        ),
        (
            "update phase, default budget",
            update_phase(&mut b1, &budgeted, frames, dt),
        ),
        (
            "update phase, budget off",
            update_phase(&mut b2, &unbudgeted, frames, dt),
        ),
        (
            "whole frame (time, updates, physics, sync, destroy phase)",
            Box::new(|| {
                timed(frames, || {
                    black_box(b3.frame(&mut whole, dt));
                })
            }),
        ),
        (
            "parallel behaviours on 2 workers: the parallel phase (updates, then their writes applied)",
            parallel_phase(&mut b4, &mut par, frames, dt),
        ),
        (
            "parallel behaviours on 2 workers: whole frame",
            Box::new(|| {
                timed(frames, || {
                    black_box(b5.frame(&mut par_whole, dt));
                })
            }),
        ),
    ];
    let medians = interleave(sizes.rounds, &mut variants);
    table(
        &format!("{n} behaviours, serial, on the main thread"),
        "time / frame",
        &variants,
        &medians,
        ms,
    );
}

/// The parallel phase where it must pay off and where it must not cost:
/// small scenes of movers and a compute-heavy behaviour, each against the
/// serial update phase of the same scene.
fn parallel_scenes(sizes: &Sizes) {
    let budget = zephyr::runtime::DEFAULT_INSTRUCTION_BUDGET;
    let frames = sizes.frames_per_round * 10;
    let dt = 1.0 / 60.0;
    for (n, source, what) in [(200, MOVER, "movers"), (2000, SCORER, "waypoint scorers")] {
        let n = if sizes.entities < 10_000 { n / 10 } else { n };
        let (serial, mut b1) = scene_of(n, 2, budget, false, source);
        let (mut one, mut b2) = scene_of(n, 1, budget, true, source);
        let (mut two, mut b3) = scene_of(n, 2, budget, true, source);
        let mut variants: Vec<Variant<'_>> = vec![
            (
                "serial update phase",
                update_phase(&mut b1, &serial, frames, dt),
            ),
            (
                "parallel phase, 1 worker",
                parallel_phase(&mut b2, &mut one, frames, dt),
            ),
            (
                "parallel phase, 2 workers",
                parallel_phase(&mut b3, &mut two, frames, dt),
            ),
        ];
        let medians = interleave(sizes.rounds, &mut variants);
        table(
            &format!("{n} {what}, serial and parallel"),
            "time / frame",
            &variants,
            &medians,
            us,
        );
    }
}

/// What a callback costs with nothing in it: an empty `on_update` per
/// entity against raw mlua calling an empty function per entity.
fn empty_callbacks(sizes: &Sizes) {
    let n = sizes.entities;
    let lua = Lua::new();
    let empty: Function = lua
        .load("return function(self, dt) end")
        .eval()
        .expect("fn");
    let system = system(1, zephyr::runtime::DEFAULT_INSTRUCTION_BUDGET);
    let mut behaviours = Behaviours::new();
    let script = ScriptSource::new("empty.lua", "function on_update(self, dt) end");
    for _ in 0..n {
        let e = system.world().write().create().expect("an entity");
        behaviours.attach(&system, e, &script).expect("attach");
    }
    let mut start = FrameReport::default();
    behaviours.start(&system, &mut start);
    let frames = sizes.frames_per_round;
    let mut variants: Vec<Variant<'_>> = vec![
        (
            "raw mlua: an empty function called per entity",
            Box::new(|| {
                timed(frames, || {
                    for e in 0..n {
                        empty.call::<()>((e, 0.1)).expect("call");
                    }
                })
            }),
        ),
        (
            "an empty on_update per entity (update phase)",
            Box::new(|| {
                timed(frames, || {
                    let mut report = FrameReport::default();
                    behaviours.update(&system, 0.1, &mut report);
                })
            }),
        ),
    ];
    let medians = interleave(sizes.rounds, &mut variants);
    table(
        &format!("The cost of a callback: {n} empty callbacks"),
        "time / frame",
        &variants,
        &medians,
        ms,
    );
}

fn scene_text(n: usize, scripted: bool) -> String {
    let mut text = String::from("name = \"bench\"\n");
    for i in 0..n {
        text.push_str(&format!(
            "[[entities]]\nname = \"e{i}\"\nposition = [{i}, 0, 0]\nbody = {{ mass = 1, velocity = [1, 0, 0] }}\n"
        ));
        if scripted {
            text.push_str("script = \"mover.lua\"\n");
        }
    }
    text
}

/// Loads a scene file the way `zephyr run` does: parse, spawn, attach,
/// start.
fn start_scene(path: &Path) -> Duration {
    let started = Instant::now();
    let system = system(1, zephyr::runtime::DEFAULT_INSTRUCTION_BUDGET);
    let scene = zephyr_cli::Scene::load(path).expect("scene");
    let ids = scene
        .spawn(&mut system.world_mut::<World>().expect("Zephyr's world"))
        .expect("spawn");
    let mut behaviours = Behaviours::new();
    for (index, template) in scene.entities.iter().enumerate() {
        if let Some(script) = &template.script {
            behaviours
                .attach(&system, ids[index], script)
                .expect("attach");
        }
    }
    let mut report = FrameReport::default();
    behaviours.start(&system, &mut report);
    let spent = started.elapsed();
    black_box((system, behaviours));
    spent
}

fn startup(sizes: &Sizes) {
    let dir = tempfile::tempdir().expect("dir");
    let n = sizes.entities;
    std::fs::write(dir.path().join("mover.lua"), MOVER).expect("write");
    let plain = dir.path().join("plain.toml");
    let scripted = dir.path().join("scripted.toml");
    std::fs::write(&plain, scene_text(n, false)).expect("write");
    std::fs::write(&scripted, scene_text(n, true)).expect("write");
    let mut variants: Vec<Variant<'_>> = vec![
        ("scene without scripts", Box::new(|| start_scene(&plain))),
        (
            "the same scene, one behaviour file on every entity",
            Box::new(|| start_scene(&scripted)),
        ),
    ];
    let medians = interleave(sizes.rounds, &mut variants);
    table(
        &format!("Startup of a {n}-entity scene (parse, spawn, attach, on_start)"),
        "time",
        &variants,
        &medians,
        ms,
    );
}

/// R_job: raw mlua load + call of the source on one state per thread.
fn raw_jobs(source: &str, workers: usize, jobs: usize, states: &[Mutex<Lua>]) -> Duration {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for state in states.iter().take(workers) {
            scope.spawn(move || {
                let lua = state.lock();
                for _ in 0..jobs / workers {
                    let v: i64 = lua.load(source).call(()).expect("job");
                    black_box(v);
                }
            });
        }
    });
    started.elapsed() / jobs as u32
}

/// R_pool: R_job's work handed off the way a host hands jobs to threads
/// by hand: the calling thread sends each source to persistent worker
/// threads over one channel, each loads and calls it on its own state and
/// sends the value back, and the calling thread takes every value. What a
/// runner cannot avoid (a hand-off each way), without anything it adds.
struct RawPool {
    sources: Option<crossbeam_channel::Sender<Arc<str>>>,
    values: crossbeam_channel::Receiver<i64>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl RawPool {
    fn new(workers: usize) -> Self {
        let (sources, inbox) = crossbeam_channel::unbounded::<Arc<str>>();
        let (outbox, values) = crossbeam_channel::unbounded();
        let threads = (0..workers)
            .map(|_| {
                let (inbox, outbox) = (inbox.clone(), outbox.clone());
                std::thread::spawn(move || {
                    let lua = Lua::new();
                    for source in inbox {
                        let v: i64 = lua.load(&*source).call(()).expect("job");
                        outbox.send(v).expect("values");
                    }
                })
            })
            .collect();
        RawPool {
            sources: Some(sources),
            values,
            threads,
        }
    }

    /// `jobs` jobs, `frame` at a time: each frame's are all sent, then
    /// all their values taken.
    fn run(&self, source: &Arc<str>, jobs: usize, frame: usize) -> Duration {
        let started = Instant::now();
        let sources = self.sources.as_ref().expect("running");
        for _ in 0..jobs / frame {
            for _ in 0..frame {
                sources.send(source.clone()).expect("sources");
            }
            for _ in 0..frame {
                black_box(self.values.recv().expect("a value"));
            }
        }
        started.elapsed() / jobs as u32
    }
}

impl Drop for RawPool {
    fn drop(&mut self) {
        self.sources = None;
        for thread in self.threads.drain(..) {
            thread.join().expect("a pool thread");
        }
    }
}

fn runner_jobs(system: &mut ScriptingSystem, source: &str, jobs: usize) -> Duration {
    let started = Instant::now();
    let mut last = None;
    for _ in 0..jobs {
        last = Some(system.enqueue(Job::new(source)).expect("enqueue"));
    }
    if let Some(last) = last {
        black_box(system.wait(last));
    }
    system.sync();
    started.elapsed() / jobs as u32
}

/// Jobs as an engine's frames enqueue them: `frame` jobs, then a sync
/// point, so the action queue never fills.
fn runner_frames(
    system: &mut ScriptingSystem,
    source: &str,
    jobs: usize,
    frame: usize,
) -> Duration {
    let started = Instant::now();
    for _ in 0..jobs / frame {
        for _ in 0..frame {
            let _handle = system.enqueue(Job::new(source)).expect("enqueue");
        }
        black_box(system.sync());
    }
    started.elapsed() / jobs as u32
}

fn tiny_jobs(sizes: &Sizes) {
    let workers = 2;
    let source = "return 2 + 2";
    let states: Vec<Mutex<Lua>> = (0..workers).map(|_| Mutex::new(Lua::new())).collect();
    let mut framed = system(workers, zephyr::runtime::DEFAULT_INSTRUCTION_BUDGET);
    let mut system = system(workers, zephyr::runtime::DEFAULT_INSTRUCTION_BUDGET);
    const FRAME_JOBS: usize = 100;
    let pool = RawPool::new(workers);
    let shared: Arc<str> = source.into();
    let jobs = sizes.jobs;
    let mut variants: Vec<Variant<'_>> = vec![
        (
            "R_job: raw load + call, one state per thread",
            Box::new(|| raw_jobs(source, workers, jobs, &states)),
        ),
        (
            "R_pool: the same handed to worker threads over channels, values back",
            Box::new(|| pool.run(&shared, jobs, jobs)),
        ),
        (
            "the same source through ScriptRunner",
            Box::new(|| runner_jobs(&mut system, source, jobs)),
        ),
        (
            "R_pool in frames of 100 jobs (send them, take their values)",
            Box::new(|| pool.run(&shared, jobs, FRAME_JOBS)),
        ),
        (
            "ScriptRunner in frames of 100 jobs (enqueue them, then sync)",
            Box::new(|| runner_frames(&mut framed, source, jobs, FRAME_JOBS)),
        ),
    ];
    let medians = interleave(sizes.rounds, &mut variants);
    table(
        &format!("A tiny repeated job (`{source}`), {workers} workers, {jobs} jobs"),
        "time / job",
        &variants,
        &medians,
        ns,
    );
}

/// `--profile`'s cost: whole serial frames of three behaviours, each
/// without a profiler and with one recording every call.
fn profiled_frames(sizes: &Sizes) {
    instrumented_frames(sizes, "--profile", ["no profiler", "profiler"], |config| {
        config.profiler = Some(Profiler::new());
    });
}

/// A debugging session's cost when it does not stop: the same scenes, with
/// a breakpoint set in a file none of them runs.
fn debugged_frames(sizes: &Sizes) {
    instrumented_frames(
        sizes,
        "A debug session with a breakpoint in an unused file",
        ["no debugger", "debugger"],
        |config| {
            let debugger = Debugger::new(Arc::new(NeverStops), |chunk| {
                Some(std::path::PathBuf::from(chunk))
            });
            debugger.set_breakpoints(
                Path::new("unused.lua"),
                vec![Breakpoint {
                    line: 1,
                    ..Breakpoint::default()
                }],
            );
            config.debugger = Some(debugger);
        },
    );
}

/// The controller of a session that never stops.
struct NeverStops;

impl Controller for NeverStops {
    fn stopped(&self, _stop: &mut Stop<'_>) -> Resume {
        Resume::Continue
    }
    fn log(&self, _message: &str, _place: &str) {}
}

/// Whole serial frames of three behaviours (2,000 instances each), each
/// scene built twice: as is and with `instrument` applied to its states'
/// configuration; pairs interleaved round by round.
fn instrumented_frames(
    sizes: &Sizes,
    what: &str,
    columns: [&str; 2],
    instrument: impl Fn(&mut StateConfig),
) {
    let n = sizes.entities / 5;
    let budget = zephyr::runtime::DEFAULT_INSTRUCTION_BUDGET;
    let frames = sizes.frames_per_round * 2;
    let dt = 1.0 / 60.0;
    let cases = [
        ("movers (three engine calls)", MOVER),
        ("waypoint scorers (~400 instructions)", SCORER),
        ("callers (four small Lua functions)", CALLER),
    ];
    let mut scenes: Vec<(&str, ScriptingSystem, Behaviours)> = Vec::new();
    for (name, source) in cases {
        for instrumented in [false, true] {
            let mut state = StateConfig {
                limits: Limits {
                    instructions: budget,
                    ..Limits::default()
                },
                ..StateConfig::default()
            };
            if instrumented {
                instrument(&mut state);
            }
            let (system, behaviours) = scene_with(n, 1, state, false, source);
            scenes.push((name, system, behaviours));
        }
    }
    let mut variants: Vec<Variant<'_>> = scenes
        .iter_mut()
        .map(|(name, system, behaviours)| -> Variant<'_> {
            (
                *name,
                Box::new(move || {
                    timed(frames, || {
                        black_box(behaviours.frame(system, dt));
                    })
                }),
            )
        })
        .collect();
    let medians = interleave(sizes.rounds, &mut variants);
    pair_table(
        &format!("{what}: whole serial frames of {n} behaviours, without and with it"),
        columns,
        &variants,
        &medians,
        ms,
    );
}

fn percentile(mut samples: Vec<Duration>, q: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[i]
}

/// `enqueue_script` latency in a world whose entities change every frame,
/// and in one where only the time does, and `update()` latency with both
/// workers busy.
fn latencies(sizes: &Sizes) {
    let n = sizes.entities;
    let mut rows = Vec::new();
    for entities_change in [true, false] {
        let mut system = system(2, zephyr::runtime::DEFAULT_INSTRUCTION_BUDGET);
        let ids: Vec<EntityId> = (0..n)
            .map(|_| system.world().write().create().expect("an entity"))
            .collect();
        let mut enqueue = Vec::new();
        let mut update = Vec::new();
        // The first snapshot of a world copies all of it: part of starting
        // the scene, not of a frame.
        drop(system.enqueue_script("return 0", None).expect("warm-up"));
        system.sync();
        // Enough frames that the p99 is not simply the slowest one.
        for frame in 0..sizes.frames_per_round * sizes.rounds * 20 {
            system.advance_frame(1.0 / 60.0);
            if entities_change {
                WorldWriteExt::nudge(&system, ids[frame % n]);
            }
            let started = Instant::now();
            let handle = system
                .enqueue_script(
                    "local s = 0 for i = 1, 20000 do s = s + i end return s",
                    None,
                )
                .expect("enqueue");
            enqueue.push(started.elapsed());
            drop(handle);
            let started = Instant::now();
            black_box(system.update());
            update.push(started.elapsed());
        }
        system.sync();
        let what = if entities_change {
            "an entity changes every frame"
        } else {
            "only the time changes"
        };
        rows.push(format!(
            "| `enqueue_script`, {what} | {} | {} |",
            us(percentile(enqueue.clone(), 0.5)),
            us(percentile(enqueue, 0.99))
        ));
        rows.push(format!(
            "| `update()` with both workers busy, {what} | {} | {} |",
            us(percentile(update.clone(), 0.5)),
            us(percentile(update, 0.99))
        ));
    }
    println!("\n## Main-thread latencies, {n}-entity world, 2 workers\n");
    println!("| what | p50 | p99 |");
    println!("|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}

struct WorldWriteExt;

impl WorldWriteExt {
    fn nudge(system: &ScriptingSystem, e: EntityId) {
        if let Some(mut world) = system.world_mut::<World>()
            && let Ok(t) = world.transform_mut(e)
        {
            t.position.x += 1.0;
        }
    }
}

/// `zephyr.entity.find` in a 20,000-entity world: 100 finds of distinct
/// names, against the same lookups in a Lua table.
fn finds(sizes: &Sizes) {
    let n = sizes.entities * 2;
    let system = system(1, 0);
    let outcome = system.execute(
        &format!(
            "names = {{}}
             for i = 1, {n} do
                 local e = zephyr.entity.create()
                 zephyr.entity.set_name(e, 'e' .. i)
                 names['e' .. i] = e
             end
             function with_find() local s = 0 for i = 1, 100 do s = s + zephyr.entity.find('e' .. (i * 97 % {n} + 1)) end return s end
             function with_table() local s = 0 for i = 1, 100 do s = s + names['e' .. (i * 97 % {n} + 1)] end return s end"
        ),
        "setup",
    );
    assert!(outcome.is_ok(), "{outcome}");
    let env = system.main_state().persistent_env().expect("env").clone();
    let with_find: Function = env.get("with_find").expect("fn");
    let with_table: Function = env.get("with_table").expect("fn");
    let mut variants: Vec<Variant<'_>> = vec![
        (
            "100 lookups in a Lua table",
            Box::new(|| {
                timed(20, || {
                    black_box(with_table.call::<i64>(()).expect("run"));
                })
            }),
        ),
        (
            "100 `zephyr.entity.find` calls",
            Box::new(|| {
                timed(20, || {
                    black_box(with_find.call::<i64>(()).expect("run"));
                })
            }),
        ),
    ];
    let medians = interleave(sizes.rounds, &mut variants);
    table(
        &format!("Finding entities by name in a {n}-entity world"),
        "time",
        &variants,
        &medians,
        us,
    );
}

/// `zephyr.entity.within` and `find_all` in a world of `sizes.entities`
/// entities on a plane, 2 units apart, so that a radius of 5 holds about
/// 20: 100 queries at different places, against a Lua loop over a
/// 20-element array doing the same distance tests (the bar: at most
/// 20x). Then what the grid's catching-up costs after every entity moved.
fn queries(sizes: &Sizes) {
    let n = sizes.entities;
    let side = (n as f64).sqrt().ceil() as usize;
    let system = system(1, 0);
    let outcome = system.execute(
        &format!(
            "local side = {side}
             for i = 0, {n} - 1 do
                 local e = zephyr.entity.create()
                 zephyr.transform.set_position(e, (i % side) * 2, 0, (i // side) * 2)
                 if i % 2 == 0 then zephyr.entity.add_tag(e, 'enemy') end
                 if i < 20 then zephyr.entity.add_tag(e, 'boss') end
             end
             local near = {{}}
             for i = 1, 20 do near[i] = {{x = (i % 5) * 2, y = 0, z = (i // 5) * 2, id = i}} end
             local function center(k) return (k * 37 % (side - 6)) * 2 + 5, 0, (k * 53 % (side - 6)) * 2 + 5 end
             function lua_loop()
                 local count = 0
                 for k = 1, 100 do
                     local cx, cy, cz = center(k)
                     cx, cz = cx % 10, cz % 10
                     local found = {{}}
                     for i = 1, #near do
                         local p = near[i]
                         local dx, dy, dz = p.x - cx, p.y - cy, p.z - cz
                         if dx * dx + dy * dy + dz * dz <= 25 then found[#found + 1] = p.id end
                     end
                     count = count + #found
                 end
                 return count
             end
             function within(tag)
                 local count = 0
                 for k = 1, 100 do
                     local x, y, z = center(k)
                     count = count + #zephyr.entity.within(x, y, z, 5, tag)
                 end
                 return count
             end
             function find_all()
                 local count = 0
                 for k = 1, 100 do count = count + #zephyr.entity.find_all('boss') end
                 return count
             end
             function builds()
                 local count = 0
                 for k = 1, 100 do
                     local found = {{}}
                     for i = 1, 20 do found[#found + 1] = near[i].id end
                     count = count + #found
                 end
                 return count
             end"
        ),
        "setup",
    );
    assert!(outcome.is_ok(), "{outcome}");
    let env = system.main_state().persistent_env().expect("env").clone();
    let call = |name: &str, tag: Option<&str>| {
        let f: Function = env.get(name).expect("fn");
        let tag = tag.map(str::to_owned);
        move || {
            timed(20, || {
                black_box(f.call::<i64>(tag.clone()).expect("run"));
            })
        }
    };
    let found: i64 = env
        .get::<Function>("within")
        .and_then(|f| f.call(()))
        .expect("within");
    let mut variants: Vec<Variant<'_>> = vec![
        (
            "a Lua loop over 20 positions",
            Box::new(call("lua_loop", None)),
        ),
        ("`within(x, y, z, 5)`", Box::new(call("within", None))),
        (
            "`within(x, y, z, 5, 'enemy')`",
            Box::new(call("within", Some("enemy"))),
        ),
        ("a Lua loop copying 20 ids", Box::new(call("builds", None))),
        (
            "`find_all` of a 20-entity tag",
            Box::new(call("find_all", None)),
        ),
    ];
    let medians = interleave(sizes.rounds, &mut variants);
    table(
        &format!(
            "100 queries in a {n}-entity world ({:.1} entities within each radius on average)",
            found as f64 / 100.0
        ),
        "time",
        &variants,
        &medians,
        us,
    );

    // The grid catches up on the first query after the world changed.
    let within: Function = env.get("within").expect("fn");
    let ids: Vec<EntityId> = system
        .world_ref::<World>()
        .expect("Zephyr's world")
        .snapshot()
        .records()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let nudge_all = |system: &ScriptingSystem| {
        let mut world = system.world_mut::<World>().expect("Zephyr's world");
        for id in &ids {
            if let Ok(t) = world.transform_mut(*id) {
                t.position.x += 0.01;
            }
        }
    };
    let mut variants: Vec<Variant<'_>> = vec![
        (
            "moving every entity",
            Box::new(|| timed(5, || nudge_all(&system))),
        ),
        (
            "moving every entity, then 100 `within`",
            Box::new(|| {
                timed(5, || {
                    nudge_all(&system);
                    black_box(within.call::<i64>(()).expect("run"));
                })
            }),
        ),
    ];
    let medians = interleave(sizes.rounds, &mut variants);
    table(
        &format!("The grid catching up after {n} moves"),
        "time",
        &variants,
        &medians,
        us,
    );
}

fn memory() {
    let bare = Lua::new();
    let system = system(1, zephyr::runtime::DEFAULT_INSTRUCTION_BUDGET);
    let pooled = system.pool().acquire();
    println!("\n## Lua memory of one state\n");
    println!("| state | bytes |");
    println!("|---|---|");
    println!("| bare `Lua::new()` | {} |", bare.used_memory());
    println!(
        "| a pooled state with the whole API, as built | {} |",
        pooled.used_memory()
    );
    let _ = pooled.lua().gc_collect();
    let _ = bare.gc_collect();
    println!(
        "| the same after a full collection (what it holds) | {} |",
        pooled.used_memory()
    );
    println!(
        "| bare `Lua::new()` after a full collection | {} |",
        bare.used_memory()
    );
    // The engine modules are made on first use: a job that uses them all.
    let touch_all = "local n = 0
        for _, t in ipairs({console, cvar, ecs, input, Key, Mouse}) do
            for _ in pairs(t) do n = n + 1 end
        end
        for _, m in pairs(zephyr) do for _ in pairs(m) do n = n + 1 end end
        return n";
    let names = pooled
        .execute(touch_all, "touch_all")
        .expect("touch every module");
    let _ = pooled.lua().gc_collect();
    println!(
        "| the pooled state after a job used every module ({} names), collected | {} |",
        names[0],
        pooled.used_memory()
    );
}

/// The engine's own data for the engine-function rows: positions by index.
type Positions = Arc<Mutex<Vec<[f64; 3]>>>;

const PAIR_LOOP: &str = "
local get, set, e, n = ...
for _ = 1, n do
    local x, y, z = get(e)
    set(e, x + 1, y, z)
end";

/// An engine package `pos` with a typed get/set pair over `positions`: the
/// getter reads, the setter writes through [`Call::command`] (at once on
/// the main thread, recorded on a worker) as an engine would.
///
/// [`Call::command`]: zephyr::runtime::api::Call::command
fn position_package(positions: &Positions) -> zephyr::runtime::api::Package {
    use zephyr::runtime::api::{Function, Package};
    let (read, write) = (positions.clone(), positions.clone());
    Package::new("pos")
        .function(
            Function::typed("get", &["index"], move |call, (i,): (i64,)| {
                let p = read.lock();
                let v = usize::try_from(i)
                    .ok()
                    .and_then(|i| p.get(i))
                    .ok_or_else(|| call.error(format!("no position {i}")))?;
                Ok((v[0], v[1], v[2]))
            })
            .doc("The position at an index."),
        )
        .function(
            Function::typed(
                "set",
                &["index", "x", "y", "z"],
                move |call, (i, x, y, z): (i64, f64, f64, f64)| {
                    let write = write.clone();
                    call.try_command(move |_: &mut World| {
                        let mut p = write.lock();
                        let slot = usize::try_from(i)
                            .ok()
                            .and_then(|i| p.get_mut(i))
                            .ok_or_else(|| format!("no position {i}"))?;
                        *slot = [x, y, z];
                        Ok::<(), String>(())
                    })
                },
            )
            .writes()
            .doc("Sets the position at an index."),
        )
}

/// The engine-function row: a typed engine get/set pair against the same
/// pair written as bare mlua closures over the same data, and the built-in
/// transform pair, all on the main state with the budget off.
fn engine_functions(sizes: &Sizes) {
    let pairs = if sizes.entities < 10_000 {
        1000
    } else {
        100_000
    };
    let positions: Positions = Arc::new(Mutex::new(vec![[0.0; 3]; 16]));

    let bare_lua = Lua::new();
    let p = positions.clone();
    let bare_get = bare_lua
        .create_function(move |_, i: usize| {
            let p = p.lock();
            let v = p
                .get(i)
                .ok_or_else(|| mlua::Error::runtime("no position"))?;
            Ok((v[0], v[1], v[2]))
        })
        .expect("get");
    let p = positions.clone();
    let bare_set = bare_lua
        .create_function(move |_, (i, x, y, z): (usize, f64, f64, f64)| {
            let mut p = p.lock();
            let slot = p
                .get_mut(i)
                .ok_or_else(|| mlua::Error::runtime("no position"))?;
            *slot = [x, y, z];
            Ok(())
        })
        .expect("set");
    let bare_loop: Function = bare_lua.load(PAIR_LOOP).into_function().expect("loop");

    let system = ScriptingSystem::new(ScriptingConfig {
        workers: 1,
        packages: vec![position_package(&positions)],
        state: StateConfig {
            limits: Limits {
                instructions: 0,
                ..Limits::default()
            },
            ..StateConfig::default()
        },
        ..ScriptingConfig::default()
    })
    .expect("system");
    let lua = system.main_state().lua().clone();
    let ours_loop: Function = lua.load(PAIR_LOOP).into_function().expect("loop");
    let globals = system.main_state().persistent_env().expect("env").clone();
    let pos: mlua::Table = globals.get("pos").expect("pos");
    let (get, set): (Function, Function) =
        (pos.get("get").expect("get"), pos.get("set").expect("set"));
    let outcome = system.execute(
        "entity = zephyr.entity.create()
         tget, tset = zephyr.transform.get_position, zephyr.transform.set_position",
        "setup",
    );
    assert!(outcome.is_ok(), "setup: {outcome}");
    let entity: i64 = globals.get("entity").expect("entity");
    let (tget, tset): (Function, Function) = (
        globals.get("tget").expect("get"),
        globals.get("tset").expect("set"),
    );

    let timed_pairs = |f: &Function, get: &Function, set: &Function, e: i64| {
        let started = Instant::now();
        f.call::<()>((get, set, e, pairs)).expect("pairs");
        started.elapsed()
    };
    let mut variants: Vec<Variant<'_>> = vec![
        (
            "bare mlua closures over a Vec",
            Box::new(|| timed_pairs(&bare_loop, &bare_get, &bare_set, 3)),
        ),
        (
            "a typed engine package over the same Vec",
            Box::new(|| timed_pairs(&ours_loop, &get, &set, 3)),
        ),
        (
            "the built-in zephyr.transform pair",
            Box::new(|| timed_pairs(&ours_loop, &tget, &tset, entity)),
        ),
    ];
    let medians = interleave(sizes.rounds, &mut variants);
    // Both engine variants did every write (unless one variant ran alone).
    if std::env::var_os("ZEPHYR_BENCH_VARIANT").is_none() {
        assert_eq!(positions.lock()[3][0], (sizes.rounds * pairs * 2) as f64);
    }
    table(
        &format!("{pairs} get+set pairs from Lua, main state, budget off"),
        "time",
        &variants,
        &medians,
        ms,
    );
}

/// The transform-only mover of the `own` section: runs on any world.
const SLIDER: &str = "\
local get_position = zephyr.transform.get_position
local set_position = zephyr.transform.set_position
function on_update(self, dt)
    local x, y, z = get_position(self)
    set_position(self, x + dt, y, z)
end";

/// `n` sliders over `world`, parallel or not, started.
fn sliders(
    world: zephyr::world::SharedWorld,
    n: usize,
    parallel: bool,
) -> (ScriptingSystem, Behaviours) {
    let config = ScriptingConfig {
        workers: 2,
        ..ScriptingConfig::default()
    };
    let system = ScriptingSystem::with_parts(config, Default::default(), world).expect("system");
    let mut behaviours = Behaviours::new();
    let script = ScriptSource::new("slider.lua", SLIDER);
    for _ in 0..n {
        let e = system.world().write().create().expect("an entity");
        if parallel {
            behaviours.attach_parallel(&system, e, &script)
        } else {
            behaviours.attach(&system, e, &script)
        }
        .expect("attach");
    }
    let mut start = FrameReport::default();
    behaviours.start(&system, &mut start);
    (system, behaviours)
}

/// The same behaviours over Zephyr's hecs world and over an engine's own
/// (`examples/own_world.rs`'s `Vec`-based arena), serial and parallel.
fn own_world_rows(sizes: &Sizes) {
    let n = sizes.entities;
    let raw = RawCall::new(n);
    let hecs = || zephyr::world::share(World::default()) as zephyr::world::SharedWorld;
    let arena = || zephyr::world::share(own_world::Arena::default()) as zephyr::world::SharedWorld;
    let (s1, mut b1) = sliders(hecs(), n, false);
    let (s2, mut b2) = sliders(arena(), n, false);
    let (mut s3, mut b3) = sliders(hecs(), n, true);
    let (mut s4, mut b4) = sliders(arena(), n, true);
    let frames = sizes.frames_per_round;
    let dt = 1.0 / 60.0;
    let mut variants: Vec<Variant<'_>> = vec![
        ("R_call", Box::new(|| timed(frames, || raw.frame(dt)))),
        (
            "update phase, Zephyr's world",
            update_phase(&mut b1, &s1, frames, dt),
        ),
        (
            "update phase, own_world's arena",
            update_phase(&mut b2, &s2, frames, dt),
        ),
        (
            "parallel phase on 2 workers, Zephyr's world",
            parallel_phase(&mut b3, &mut s3, frames, dt),
        ),
        (
            "parallel phase on 2 workers, own_world's arena",
            parallel_phase(&mut b4, &mut s4, frames, dt),
        ),
    ];
    let medians = interleave(sizes.rounds, &mut variants);
    table(
        &format!("{n} transform-only behaviours over two worlds"),
        "time / frame",
        &variants,
        &medians,
        ms,
    );
}

fn main() {
    let args = support::Args::parse();
    let sizes = if args.quick {
        Sizes {
            entities: 500,
            rounds: args.rounds.unwrap_or(3),
            frames_per_round: 2,
            jobs: 200,
        }
    } else {
        Sizes {
            entities: 10_000,
            rounds: args.rounds.unwrap_or(7),
            frames_per_round: 10,
            jobs: 4000,
        }
    };
    println!(
        "# zephyr cost table ({} rounds, medians; ratios to raw mlua in the same process)",
        sizes.rounds
    );
    type Section<'a> = (&'a str, &'a dyn Fn(&Sizes));
    let sections: [Section<'_>; 13] = [
        ("serial", &serial_behaviours),
        ("parallel", &parallel_scenes),
        ("own", &own_world_rows),
        ("empty", &empty_callbacks),
        ("startup", &startup),
        ("jobs", &tiny_jobs),
        ("latency", &latencies),
        ("find", &finds),
        ("queries", &queries),
        ("engine", &engine_functions),
        ("memory", &|_| memory()),
        ("profile", &profiled_frames),
        ("debug", &debugged_frames),
    ];
    // `-- --only NAME` runs one section (for profiling).
    for (name, section) in sections {
        if args.runs(name) {
            section(&sizes);
        }
    }
}
