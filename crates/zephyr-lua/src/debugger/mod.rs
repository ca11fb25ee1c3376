//! The debugger: line breakpoints (with conditions, hit counts and log
//! messages), stepping and pausing in every state built with it, and what a
//! stopped thread shows (its stack, each frame's locals, upvalues and
//! globals, expressions evaluated in a frame).
//!
//! It knows no protocol: a host (the `zephyr dap` adapter) gives a
//! [`Controller`], which is called on the thread that stopped, inspects it
//! through the [`Stop`] it is handed, and says how to go on.
//!
//! How it finds where to stop, cheaply (`hook.rs` sends it the events):
//!
//! * Call and return hooks of Lua functions (C functions raise none, see
//!   `trusted::hook_lua_functions_only`) tell it when a function of a file
//!   with breakpoints starts and ends; while one is on a stack the thread
//!   also gets a line hook, and each line is looked up. Code in files
//!   without breakpoints runs with the call hook only.
//! * Stepping and pausing turn the line hook on for every thread at its next
//!   call, or at its next count event (every thousand instructions: a loop
//!   without calls is paused too).
//! * While stopped, and while an expression is evaluated, the script's
//!   budget does not count: the instructions a stopped thread runs are the
//!   debugger's (an evaluation has a budget of its own).

mod inspect;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use mlua::debug::Debug;
use mlua::{Lua, VmState};
use parking_lot::{Mutex, RwLock};
use rustc_hash::FxHashMap;

pub use inspect::{Frame, Scope, Stop, Variable};

/// A line breakpoint as a client sets it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Breakpoint {
    /// The line (1-based) it stops on.
    pub line: u32,
    /// Stop only when this Lua expression, evaluated in the frame, is true
    /// (neither `nil` nor `false`).
    pub condition: Option<String>,
    /// Stop only on hits that satisfy this: `N` or `== N` (the N-th hit),
    /// `>= N` (from the N-th on), `> N`, `% N` (every N-th).
    pub hit_condition: Option<String>,
    /// Instead of stopping, log this message, `{expression}`s replaced by
    /// their values in the frame.
    pub log_message: Option<String>,
}

/// Why a thread stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum StopReason {
    /// Before the first line of Lua the run executes (`stop_on_entry`).
    Entry,
    /// At a breakpoint of this line.
    Breakpoint(u32),
    /// A step ended.
    Step,
    /// The host asked to pause.
    Pause,
    /// A script error was raised (the message).
    Exception(String),
}

/// How a stopped thread goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Until the next breakpoint.
    Continue,
    /// To the next line, entering calls.
    StepIn,
    /// To the next line of this function (or of its caller, once it returns).
    StepOver,
    /// To the next line of the caller.
    StepOut,
}

/// The host's side of a debugging session.
pub trait Controller: Send + Sync {
    /// A thread stopped: inspect it through `stop` and return how it goes
    /// on. Called on the stopped thread, one stop at a time; the thread's
    /// Lua state runs nothing else meanwhile.
    fn stopped(&self, stop: &mut Stop<'_>) -> Resume;

    /// A logpoint's message, and where it was (`file:line`).
    fn log(&self, message: &str, place: &str);
}

/// Turns a chunk name (`scripts/enemy.lua`, as Lua knows the file) into the
/// file it was read from, for breakpoints set by path; `None` for a chunk
/// that is no file.
pub type Resolver = dyn Fn(&str) -> Option<PathBuf> + Send + Sync;

/// A debugging session's state, shared by every state built with it.
/// Cloning it shares the session.
#[derive(Clone)]
pub struct Debugger {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Debugger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Debugger")
            .field("files", &self.shared.breakpoints.read().len())
            .finish()
    }
}

