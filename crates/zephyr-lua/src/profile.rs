//! The profiler: where a run's Lua time goes, per function (self time,
//! total time, calls) and per call stack, across every state that was built
//! with it; and the labels scripts put around their own sections of code.
//!
//! A [`Profiler`] is given to each state through
//! [`StateConfig::profiler`](crate::StateConfig::profiler). The state's hook
//! (the one hook, shared with the budget) then sees every call and return of
//! a Lua function and keeps, per state, a shadow of the Lua call stack with
//! a clock reading per frame. [`Profiler::report`] merges the states' records
//! into a [`Report`]: a table of functions and the collapsed stacks that
//! flame-graph tools read.
//!
//! What it measures, and what it does not:
//!
//! * Functions written in Lua. A function written in C or Rust (the engine's
//!   API, `string.format`) is not a frame of its own: its time is the self
//!   time of the Lua function that called it.
//! * Wall time on the thread that ran the code, read at each call and return.
//!   A worker's time is its own thread's: the functions of a parallel phase
//!   add up to more than the phase took.
//! * Frames an error unwinds (Lua raises no return event for them) end when
//!   a function below them returns or when the execution ends; until then,
//!   functions called after a caught error are shown under them. A
//!   coroutine's frames end the same way once it yields; after it resumes,
//!   its functions count again from their next call. Self time, total time
//!   and calls per function are unaffected by both; only the stacks are.
//! * Labels ([`begin_label`]/[`finish_label`]) are frames too, named
//!   `[label] name`; a label still open when its execution ends is closed
//!   there.
//!
//! Cost: two hook calls per Lua function call (a call and a return), each a
//! crossing into Rust and a clock reading; C functions still raise the hooks
//! and return at once. BENCHMARKS.md has the figures. A state built without
//! a profiler has no call or return hook at all.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mlua::debug::Debug;
use mlua::{Lua, Value};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;

/// Records where the Lua time of every state built with it goes. Cloning it
/// shares the recording.
///
/// ```
/// use zephyr_lua::profile::Profiler;
/// use zephyr_lua::{ScriptState, StateConfig};
///
/// let profiler = Profiler::new();
/// let config = StateConfig { profiler: Some(profiler.clone()), ..StateConfig::default() };
/// let state = ScriptState::new(&config, |_, _| Ok(()))?;
/// state.execute(
///     "local function hot(n) local s = 0 for i = 1, n do s = s + i end return s end
///      local function cold() return 1 end
///      for _ = 1, 50 do hot(2000); cold() end",
///     "example",
/// )?;
/// let report = profiler.report();
/// let top = &report.by_self_time()[0];
/// assert_eq!((top.name.as_str(), top.calls), ("hot", 50));
///
/// // Collapsed stacks, one `frame;frame;frame N` line each (N in microseconds).
/// let mut stacks = Vec::new();
/// report.write_collapsed(&mut stacks)?;
/// assert!(String::from_utf8(stacks)?.contains("main chunk (example);hot (example:1) "));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct Profiler {
    recorders: Arc<Mutex<Vec<Arc<Recorder>>>>,
}

impl std::fmt::Debug for Profiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profiler")
            .field("states", &self.recorders.lock().len())
            .finish()
    }
}

/// Two configurations are equal when they share one recording.
impl PartialEq for Profiler {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.recorders, &other.recorders)
    }
}

impl Profiler {
    /// A profiler with nothing recorded.
    pub fn new() -> Self {
        Profiler::default()
    }

    /// A recorder for one more state; `wrapped_chunks` for a state whose
    /// chunks run through a factory (the safe profile).
    pub(crate) fn recorder(&self, wrapped_chunks: bool) -> Arc<Recorder> {
        let recorder = Arc::new(Recorder {
            recording: Mutex::new(Recording {
                wrapped_chunks,
                ..Recording::default()
            }),
        });
        self.recorders.lock().push(recorder.clone());
        recorder
    }

    /// What every state has recorded so far, merged. Frames still running
    /// (an execution in progress on another thread) are not in it.
    pub fn report(&self) -> Report {
        let mut merged = Merge::default();
        for recorder in self.recorders.lock().iter() {
            merged.add(&recorder.recording.lock());
        }
        merged.finish()
    }
}

