//! The instruction budget: a count hook that stops an execution once it has
//! run its share of VM instructions, and the halt that `pcall` cannot
//! swallow (also used to stop a worker script that needs the main thread).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use std::sync::Arc;

use mlua::{Lua, MultiValue, VmState};
use parking_lot::Mutex;

use crate::profile::Labels;
use crate::script_error::{BudgetExceeded, ScriptError, ScriptErrorKind};
use crate::value::ScriptValue;

/// Why a host halted an execution (see [`halt`]).
pub type HaltReason = std::sync::Arc<dyn std::error::Error + Send + Sync>;

/// The default per-execution instruction budget: 50 million Lua VM
/// instructions, roughly a tenth to half a second of pure Lua on a desktop CPU.
pub const DEFAULT_INSTRUCTION_BUDGET: u64 = 50_000_000;

/// The default memory limit of one Lua state: 64 MiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 64 * 1024 * 1024;

/// What a script may use before it is stopped: one group of settings, so
/// that hosts pass and compare limits as one value.
///
/// ```
/// use zephyr_lua::{Limits, StateConfig};
///
/// // A modding host: a tighter budget, the default memory limit.
/// let config = StateConfig {
///     limits: Limits { instructions: 1_000_000, ..Limits::default() },
///     ..StateConfig::default()
/// };
/// assert_eq!(config.limits.memory, zephyr_lua::DEFAULT_MEMORY_LIMIT);
/// assert_eq!(Limits::NONE.instructions, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most VM instructions one execution (a script, a callback, a
    /// handler call) may run before it is stopped with an error; `0` turns
    /// the budget off. Default: [`DEFAULT_INSTRUCTION_BUDGET`].
    pub instructions: u64,
    /// The most bytes the state may allocate; `0` turns the limit off.
    /// Default: [`DEFAULT_MEMORY_LIMIT`].
    pub memory: usize,
}

impl Limits {
    /// No budget and no memory limit: for trusted scripts and benchmarks.
    pub const NONE: Limits = Limits {
        instructions: 0,
        memory: 0,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            instructions: DEFAULT_INSTRUCTION_BUDGET,
            memory: DEFAULT_MEMORY_LIMIT,
        }
    }
}

/// The registry field where a counted pattern function names itself before
/// it runs the count hook (`vendor/lua-src/lua-5.4.9/lstrlib.c`).
const STEPS_OF_KEY: &str = "zephyr.steps_of";

/// How often (in VM instructions) the budget hook runs.
pub(crate) const HOOK_STEP: u32 = 1000;

/// Why the current execution was halted.
#[derive(Debug, Clone)]
pub(crate) enum Halt {
    Budget(BudgetExceeded),
    /// The host's reason (a worker job that must move to the main thread).
    Host(HaltReason),
}

impl Halt {
    fn to_lua_error(&self) -> mlua::Error {
        match self {
            Halt::Budget(e) => mlua::Error::external(e.clone()),
            Halt::Host(reason) => mlua::Error::ExternalError(reason.clone()),
        }
    }
}

/// Per-state execution control: the instruction counter, the nesting depth of
/// executions, and the halt flag. Shared with the hook and, as app data, with
/// the bindings. Only the thread running the state touches the count and the
/// depth (executions and hooks run under the state's lock), so they are
/// relaxed loads and stores, not locked read-modify-writes: an execution
/// enters and leaves on every callback.
#[derive(Debug)]
pub(crate) struct ExecControl {
    used: AtomicU64,
    limit: u64,
    depth: AtomicU32,
    /// Whether `halt` is set: read on every hook tick and every execution,
    /// so the mutex is only taken once something halted.
    halted: AtomicBool,
    halt: Mutex<Option<Halt>>,
    /// Labels and the profiler's frames end with the outermost execution.
    labels: Arc<Labels>,
}

impl ExecControl {
    /// Control for executions of at most `budget` instructions (0: no limit).
    pub(crate) fn new(budget: u64, labels: Arc<Labels>) -> Self {
        ExecControl {
            labels,
            used: AtomicU64::new(0),
            limit: if budget == 0 { u64::MAX } else { budget },
            depth: AtomicU32::new(0),
            halted: AtomicBool::new(false),
            halt: Mutex::new(None),
        }
    }

