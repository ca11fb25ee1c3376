//! A state's one hook. Lua keeps one hook function per thread, so the
//! budget's instruction count, the profiler's calls and returns and the
//! debugger's calls, returns and lines share it: this module sets the events
//! the state needs and sends each to its owner.
//!
//! | events          | set when                 | goes to                          |
//! |-----------------|--------------------------|----------------------------------|
//! | count, every [`HOOK_STEP`] instructions | the state has a budget or a debugger | [`ExecControl::tick`]; the debugger (pause, evaluations' own budget) |
//! | call, tail call of Lua functions | the state has a profiler or a debugger | [`Recorder`] (inside executions), the debugger |
//! | return of Lua functions | the state has a profiler, or lines are on | [`Recorder`], the debugger |
//! | line | a function of a file with breakpoints runs, or a step or pause is on | the debugger |
//! | error (Zephyr's `LUA_HOOKERROR`), where an error is raised | the state has a debugger | the debugger |
//!
//! The Lua built here counts the instructions of a count hook that is not
//! due inline, with or without call and return hooks beside it, and raises
//! no call or return hook for C functions when asked
//! (`vendor/lua-src/ZEPHYR.md`): a profiled or debugged state keeps the
//! budget's cheap count, and crosses into Rust only at Lua functions' calls
//! and returns. A state with none of the three gets no hook.

use std::sync::{Arc, Weak};

use mlua::debug::{Debug, DebugEvent};
use mlua::{HookTriggers, Lua, VmState};

use crate::budget::{ExecControl, HOOK_STEP};
use crate::debugger::{Lines, StateDebugger};
use crate::profile::Recorder;

/// Sets the state's hook for its budget, its profiler and its debugger (on
/// the main thread and every thread created after, coroutines included).
pub(crate) fn install(
    lua: &Lua,
    control: &Arc<ExecControl>,
    recorder: Option<Arc<Recorder>>,
    debugger: Option<Arc<StateDebugger>>,
) -> mlua::Result<()> {
    let counted = control.is_limited() || debugger.is_some();
    if recorder.is_none() && debugger.is_none() {
        if !counted {
            return Ok(());
        }
        let control = control.clone();
        return lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(HOOK_STEP),
            move |lua, debug| control.tick(lua, debug),
        );
    }
    // Returns are the profiler's always; the debugger's only while a
    // function of a file with breakpoints runs or a step is on (with lines).
    let mut base = HookTriggers::new().on_calls();
    if recorder.is_some() {
        base = base.on_returns();
    }
    if counted {
        base = base.every_nth_instruction(HOOK_STEP);
    }
    let dispatch = Arc::new_cyclic(|me| Dispatch {
        control: control.clone(),
        recorder,
        debugger,
        base,
        me: me.clone(),
    });
    dispatch.set(lua, false)
}

/// The hook of a profiled or debugged state.
struct Dispatch {
    control: Arc<ExecControl>,
    recorder: Option<Arc<Recorder>>,
    debugger: Option<Arc<StateDebugger>>,
    base: HookTriggers,
    me: Weak<Dispatch>,
}

impl Dispatch {
    /// Sets the hook on the running thread, with or without lines (and the
    /// returns the debugger follows while lines are on).
    fn set(self: &Arc<Self>, lua: &Lua, lines: bool) -> mlua::Result<()> {
        let triggers = if lines {
            self.base.on_returns().every_line()
        } else {
            self.base
        };
        let me = self.clone();
        lua.set_global_hook(triggers, move |lua, debug| me.event(lua, debug))?;
        crate::trusted::set_hook_bits(lua, self.debugger.is_some())
    }

    fn event(&self, lua: &Lua, debug: &Debug<'_>) -> mlua::Result<VmState> {
        let event = debug.event();
        let debugger = self.debugger.as_deref();
        if event == DebugEvent::Count {
            if let Some(debugger) = debugger {
                if debugger.is_evaluating() {
                    return debugger.charge_evaluation();
                }
                self.lines(lua, event, debugger.count())?;
            }
            return self.control.tick(lua, debug);
        }
        if let Some(recorder) = &self.recorder
            && self.control.in_execution()
            && !debugger.is_some_and(StateDebugger::is_evaluating)
        {
            match event {
                DebugEvent::Call => recorder.call(lua, debug, false),
                DebugEvent::TailCall => recorder.call(lua, debug, true),
                DebugEvent::Ret => recorder.ret(lua, debug),
                _ => {}
            }
        }
        if let Some(debugger) = debugger {
            let lines = match event {
                DebugEvent::Call | DebugEvent::TailCall => debugger.call(debug),
                DebugEvent::Ret => debugger.ret(lua, debug),
                DebugEvent::Line => debugger.line(lua, debug)?,
                DebugEvent::Unknown(crate::trusted::LUA_HOOKERROR) => debugger.error(lua),
                _ => Lines::Keep,
            };
            self.lines(lua, event, lines)?;
        }
        Ok(VmState::Continue)
    }

    /// Turns the running thread's line hook on or off, as the debugger
    /// decided.
    fn lines(&self, lua: &Lua, event: DebugEvent, lines: Lines) -> mlua::Result<()> {
        let Some(me) = self.me.upgrade() else {
            return Ok(());
        };
        match (lines, event) {
            (Lines::Keep, _) | (Lines::On, DebugEvent::Line) => Ok(()),
            (Lines::On, _) => me.set(lua, true),
            (Lines::Off, _) => me.set(lua, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use mlua::debug::DebugEvent;
    use mlua::{HookTriggers, Lua, VmState};
    use parking_lot::Mutex;

    /// The call and return events a hook sees while `code` runs: `(event,
    /// what)`, `what` being `Lua`, `main` or `C`.
    fn events(code: &str, lua_only: bool) -> Vec<(DebugEvent, String)> {
        let lua = Lua::new();
        let function = lua.load(code).into_function().expect("compiles");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = seen.clone();
        lua.set_global_hook(
            HookTriggers::new().on_calls().on_returns(),
            move |_, debug| {
                let what = debug.source().what.to_owned();
                into.lock().push((debug.event(), what));
                Ok(VmState::Continue)
            },
        )
        .expect("hook");
        if lua_only {
            crate::trusted::set_hook_bits(&lua, false).expect("bit");
        }
        // Only the code's events (setting the bit is a C call of its own).
        seen.lock().clear();
        function.call::<()>(()).expect("runs");
        lua.remove_global_hook();
        seen.lock().clone()
    }

    const CODE: &str = "
        local function add(a, b) return a + b end
        local function tail(n) if n == 0 then return 0 end return tail(n - 1) end
        local t = {}
        for i = 1, 3 do t[#t + 1] = add(i, 1) end
        table.sort(t, function(a, b) return a > b end)
        tail(2)
        local co = coroutine.wrap(function() coroutine.yield(add(1, 2)) end)
        co() co()
        return string.format('%d', add(1, 1))";

    #[test]
    fn the_lua_only_bit_drops_c_functions_events_and_nothing_else() {
        let all = events(CODE, false);
        let lua_only = events(CODE, true);
        assert!(all.iter().any(|(_, what)| what == "C"), "{all:?}");
        let without_c: Vec<_> = all.into_iter().filter(|(_, what)| what != "C").collect();
        assert_eq!(lua_only, without_c);
        // Calls and returns of Lua functions still pair up (tail calls
        // share one return), coroutines included.
        let calls = lua_only
            .iter()
            .filter(|(e, _)| matches!(e, DebugEvent::Call))
            .count();
        assert!(calls > 10, "{lua_only:?}");
    }
}