/// One function's (or label's) share of the time.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionTime {
    /// The function's name where it was first seen called (`on_update`,
    /// `step`), `main chunk`, `function` when Lua knows no name, or the
    /// label's name.
    pub name: String,
    /// Where it is defined: `scripts/enemy.lua:12` (the chunk's name for a
    /// main chunk, `label` for a label).
    pub place: String,
    /// How many times it was called (a label: begun).
    pub calls: u64,
    /// Time in the function itself, and in the C and Rust functions it
    /// called, not in the Lua functions it called.
    pub self_time: Duration,
    /// Time from its calls to their returns (recursive calls counted once).
    pub total_time: Duration,
}

impl FunctionTime {
    /// The frame's text in collapsed stacks: `name (place)`, or
    /// `[label] name`.
    pub fn frame(&self) -> String {
        frame_text(&self.name, &self.place)
    }
}

/// [`FunctionTime::frame`] of a function or label named `name` at `place`.
fn frame_text(name: &str, place: &str) -> String {
    let text = if place == LABEL_PLACE {
        format!("[label] {name}")
    } else {
        format!("{name} ({place})")
    };
    // `;` separates frames and a line ends a stack.
    text.replace(';', ":").replace(['\n', '\r'], " ")
}

const LABEL_PLACE: &str = "label";

/// A merged recording: the functions and the stacks their time was spent in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Every function and label seen, in no particular order.
    pub functions: Vec<FunctionTime>,
    /// Each distinct stack (outermost frame first, as [`FunctionTime::frame`]
    /// texts) with the self time of its innermost frame.
    pub stacks: Vec<(Vec<String>, Duration)>,
}

impl Report {
    /// The functions, most self time first (ties: more calls, then name).
    pub fn by_self_time(&self) -> Vec<&FunctionTime> {
        let mut functions: Vec<&FunctionTime> = self.functions.iter().collect();
        functions.sort_by(|a, b| {
            b.self_time
                .cmp(&a.self_time)
                .then(b.calls.cmp(&a.calls))
                .then(a.name.cmp(&b.name))
        });
        functions
    }

    /// Writes the collapsed stacks: one `outer;inner;innermost N` line per
    /// stack, N the innermost frame's self time in whole microseconds
    /// (stacks under a microsecond are left out), sorted by stack. The
    /// format `flamegraph.pl`, `inferno-flamegraph` and speedscope read.
    /// Returns how many lines it wrote.
    pub fn write_collapsed(&self, out: &mut impl io::Write) -> io::Result<usize> {
        let mut lines: Vec<(String, u128)> = self
            .stacks
            .iter()
            .map(|(frames, time)| (frames.join(";"), time.as_micros()))
            .filter(|(_, micros)| *micros > 0)
            .collect();
        lines.sort();
        for (stack, micros) in &lines {
            writeln!(out, "{stack} {micros}")?;
        }
        Ok(lines.len())
    }

    /// The `count` functions with the most self time, as a table for people.
    pub fn summary(&self, count: usize) -> String {
        let functions = self.by_self_time();
        let total: Duration = functions.iter().map(|f| f.self_time).sum();
        let mut text = String::from("   self ms  share   total ms      calls  function\n");
        for function in functions.iter().take(count) {
            let share = if total.is_zero() {
                0.0
            } else {
                100.0 * function.self_time.as_secs_f64() / total.as_secs_f64()
            };
            let _ = writeln!(
                text,
                "{:>10.3} {:>5.1}% {:>10.3} {:>10}  {}",
                function.self_time.as_secs_f64() * 1e3,
                share,
                function.total_time.as_secs_f64() * 1e3,
                function.calls,
                function.frame()
            );
        }
        text.pop();
        text
    }
}

/// One state's recording, written by its hook (and its labels) on the
/// thread that runs the state; locked per event, never contended but by
/// [`Profiler::report`].
pub(crate) struct Recorder {
    recording: Mutex<Recording>,
}

#[derive(Default)]
struct Recording {
    functions: Vec<Function>,
    /// A Lua function by where its source name lives and the line it is
    /// defined on (the pointer is checked against the source's text, so a
    /// chunk collected and another loaded at its address is not mistaken).
    by_address: FxHashMap<(usize, usize, usize), u32>,
    /// Safe-profile chunks run as the body of a factory (`chunk.rs`): the
    /// factory is not a frame (see [`binding`]), the body is the main chunk.
    wrapped_chunks: bool,
    /// A function by its place and the line it ends on; a label by its
    /// name.
    by_key: FxHashMap<String, u32>,
    /// The call tree: node 0 is the root; a node is a function under its
    /// parent node.
    nodes: Vec<Node>,
    children: FxHashMap<(u32, u32), u32>,
    stack: Vec<Frame>,
}

