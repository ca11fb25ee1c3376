//! Lua's count hook, as built here (`vendor/lua-src` counts a hook that is
//! not due inline, see its ZEPHYR.md), fires on exactly the instructions
//! stock Lua's does: the budget's stops depend on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mlua::debug::DebugEvent;
use mlua::{HookTriggers, Lua, VmState};

/// Loops, calls into Lua and C functions, closures, varargs and a
/// metamethod. (No coroutine: each thread keeps its own count, so a hook
/// every `k` instructions fires per thread.)
const PROGRAM: &str = r#"
local function add(a, b) return a + b end
local function sum(...)
  local s = 0
  for _, v in ipairs({...}) do s = add(s, v) end
  return s
end
local mt = { __add = function(a, b) return a.v + b.v end }
local total = 0
for i = 1, 200 do
  total = total + sum(i, i * 2, i % 7)
  total = total + (setmetatable({ v = i }, mt) + setmetatable({ v = 1 }, mt))
  local name = string.format("n%d", i)
  total = total + #name
end
local i = 0
while i < 50 do i = i + 1 end
return total + i
"#;

/// How many times a hook every `step` instructions fires while `PROGRAM`
/// runs (compiled before the hook is set, so only execution counts).
fn hook_calls(step: u32) -> u64 {
    count_events(HookTriggers::new().every_nth_instruction(step))
}

/// How many count events a hook with `triggers` sees while `PROGRAM` runs.
fn count_events(triggers: HookTriggers) -> u64 {
    let lua = Lua::new();
    let program = lua.load(PROGRAM).into_function().expect("compiles");
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    lua.set_global_hook(triggers, move |_, debug| {
        if debug.event() == DebugEvent::Count {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        Ok(VmState::Continue)
    })
    .expect("hook");
    let result: i64 = program.call(()).expect("runs");
    assert!(result > 0);
    lua.remove_global_hook();
    calls.load(Ordering::Relaxed)
}

#[test]
fn a_count_hook_fires_once_every_step_instructions_as_stock_lua_s() {
    // A step of 1 is never counted inline (the count is always due), so it
    // counts every instruction through stock Lua's own path.
    let instructions = hook_calls(1);
    assert!(instructions > 10_000, "{instructions} instructions");
    for step in [2, 3, 7, 64, 1000, 4096] {
        assert_eq!(
            hook_calls(step),
            instructions / u64::from(step),
            "a hook every {step} instructions over {instructions} instructions"
        );
    }
}

#[test]
fn call_and_return_hooks_beside_it_do_not_move_the_count() {
    // The profiler's mask: count, call and return. The patch counts inline
    // for it too; the count events land where they land without the others.
    let instructions = hook_calls(1);
    for step in [1, 7, 1000] {
        assert_eq!(
            count_events(
                HookTriggers::new()
                    .every_nth_instruction(step)
                    .on_calls()
                    .on_returns()
            ),
            instructions / u64::from(step),
            "a hook every {step} instructions, with call and return hooks"
        );
    }
}