/// Two configurations are equal when they share one session.
impl PartialEq for Debugger {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

struct Shared {
    controller: Arc<dyn Controller>,
    resolve: Box<Resolver>,
    /// Breakpoints by file (canonical path), with their hit counts.
    breakpoints: RwLock<HashMap<PathBuf, Arc<FileBreakpoints>>>,
    /// Bumped when breakpoints change: each state's cache of which chunk
    /// has them is stale.
    generation: AtomicU64,
    /// The next line any thread runs stops (pause, stop on entry).
    pause: AtomicBool,
    entry: AtomicBool,
    /// Which raised errors stop: those a `pcall` catches too, those none
    /// does.
    caught_errors: AtomicBool,
    uncaught_errors: AtomicBool,
    /// A step in progress.
    step: Mutex<Option<Step>>,
    stepping: AtomicBool,
    /// One stop at a time: a second thread that hits a breakpoint waits.
    stopping: Mutex<()>,
}

pub(crate) struct FileBreakpoints {
    lines: Vec<(Breakpoint, AtomicU64)>,
}

impl FileBreakpoints {
    fn at(&self, line: u32) -> Option<&(Breakpoint, AtomicU64)> {
        self.lines.iter().find(|(b, _)| b.line == line)
    }
}

#[derive(Debug, Clone, Copy)]
struct Step {
    kind: Resume,
    /// The Lua thread it started on, and the stack depth there.
    thread: usize,
    depth: usize,
    /// The frame it started in returned: the next line anywhere ends it.
    fell_through: bool,
}

impl Debugger {
    /// A session whose stops go to `controller`; `resolve` maps chunk names
    /// to files (see [`Resolver`]).
    pub fn new(
        controller: Arc<dyn Controller>,
        resolve: impl Fn(&str) -> Option<PathBuf> + Send + Sync + 'static,
    ) -> Self {
        Debugger {
            shared: Arc::new(Shared {
                controller,
                resolve: Box::new(resolve),
                breakpoints: RwLock::new(HashMap::new()),
                generation: AtomicU64::new(0),
                pause: AtomicBool::new(false),
                entry: AtomicBool::new(false),
                caught_errors: AtomicBool::new(false),
                uncaught_errors: AtomicBool::new(false),
                step: Mutex::new(None),
                stepping: AtomicBool::new(false),
                stopping: Mutex::new(()),
            }),
        }
    }

    /// Replaces the breakpoints of `file` (compared by canonical path).
    pub fn set_breakpoints(&self, file: &Path, breakpoints: Vec<Breakpoint>) {
        let file = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
        let mut all = self.shared.breakpoints.write();
        if breakpoints.is_empty() {
            all.remove(&file);
        } else {
            let lines = breakpoints
                .into_iter()
                .map(|b| (b, AtomicU64::new(0)))
                .collect();
            all.insert(file, Arc::new(FileBreakpoints { lines }));
        }
        self.shared.generation.fetch_add(1, Ordering::Release);
    }

    /// Which script errors stop where they are raised, with
    /// [`StopReason::Exception`]: `uncaught` ones (no `pcall` of the script
    /// catches them), and `caught` ones too. (On the main thread, an
    /// `xpcall` with a message handler counts as not catching.) Needs the
    /// patched Lua: see [`errors_supported`].
    pub fn stop_on_errors(&self, uncaught: bool, caught: bool) {
        self.shared
            .uncaught_errors
            .store(uncaught, Ordering::Release);
        self.shared.caught_errors.store(caught, Ordering::Release);
    }

    /// The next line of Lua any thread runs stops, with [`StopReason::Pause`].
    pub fn pause(&self) {
        self.shared.pause.store(true, Ordering::Release);
    }

    /// The first line of Lua the run executes stops, with
    /// [`StopReason::Entry`].
    pub fn stop_on_entry(&self) {
        self.shared.entry.store(true, Ordering::Release);
    }

