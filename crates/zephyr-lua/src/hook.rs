//! A state's one hook. Lua keeps one hook function per thread, so the
//! budget's instruction count and the profiler's calls and returns share it:
//! this module sets the events the state needs and sends each to its owner.
//!
//! | events          | set when                 | goes to                          |
//! |-----------------|--------------------------|----------------------------------|
//! | count, every [`HOOK_STEP`] instructions | the state has a budget | [`ExecControl::tick`] |
//! | call, tail call, return | the state has a profiler | [`Recorder`], inside executions |
//!
//! The Lua built here counts the instructions of a count hook that is not
//! due inline, with or without call and return hooks beside it
//! (`vendor/lua-src/ZEPHYR.md`), so a profiled state keeps the budget's cheap
//! count. A state with neither gets no hook.

use std::sync::Arc;

use mlua::debug::DebugEvent;
use mlua::{HookTriggers, Lua, VmState};

use crate::budget::{ExecControl, HOOK_STEP};
use crate::profile::Recorder;

/// Sets the state's hook for its budget and its profiler (on the main
/// thread and every thread created after, coroutines included).
pub(crate) fn install(
    lua: &Lua,
    control: &Arc<ExecControl>,
    recorder: Option<Arc<Recorder>>,
) -> mlua::Result<()> {
    let control = control.clone();
    let counted = control.is_limited();
    match recorder {
        None if !counted => Ok(()),
        None => lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(HOOK_STEP),
            move |_lua, debug| control.tick(debug),
        ),
        Some(recorder) => {
            let mut triggers = HookTriggers::new().on_calls().on_returns();
            if counted {
                triggers = triggers.every_nth_instruction(HOOK_STEP);
            }
            let recorder_hook = lua.set_global_hook(triggers, move |_lua, debug| {
                match debug.event() {
                    DebugEvent::Count => return control.tick(debug),
                    // The runtime's own calls between executions (reload's
                    // captures) are not the scripts' time.
                    _ if !control.in_execution() => {}
                    DebugEvent::Call => recorder.call(debug, false),
                    DebugEvent::TailCall => recorder.call(debug, true),
                    DebugEvent::Ret => recorder.ret(debug),
                    _ => {}
                }
                Ok(VmState::Continue)
            });
            recorder_hook?;
            crate::trusted::hook_lua_functions_only(lua)
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
            crate::trusted::hook_lua_functions_only(&lua).expect("bit");
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