/// A Lua function's name when no call names it.
const UNNAMED: &str = "function";

/// How many more calls of a nameless function look for a name.
const NAME_TRIES: u8 = 16;

struct Function {
    key: String,
    /// Calls left that may still name it (see [`NAME_TRIES`]).
    name_tries: u8,
    name: String,
    place: String,
    /// The chunk's short name, to check an address hit.
    chunk: String,
    calls: u64,
    self_time: Duration,
    total_time: Duration,
    /// Activations on the stack now (recursion counts total time once).
    active: u32,
}

struct Node {
    function: u32,
    parent: u32,
    self_time: Duration,
}

struct Frame {
    function: u32,
    node: u32,
    started: Instant,
    /// Time spent in the frames it called.
    in_callees: Duration,
    label: bool,
}

/// What a hook's call or return event says about the function.
enum Seen {
    /// A function written in C or Rust: not profiled.
    Native,
    Lua(u32),
}

impl Recorder {
    /// A call of the function `debug` describes (a tail call replaces the
    /// frame it came from).
    pub(crate) fn call(&self, lua: &Lua, debug: &Debug<'_>, tail: bool) {
        let mut recording = self.recording.lock();
        let seen = recording.identify(lua, debug);
        if !tail && matches!(seen, Seen::Native) {
            return;
        }
        let now = Instant::now();
        // A tail call replaces the caller's frame, whatever it calls (the
        // safe profile's `pcall` ends in a tail call of the C one).
        if tail && recording.stack.last().is_some_and(|frame| !frame.label) {
            recording.close_top(now);
        }
        if let Seen::Lua(function) = seen {
            recording.push(function, false, now);
        }
    }

    /// A return from the function `debug` describes: its frame ends, and
    /// any frame still above it (unwound by an error, or a label left open).
    pub(crate) fn ret(&self, lua: &Lua, debug: &Debug<'_>) {
        let mut recording = self.recording.lock();
        let Seen::Lua(function) = recording.identify(lua, debug) else {
            return;
        };
        let now = Instant::now();
        if let Some(at) = recording
            .stack
            .iter()
            .rposition(|frame| frame.function == function && !frame.label)
        {
            while recording.stack.len() > at {
                recording.close_top(now);
            }
        }
    }

    /// The outermost execution ended: every frame ends.
    pub(crate) fn execution_ended(&self) {
        let now = Instant::now();
        let mut recording = self.recording.lock();
        while !recording.stack.is_empty() {
            recording.close_top(now);
        }
    }

    fn begin_label(&self, name: &str) {
        let now = Instant::now();
        let mut recording = self.recording.lock();
        let function = recording.function_at(
            format!("[label] {name}"),
            LABEL_PLACE.to_owned(),
            name.to_owned(),
            String::new(),
        );
        recording.push(function, true, now);
    }

    /// Ends the innermost open label, and any frame above it.
    fn finish_label(&self) {
        let now = Instant::now();
        let mut recording = self.recording.lock();
        if let Some(at) = recording.stack.iter().rposition(|frame| frame.label) {
            while recording.stack.len() > at {
                recording.close_top(now);
            }
        }
    }
}

impl Recording {
    fn identify(&mut self, lua: &Lua, debug: &Debug<'_>) -> Seen {
        if BINDING.get() {
            return Seen::Native;
        }
        // C functions' events come only on threads mlua made (the VM skips
        // them elsewhere, see `trusted::set_hook_bits`).
        let source = debug.source();
        if source.what == "C" {
            return Seen::Native;
        }
        let line = source.line_defined.unwrap_or(0);
        let last = source.last_line_defined.unwrap_or(0);
        let chunk = source.short_src.as_deref().unwrap_or("?");
        let address = crate::chunk::chunk_key(source.source.as_ref());
        if let Some(&id) = self.by_address.get(&(address, line, last))
            && self.functions[id as usize].chunk == chunk
        {
            let function = &mut self.functions[id as usize];
            if function.name_tries > 0 {
                // Nameless where first seen (a tail call, a call from C):
                // a later call site may name it.
                function.name_tries -= 1;
                if let Some(name) = call_site_name(lua, debug) {
                    function.name = name;
                    function.name_tries = 0;
                }
            }
            return Seen::Lua(id);
        }
        let name = match source.what {
            "main" => None,
            _ => function_name(lua, debug, line == 1 && self.wrapped_chunks),
        };
        let (key, place, name) = match name {
            Some(name) => {
                let place = format!("{chunk}:{line}");
                // Two functions that start on one line are told apart by
                // the line they end on; two on one line are one here.
                (format!("{place}-{last}"), place, name)
            }
            None => (chunk.to_owned(), chunk.to_owned(), "main chunk".to_owned()),
        };
        let id = self.function_at(key, place, name, chunk.to_owned());
        self.by_address.insert((address, line, last), id);
        Seen::Lua(id)
    }