    /// Whether an execution is running on the state.
    pub(crate) fn in_execution(&self) -> bool {
        self.depth.load(Ordering::Relaxed) > 0
    }

    /// Whether executions have a budget (a count hook to enforce it).
    pub(crate) fn is_limited(&self) -> bool {
        self.limit != u64::MAX
    }

    /// Halts the execution (the first halt stands): the error that stops it.
    fn set_halt(&self, halt: Halt) -> mlua::Error {
        let err = halt.to_lua_error();
        let mut slot = self.halt.lock();
        if slot.is_none() {
            *slot = Some(halt);
        }
        self.halted.store(true, Ordering::Release);
        err
    }

    /// The error of the halt in force, if the execution was halted.
    fn halted_error(&self) -> Option<mlua::Error> {
        if !self.is_halted() {
            return None;
        }
        self.halt.lock().as_ref().map(Halt::to_lua_error)
    }

    /// Halts the execution for running past its budget at `location`.
    fn over_budget(&self, location: String) -> mlua::Error {
        self.set_halt(Halt::Budget(BudgetExceeded {
            budget: self.limit,
            location,
        }))
    }

    /// The count hook: charges [`HOOK_STEP`] instructions, and stops the
    /// execution past the budget or once halted.
    ///
    /// The hook also fires inside the string library's counted pattern
    /// functions (`vendor/lua-src`'s fourth change), which charge their
    /// matching steps to the count: there the stop names the script's line
    /// and the function, as [`ExecControl::charge`] does.
    pub(crate) fn tick(&self, lua: &Lua, debug: &mlua::debug::Debug) -> mlua::Result<VmState> {
        if let Some(err) = self.halted_error() {
            return Err(err);
        }
        let used = self.used.fetch_add(u64::from(HOOK_STEP), Ordering::Relaxed);
        if used < self.limit {
            return Ok(VmState::Continue);
        }
        let source = debug.source();
        let location = match debug.current_line() {
            Some(line) => format!("{}:{line}: ", source.short_src.as_deref().unwrap_or("?")),
            None => match lua.named_registry_value::<Option<String>>(STEPS_OF_KEY) {
                Ok(Some(function)) => format!("{}{function}: ", script_place(lua)),
                _ => String::new(),
            },
        };
        Err(self.over_budget(location))
    }

    /// Charges `steps` of work done inside a Rust function (the pattern
    /// matcher) to the budget; past it, halts the execution as the hook
    /// would, naming `function`.
    pub(crate) fn charge(&self, lua: &Lua, steps: u64, function: &str) -> mlua::Result<()> {
        if self.limit == u64::MAX {
            return Ok(());
        }
        if let Some(err) = self.halted_error() {
            return Err(err);
        }
        let used = self
            .used
            .fetch_add(steps, Ordering::Relaxed)
            .saturating_add(steps);
        if used < self.limit {
            return Ok(());
        }
        Err(self.over_budget(format!("{}{function}: ", script_place(lua))))
    }

    /// Halts the current execution for the host's `reason`.
    fn host_halt(&self, reason: HaltReason) -> mlua::Error {
        self.set_halt(Halt::Host(reason))
    }

    /// The host's reason for halting the last execution, if it did.
    pub(crate) fn host_halt_reason(&self) -> Option<HaltReason> {
        match &*self.halt.lock() {
            Some(Halt::Host(reason)) => Some(reason.clone()),
            _ => None,
        }
    }

    pub(crate) fn is_halted(&self) -> bool {
        self.halted.load(Ordering::Acquire)
    }