    /// A state's side of the session, for its hook.
    pub(crate) fn attach(&self) -> Arc<StateDebugger> {
        Arc::new(StateDebugger {
            shared: self.shared.clone(),
            cache: Mutex::new(Cache::default()),
            active: AtomicU64::new(0),
            evaluating: AtomicBool::new(false),
            evaluated: AtomicU64::new(0),
            inspector: Mutex::new(None),
        })
    }
}

impl Shared {
    /// Whether every thread should look at its lines: a pause, a stop on
    /// entry or a step is on.
    fn wants_lines(&self) -> bool {
        self.pause.load(Ordering::Acquire)
            || self.entry.load(Ordering::Acquire)
            || self.stepping.load(Ordering::Acquire)
    }
}

/// One state's part of a session: which of its chunks have breakpoints,
/// and how many functions of theirs are running.
pub(crate) struct StateDebugger {
    shared: Arc<Shared>,
    cache: Mutex<Cache>,
    /// Calls of functions of files with breakpoints that have not returned
    /// (an error that unwinds them leaves this high: lines are then hooked
    /// longer than needed, never shorter).
    active: AtomicU64,
    /// An expression is being evaluated for a stop or a condition: the
    /// hook leaves it alone but for its own budget.
    evaluating: AtomicBool,
    /// The instructions the evaluation ran (see
    /// [`inspect::EVALUATION_BUDGET`]).
    evaluated: AtomicU64,
    /// The inspection helpers, made on the first stop.
    inspector: Mutex<Option<inspect::Inspector>>,
}

#[derive(Default)]
struct Cache {
    generation: u64,
    /// By where Lua keeps a chunk's name: its breakpoints, if any.
    chunks: FxHashMap<usize, Option<Arc<FileBreakpoints>>>,
}

/// What the hook should do with the thread's line hook after an event.
pub(crate) enum Lines {
    Keep,
    On,
    Off,
}

impl StateDebugger {
    /// The breakpoints of the chunk the function at `debug` belongs to.
    fn breakpoints_of(&self, debug: &Debug<'_>) -> Option<Arc<FileBreakpoints>> {
        let source = debug.source();
        if source.what == "C" {
            return None;
        }
        let address = crate::chunk::chunk_key(source.source.as_ref());
        let generation = self.shared.generation.load(Ordering::Acquire);
        let mut cache = self.cache.lock();
        if cache.generation != generation {
            cache.chunks.clear();
            cache.generation = generation;
        }
        if address != 0
            && let Some(found) = cache.chunks.get(&address)
        {
            return found.clone();
        }
        let found = source.short_src.as_deref().and_then(|chunk| {
            let file = (self.shared.resolve)(chunk)?;
            let file = std::fs::canonicalize(&file).unwrap_or(file);
            self.shared.breakpoints.read().get(&file).cloned()
        });
        if address != 0 {
            cache.chunks.insert(address, found.clone());
        }
        found
    }

    /// A call event: a function of a file with breakpoints turns lines on.
    pub(crate) fn call(&self, debug: &Debug<'_>) -> Lines {
        if self.evaluating.load(Ordering::Relaxed) {
            return Lines::Keep;
        }
        if self.breakpoints_of(debug).is_some() {
            self.active.fetch_add(1, Ordering::Relaxed);
            return Lines::On;
        }
        if self.shared.wants_lines() {
            return Lines::On;
        }
        Lines::Keep
    }

    /// A return event: the last running function of files with
    /// breakpoints ends, lines go off (unless a step or pause wants them).
    pub(crate) fn ret(&self, lua: &Lua, debug: &Debug<'_>) -> Lines {
        if self.evaluating.load(Ordering::Relaxed) {
            return Lines::Keep;
        }
        if self.shared.stepping.load(Ordering::Acquire) {
            let mut step = self.shared.step.lock();
            if let Some(step) = step.as_mut()
                && step.thread == thread_id(lua)
                && depth(lua) <= step.depth
            {
                step.fell_through = true;
            }
            return Lines::On;
        }
        // Only a function of a file with breakpoints counted itself in: with
        // none running, a return costs no lookup.
        let before = self.active.load(Ordering::Relaxed);
        if before > 0 && self.breakpoints_of(debug).is_some() {
            self.active.store(before - 1, Ordering::Relaxed);
            if before == 1 && !self.shared.wants_lines() {
                // The last one returned: back to calls only.
                return Lines::Off;
            }
        }
        Lines::Keep
    }