    /// The function (or label) known by `key`, added as `name` at `place`
    /// if new (the name is the first one seen).
    fn function_at(&mut self, key: String, place: String, name: String, chunk: String) -> u32 {
        if let Some(&id) = self.by_key.get(&key) {
            return id;
        }
        let id = self.functions.len() as u32;
        self.functions.push(Function {
            key: key.clone(),
            name_tries: if name == UNNAMED { NAME_TRIES } else { 0 },
            name,
            place,
            chunk,
            calls: 0,
            self_time: Duration::ZERO,
            total_time: Duration::ZERO,
            active: 0,
        });
        self.by_key.insert(key, id);
        id
    }

    fn push(&mut self, function: u32, label: bool, now: Instant) {
        if self.nodes.is_empty() {
            self.nodes.push(Node {
                function: u32::MAX,
                parent: 0,
                self_time: Duration::ZERO,
            });
        }
        let parent = self.stack.last().map_or(0, |frame| frame.node);
        let next = self.nodes.len() as u32;
        let node = *self.children.entry((parent, function)).or_insert(next);
        if node == next {
            self.nodes.push(Node {
                function,
                parent,
                self_time: Duration::ZERO,
            });
        }
        let entry = &mut self.functions[function as usize];
        entry.calls += 1;
        entry.active += 1;
        self.stack.push(Frame {
            function,
            node,
            started: now,
            in_callees: Duration::ZERO,
            label,
        });
    }

    fn close_top(&mut self, now: Instant) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let elapsed = now.saturating_duration_since(frame.started);
        let own = elapsed.saturating_sub(frame.in_callees);
        let function = &mut self.functions[frame.function as usize];
        function.self_time += own;
        function.active -= 1;
        if function.active == 0 {
            function.total_time += elapsed;
        }
        self.nodes[frame.node as usize].self_time += own;
        if let Some(caller) = self.stack.last_mut() {
            caller.in_callees += elapsed;
        }
    }
}

/// The name Lua knows the called function by (`local step`, `obj:move`), or
/// the name it has in its environment (a behaviour's `on_update`, called
/// from Rust, has no calling instruction to name it), or `function`; `None`
/// for a chunk's body (`maybe_body`: it starts on line 1, and the factory's
/// `function(...)` takes no named parameter and has no name).
fn function_name(lua: &Lua, debug: &Debug<'_>, maybe_body: bool) -> Option<String> {
    if let Some(name) = call_site_name(lua, debug) {
        return Some(name);
    }
    let function = debug.function();
    if let Some(env) = function.environment() {
        for (key, value) in env.pairs::<Value, Value>().flatten() {
            if let (Value::String(key), Value::Function(f)) = (&key, &value)
                && f == &function
            {
                return Some(key.to_string_lossy());
            }
        }
    }
    let stack = debug.stack();
    if maybe_body && stack.is_vararg && stack.num_params == 0 {
        return None;
    }
    Some(UNNAMED.to_owned())
}

/// The name the calling instruction gives the called function, unless a
/// script's function is called by the runtime's own Lua (`=zephyr.*`): the
/// task scheduler calls every task's function `fn`, which names none of
/// them.
pub(crate) fn call_site_name(lua: &Lua, debug: &Debug<'_>) -> Option<String> {
    let name = debug.names().name?.into_owned();
    let runtime = crate::chunk::is_runtime_chunk;
    if runtime(debug.source().source.as_deref()) {
        return Some(name);
    }
    let runtime_caller = lua
        .inspect_stack(1, |caller| runtime(caller.source().source.as_deref()))
        .unwrap_or(false);
    (!runtime_caller).then_some(name)
}

/// The recordings of many states as one report.
#[derive(Default)]
struct Merge {
    functions: Vec<FunctionTime>,
    by_key: HashMap<String, usize>,
    stacks: HashMap<Vec<String>, Duration>,
}