    /// Starts an execution: the outermost one resets the count and the halt.
    fn enter(&self) -> DepthGuard<'_> {
        let depth = self.depth.load(Ordering::Relaxed);
        self.depth.store(depth + 1, Ordering::Relaxed);
        if depth == 0 {
            self.used.store(0, Ordering::Relaxed);
            // A load first: the swap (a locked write) only when something
            // halted, not on every callback.
            if self.halted.load(Ordering::Acquire) && self.halted.swap(false, Ordering::AcqRel) {
                *self.halt.lock() = None;
            }
        }
        DepthGuard(self)
    }

    /// The script error for a failed execution: the halt, if any, says what
    /// really happened (the script may have replaced the error value in
    /// xpcall's handler).
    fn error(&self, lua: &Lua, err: &mlua::Error, chunk: &str) -> ScriptError {
        let mut error = ScriptError::from_lua_in(lua, err, chunk);
        if self.is_halted()
            && let Some(Halt::Budget(budget)) = &*self.halt.lock()
        {
            error.kind = ScriptErrorKind::BudgetExceeded;
            error.message = budget.to_string();
        }
        if error.kind == ScriptErrorKind::OutOfMemory {
            let _ = lua.gc_collect();
        }
        if let Some(text) = crate::script_error::described_error_table(lua, &error.message) {
            error.message = text;
        }
        if let Some(note) = crate::script_error::refusal_note(lua, &error.message) {
            error.message = format!("{} ({note})", error.message);
        }
        error
    }

    /// Runs `body` as one budgeted execution, converting errors and panics.
    /// Nested executions (a handler called from inside a script) share the
    /// outermost execution's budget.
    pub(crate) fn run<T>(
        &self,
        lua: &Lua,
        chunk: &str,
        body: impl FnOnce() -> mlua::Result<T>,
    ) -> std::result::Result<T, ScriptError> {
        let guard = self.enter();
        let result = catch_unwind(AssertUnwindSafe(body));
        drop(guard);
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(self.error(lua, &err, chunk)),
            Err(payload) => Err(ScriptError::panic(chunk, payload.as_ref())),
        }
    }

    /// [`run`](Self::run) for a body returning Lua values, copied out.
    pub(crate) fn run_values(
        &self,
        lua: &Lua,
        chunk: &str,
        body: impl FnOnce() -> mlua::Result<MultiValue>,
    ) -> std::result::Result<Vec<ScriptValue>, ScriptError> {
        self.run(lua, chunk, body)
            .map(|values| values.iter().map(ScriptValue::from_lua).collect())
    }
}

/// `file:line: ` of the nearest script line on the stack (not a C function,
/// not the runtime's own `=zephyr.*` chunks), or nothing.
fn script_place(lua: &Lua) -> String {
    for level in 1.. {
        let Some(place) = lua.inspect_stack(level, |frame| {
            let line = frame.current_line()?;
            let source = frame.source();
            if crate::chunk::is_runtime_chunk(source.source.as_deref()) {
                return None;
            }
            Some(format!("{}:{line}: ", source.short_src.as_deref()?))
        }) else {
            break;
        };
        if let Some(place) = place {
            return place;
        }
    }
    String::new()
}

struct DepthGuard<'a>(&'a ExecControl);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        let depth = self.0.depth.load(Ordering::Relaxed);
        self.0.depth.store(depth - 1, Ordering::Relaxed);
        if depth == 1 {
            self.0.labels.execution_ended();
        }
    }
}

/// Halts the execution running on `lua` for the host's `reason`, as the
/// budget does: `pcall`, `xpcall` and coroutines cannot swallow it, and the
/// execution ends with this error. The host reads the reason back with
/// [`ScriptState::halt_reason`](crate::ScriptState::halt_reason) (a worker
/// job that called a main-thread-only function is halted so, and runs
/// again on the main thread). Returns the error to raise.
pub fn halt(lua: &Lua, reason: impl std::error::Error + Send + Sync + 'static) -> mlua::Error {
    match lua.app_data_ref::<std::sync::Arc<ExecControl>>() {
        Some(control) => control.host_halt(std::sync::Arc::new(reason)),
        None => mlua::Error::external(reason),
    }
}

/// Runs `body` on `lua` as one budgeted execution named `label` (a console
/// command's Lua handler, called from Rust): the same budget, halts and
/// errors as a script's. Nested in a running execution, it shares that
/// execution's budget.
pub fn run_budgeted<T>(
    lua: &Lua,
    label: &str,
    body: impl FnOnce() -> mlua::Result<T>,
) -> std::result::Result<T, ScriptError> {
    let control = lua
        .app_data_ref::<std::sync::Arc<ExecControl>>()
        .map(|c| std::sync::Arc::clone(&c));
    match control {
        Some(control) => control.run(lua, label, body),
        None => body().map_err(|e| ScriptError::from_lua_in(lua, &e, label)),
    }
}