    /// Whether the count events are an evaluation's (charged to its own
    /// budget, not the script's).
    pub(crate) fn is_evaluating(&self) -> bool {
        self.evaluating.load(Ordering::Relaxed)
    }

    /// A count event during an evaluation.
    pub(crate) fn charge_evaluation(&self) -> mlua::Result<VmState> {
        inspect::charge_evaluation(&self.evaluated).map(|()| VmState::Continue)
    }

    /// A count event: a pause or a step reaches loops without calls, and
    /// breakpoints set since this state last looked reach a function that
    /// is already running (its lines are looked at from here on; its next
    /// line event turns them off again if its file has none).
    pub(crate) fn count(&self) -> Lines {
        let changed =
            self.cache.lock().generation != self.shared.generation.load(Ordering::Acquire);
        if changed || self.shared.wants_lines() {
            Lines::On
        } else {
            Lines::Keep
        }
    }

    /// A line event: stop here?
    pub(crate) fn line(&self, lua: &Lua, debug: &Debug<'_>) -> mlua::Result<Lines> {
        if self.evaluating.load(Ordering::Relaxed) {
            return Ok(Lines::Keep);
        }
        let Some(line) = debug.current_line() else {
            return Ok(Lines::Keep);
        };
        let line = line as u32;
        let shared = &self.shared;
        let mut reason = None;
        if is_runtime_code(debug) {
            // The runtime's own Lua (`=zephyr.*` chunks: the sandbox, tasks,
            // events) is not the script's: steps and pauses go through it.
        } else if shared.entry.swap(false, Ordering::AcqRel) {
            reason = Some(StopReason::Entry);
        } else if shared.pause.swap(false, Ordering::AcqRel) {
            reason = Some(StopReason::Pause);
        } else if shared.stepping.load(Ordering::Acquire) && self.step_ends(lua) {
            reason = Some(StopReason::Step);
        }
        let breakpoints = self.breakpoints_of(debug);
        if reason.is_none()
            && let Some(file) = &breakpoints
            && let Some((breakpoint, hits)) = file.at(line)
            && self.breakpoint_hit(lua, breakpoint, hits, debug)?
        {
            reason = Some(StopReason::Breakpoint(line));
        }
        if let Some(reason) = reason {
            self.stop(lua, reason);
        }
        let wanted = breakpoints.is_some()
            || self.active.load(Ordering::Relaxed) > 0
            || self.shared.wants_lines();
        Ok(if wanted { Lines::Keep } else { Lines::Off })
    }

    /// An error is being raised: stop here, if the filters say so.
    pub(crate) fn error(&self, lua: &Lua) -> Lines {
        let error: mlua::Value = lua
            .named_registry_value(ERROR_KEY)
            .unwrap_or(mlua::Value::Nil);
        let caught: bool = lua.named_registry_value(CAUGHT_KEY).unwrap_or(false);
        let _ = lua.unset_named_registry_value(ERROR_KEY);
        if self.evaluating.load(Ordering::Relaxed) {
            return Lines::Keep;
        }
        let wanted = if caught {
            self.shared.caught_errors.load(Ordering::Acquire)
        } else {
            self.shared.uncaught_errors.load(Ordering::Acquire)
        };
        // A halt (the budget's, a host's) is not the script's error.
        let halted = lua
            .app_data_ref::<Arc<crate::budget::ExecControl>>()
            .is_some_and(|control| control.is_halted());
        // An error the runtime's own Lua raises with no script on the stack
        // (the task scheduler passing a task's error on) stopped already,
        // where the script raised it.
        if wanted && !halted && script_on_stack(lua) {
            let message = match &error {
                mlua::Value::String(s) => s.to_string_lossy(),
                // The engine's errors (Rust's, as mlua raises them): their own
                // text. Never a script's `__tostring`: it would run inside the
                // hook, where no budget stops it.
                mlua::Value::UserData(_) => error
                    .to_string()
                    .map(|text| crate::script_error::root_message(lua, &mlua::Error::runtime(text)))
                    .unwrap_or_else(|_| "an error".to_owned()),
                other => format!(
                    "a {} error object ({})",
                    other.type_name(),
                    inspect::plain(other)
                ),
            };
            self.stop(lua, StopReason::Exception(message));
        }
        Lines::Keep
    }