impl Merge {
    fn add(&mut self, recording: &Recording) {
        for function in &recording.functions {
            let at = *self.by_key.entry(function.key.clone()).or_insert_with(|| {
                self.functions.push(FunctionTime {
                    name: function.name.clone(),
                    place: function.place.clone(),
                    calls: 0,
                    self_time: Duration::ZERO,
                    total_time: Duration::ZERO,
                });
                self.functions.len() - 1
            });
            let merged = &mut self.functions[at];
            merged.calls += function.calls;
            merged.self_time += function.self_time;
            merged.total_time += function.total_time;
        }
        let texts: Vec<String> = recording
            .functions
            .iter()
            .map(|function| frame_text(&function.name, &function.place))
            .collect();
        for (index, node) in recording.nodes.iter().enumerate().skip(1) {
            if node.self_time.is_zero() {
                continue;
            }
            let mut frames = Vec::new();
            let mut at = index;
            while at != 0 {
                let node = &recording.nodes[at];
                frames.push(texts[node.function as usize].clone());
                at = node.parent as usize;
            }
            frames.reverse();
            *self.stacks.entry(frames).or_default() += node.self_time;
        }
    }

    fn finish(self) -> Report {
        let mut stacks: Vec<(Vec<String>, Duration)> = self.stacks.into_iter().collect();
        stacks.sort();
        Report {
            functions: self.functions,
            stacks,
        }
    }
}

thread_local! {
    /// Whether the thread is binding a chunk to an environment.
    static BINDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `bind` (a chunk factory's call, `chunk.rs`) as no frame of the
/// profile: the factory's few instructions are the runtime's, and the body
/// it returns is the chunk's main function.
pub(crate) fn binding<T>(bind: impl FnOnce() -> T) -> T {
    let before = BINDING.replace(true);
    let result = bind();
    BINDING.set(before);
    result
}

/// Begins a label named `name` in the execution running on `lua`: a frame
/// of its own in the profile (`[label] name`) until [`finish_label`], and a
/// span in the `tracing` output (`--trace`). Labels nest; those still open
/// when the outermost execution ends end there.
pub fn begin_label(lua: &Lua, name: &str) {
    if let Some(labels) = lua.app_data_ref::<Arc<Labels>>() {
        labels.begin(name);
    }
}

/// Ends the innermost label [`begin_label`] began in this execution;
/// `false` when none is open.
pub fn finish_label(lua: &Lua) -> bool {
    lua.app_data_ref::<Arc<Labels>>()
        .is_some_and(|labels| labels.finish())
}

/// A state's open labels (their spans, entered on the thread running the
/// state) and its recorder. Shared by the state's app data (for the label
/// functions) and its execution control (to end them with the execution).
pub(crate) struct Labels {
    open: Mutex<Vec<tracing::Span>>,
    /// How many are open: read at the end of every execution, without the
    /// lock.
    count: AtomicUsize,
    recorder: Option<Arc<Recorder>>,
}

impl std::fmt::Debug for Labels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Labels")
            .field("open", &self.count.load(Ordering::Relaxed))
            .field("profiled", &self.recorder.is_some())
            .finish()
    }
}

impl Labels {
    pub(crate) fn new(recorder: Option<Arc<Recorder>>) -> Self {
        Labels {
            open: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
            recorder,
        }
    }

    fn begin(&self, name: &str) {
        let span = tracing::info_span!("profile label", label = name);
        span.with_subscriber(|(id, dispatch)| dispatch.enter(id));
        self.open.lock().push(span);
        self.count.fetch_add(1, Ordering::Relaxed);
        if let Some(recorder) = &self.recorder {
            recorder.begin_label(name);
        }
    }

    fn finish(&self) -> bool {
        let Some(span) = self.open.lock().pop() else {
            return false;
        };
        self.count.fetch_sub(1, Ordering::Relaxed);
        span.with_subscriber(|(id, dispatch)| dispatch.exit(id));
        if let Some(recorder) = &self.recorder {
            recorder.finish_label();
        }
        true
    }

    /// The outermost execution ended: open labels and frames end with it.
    pub(crate) fn execution_ended(&self) {
        if self.count.load(Ordering::Relaxed) > 0 {
            while self.finish() {}
        }
        if let Some(recorder) = &self.recorder {
            recorder.execution_ended();
        }
    }
}
