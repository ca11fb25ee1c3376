//! The functions of the Lua API that are not registry bindings: written in
//! Lua (`zephyr.task`, `zephyr.events.on`/`off`) or installed beside the
//! registry (`zephyr.events.emit`/`send`). Declared here, once, for the
//! docs and the editor definitions; a test checks each exists in a state.

/// A function declared for the docs and editor definitions only: its
/// parameters and returns are written as LuaLS types.
#[derive(Debug)]
pub struct ScriptedFunction {
    /// The table it lives in.
    pub module: &'static str,
    /// Its name in that table.
    pub name: &'static str,
    /// Parameters as (name, LuaLS type); a name ending in `?` is optional,
    /// `...` takes any number of values.
    pub params: &'static [(&'static str, &'static str)],
    /// Returns as (name, LuaLS type).
    pub returns: &'static [(&'static str, &'static str)],
    /// One line of documentation.
    pub doc: &'static str,
    /// Whether it runs on the main thread only (in a worker job or a
    /// parallel behaviour it fails naming itself).
    pub main_thread_only: bool,
}

impl ScriptedFunction {
    /// `module.name`.
    pub fn path(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

const fn s(
    module: &'static str,
    name: &'static str,
    params: &'static [(&'static str, &'static str)],
    returns: &'static [(&'static str, &'static str)],
    doc: &'static str,
) -> ScriptedFunction {
    ScriptedFunction {
        module,
        name,
        params,
        returns,
        doc,
        main_thread_only: true,
    }
}

/// A scripted function that also runs on the workers.
const fn anywhere(function: ScriptedFunction) -> ScriptedFunction {
    ScriptedFunction {
        main_thread_only: false,
        ..function
    }
}

const TASK: &[(&str, &str)] = &[("task", "zephyr.Task")];

/// Tasks and events (see `docs/SCRIPTING.md`). Tasks and subscriptions
/// live on the main thread: in a worker job or a parallel behaviour they
/// fail naming themselves; `emit` and `send` work anywhere (from a worker,
/// the event travels with the job's other writes).
pub static SCRIPTED: &[ScriptedFunction] = &[
    s(
        "zephyr.task",
        "spawn",
        &[("fn", "fun(...: any)"), ("...", "any")],
        TASK,
        "Starts a task and runs it at once, until its first wait; it belongs to the calling behaviour and ends with it.",
    ),
    s(
        "zephyr.task",
        "wait",
        &[("seconds?", "number")],
        &[("waited", "number")],
        "Inside a task: waits that much game time (0 or nil: until the next frame's task step); returns the time waited.",
    ),
    s(
        "zephyr.task",
        "wait_frames",
        &[("n?", "integer")],
        &[],
        "Inside a task: waits n frames (default 1).",
    ),
    s(
        "zephyr.task",
        "delay",
        &[
            ("seconds", "number"),
            ("fn", "fun(...: any)"),
            ("...", "any"),
        ],
        TASK,
        "Calls fn(...) in a task after that much game time.",
    ),
    s(
        "zephyr.task",
        "every",
        &[
            ("seconds", "number"),
            ("fn", "fun(...: any): boolean?"),
            ("...", "any"),
        ],
        TASK,
        "Calls fn(...) every `seconds` until it returns false or the task is cancelled.",
    ),
    s(
        "zephyr.task",
        "cancel",
        &[("task", "zephyr.Task")],
        &[("was_alive", "boolean")],
        "Ends a task; true if it was alive. A task can cancel itself.",
    ),
    s(
        "zephyr.task",
        "status",
        &[("task", "zephyr.Task")],
        &[("status", "zephyr.TaskStatus")],
        "\"running\", \"waiting\", \"done\", \"cancelled\" or \"failed\".",
    ),
    s(
        "zephyr.events",
        "on",
        &[("name", "string"), ("fn", "fun(...: any)")],
        &[("subscription", "zephyr.Subscription")],
        "Calls fn(...) with the values of every `name` event, delivered after the frame's sync point; ends with the calling behaviour.",
    ),
    s(
        "zephyr.events",
        "off",
        &[("subscription", "zephyr.Subscription")],
        &[("was_active", "boolean")],
        "Ends a subscription; true if it was active.",
    ),
    anywhere(s(
        "zephyr.events",
        "emit",
        &[("name", "string"), ("...", "any")],
        &[],
        "Queues an event for the `on` handlers of `name` and for the engine; values are copied (nil, booleans, numbers, strings, tables of them).",
    )),
    anywhere(s(
        "zephyr.events",
        "send",
        &[("entity", "entity"), ("name", "string"), ("...", "any")],
        &[],
        "Queues a message for the entity's behaviours: their on_message(self, name, ...); an entity that does not exist is an error.",
    )),
];