    fn step_ends(&self, lua: &Lua) -> bool {
        let step = *self.shared.step.lock();
        let Some(step) = step else {
            return false;
        };
        if step.fell_through {
            return true;
        }
        match step.kind {
            Resume::StepIn => true,
            Resume::StepOver => thread_id(lua) == step.thread && depth(lua) <= step.depth,
            Resume::StepOut => thread_id(lua) == step.thread && depth(lua) < step.depth,
            Resume::Continue => false,
        }
    }

    /// A breakpoint's condition, hit count and log message: whether it
    /// stops.
    fn breakpoint_hit(
        &self,
        lua: &Lua,
        breakpoint: &Breakpoint,
        hits: &AtomicU64,
        debug: &Debug<'_>,
    ) -> mlua::Result<bool> {
        if let Some(condition) = &breakpoint.condition {
            let holds = self
                .with_inspector(lua, |inspector| inspector.condition(lua, condition))
                .unwrap_or(false);
            if !holds {
                return Ok(false);
            }
        }
        let hit = hits.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(rule) = &breakpoint.hit_condition
            && !hit_matches(rule, hit)
        {
            return Ok(false);
        }
        if let Some(message) = &breakpoint.log_message {
            let text = self
                .with_inspector(lua, |inspector| inspector.interpolate(lua, message))
                .unwrap_or_else(|| message.clone());
            let place = format!(
                "{}:{}",
                debug.source().short_src.as_deref().unwrap_or("?"),
                breakpoint.line
            );
            self.shared.controller.log(&text, &place);
            return Ok(false);
        }
        Ok(true)
    }

    fn with_inspector<T>(&self, lua: &Lua, f: impl FnOnce(&inspect::Inspector) -> T) -> Option<T> {
        let mut slot = self.inspector.lock();
        if slot.is_none() {
            *slot = inspect::Inspector::new(lua).ok();
        }
        let inspector = slot.as_ref()?;
        self.evaluated.store(0, Ordering::Relaxed);
        self.evaluating.store(true, Ordering::Relaxed);
        let result = f(inspector);
        self.evaluating.store(false, Ordering::Relaxed);
        Some(result)
    }

    /// Stops the thread: the controller inspects it, then says how to go on.
    fn stop(&self, lua: &Lua, reason: StopReason) {
        let _one_at_a_time = self.shared.stopping.lock();
        let Some(resume) = self.with_inspector(lua, |inspector| {
            let mut stop = Stop::new(lua, inspector, reason);
            self.shared.controller.stopped(&mut stop)
        }) else {
            return;
        };
        let mut step = self.shared.step.lock();
        *step = match resume {
            Resume::Continue => None,
            kind => Some(Step {
                kind,
                thread: thread_id(lua),
                depth: depth(lua),
                fell_through: false,
            }),
        };
        self.shared
            .stepping
            .store(step.is_some(), Ordering::Release);
    }
}

/// Whether the `hit`-th hit satisfies a hit condition (`5` and `== 5`: the
/// fifth; `>= 5`, `> 5`, `% 5`); one that does not parse never holds.
fn hit_matches(rule: &str, hit: u64) -> bool {
    let rule = rule.trim();
    let (op, number) = ["%", ">=", ">", "==", "="]
        .iter()
        .find_map(|op| rule.strip_prefix(op).map(|rest| (*op, rest)))
        .unwrap_or(("==", rule));
    let Ok(n) = number.trim().parse::<u64>() else {
        return false;
    };
    match op {
        "%" => n > 0 && hit.is_multiple_of(n),
        ">" => hit > n,
        "==" | "=" => hit == n,
        _ => hit >= n,
    }
}

/// Whether the Lua this build links raises Zephyr's error hook: it is the
/// patched Lua of `vendor/lua-src` (Zephyr's own workspace, or an engine
/// whose workspace patches `lua-src` the same way: EMBEDDING.md). Without
/// it, [`Debugger::stop_on_errors`] has nothing to stop on (everything else
/// works). Found out once, by raising an error under the hook.
pub fn errors_supported() -> bool {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        let lua = Lua::new();
        let seen = Arc::new(AtomicBool::new(false));
        let flag = seen.clone();
        let hooked = lua.set_global_hook(mlua::HookTriggers::new().on_calls(), move |_, debug| {
            if debug.event() == mlua::debug::DebugEvent::Unknown(crate::trusted::LUA_HOOKERROR) {
                flag.store(true, Ordering::Relaxed);
            }
            Ok(VmState::Continue)
        });
        if hooked.is_err() || crate::trusted::set_hook_bits(&lua, true).is_err() {
            return false;
        }
        let _ = lua.load("pcall(error, 'probe')").exec();
        seen.load(Ordering::Relaxed)
    })
}

/// Where the VM's error hook leaves the error object and whether a `pcall`
/// will catch it (`vendor/lua-src/ZEPHYR.md`, the third change).
const ERROR_KEY: &str = "zephyr.error";
const CAUGHT_KEY: &str = "zephyr.error_caught";

/// Whether the function at `debug` is the runtime's own Lua.
fn is_runtime_code(debug: &Debug<'_>) -> bool {
    crate::chunk::is_runtime_chunk(debug.source().source.as_deref())
}

/// Whether any function on the running thread's stack is a script's (not
/// C, not the runtime's `=zephyr.*` chunks).
fn script_on_stack(lua: &Lua) -> bool {
    (0..)
        .map_while(|level| {
            lua.inspect_stack(level, |debug| {
                let source = debug.source();
                source.what != "C" && !crate::chunk::is_runtime_chunk(source.source.as_deref())
            })
        })
        .any(|script| script)
}

/// The running Lua thread, as an address (coroutines told apart).
fn thread_id(lua: &Lua) -> usize {
    lua.current_thread().to_pointer() as usize
}

/// How many functions are on the running thread's stack.
fn depth(lua: &Lua) -> usize {
    let mut level = 0;
    while lua.inspect_stack(level, |_| ()).is_some() {
        level += 1;
    }
    level
}

#[cfg(test)]
mod tests {
    use super::hit_matches;

    #[test]
    fn this_workspace_builds_the_lua_that_raises_the_error_hook() {
        assert!(super::errors_supported());
    }

    #[test]
    fn hit_conditions_read_as_editors_write_them() {
        assert!(!hit_matches("3", 2));
        assert!(hit_matches("3", 3) && !hit_matches("3", 4));
        assert!(hit_matches(">= 3", 3) && !hit_matches(">=3", 2));
        assert!(hit_matches("> 3", 4) && !hit_matches(">3", 3));
        assert!(hit_matches("== 3", 3) && !hit_matches("==3", 4));
        assert!(hit_matches("%2", 4) && !hit_matches("% 2", 3));
        assert!(!hit_matches("% 0", 4));
        assert!(!hit_matches("often", 1));
    }
}
