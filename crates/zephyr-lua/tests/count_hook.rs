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

/// Where the count changes hands: errors raised and caught (in Lua and in
/// C), C functions that call back into Lua, counted pattern functions
/// (which charge the count themselves), `__index` and `__lt` functions,
/// tail calls, varargs, and full collections. (No finalizer: Lua runs
/// them with hooks off but counting, so a count event that falls due in
/// one is lost, and which events are lost depends on the step.)
const HANDOVERS: &str = r##"
local function fails(n) if n % 3 == 0 then error("no " .. n) end return n end
local function tail(n) if n == 0 then return 0 end return tail(n - 1) end
local function va(...) return select("#", ...) end
local lazy = setmetatable({}, { __index = function(t, k) return k * 2 end })
local Box = {}
Box.__lt = function(a, b) return a.v < b.v end
local total = 0
for i = 1, 60 do
  local ok, v = pcall(fails, i)
  total = total + (ok and v or 1)
  ok = pcall(function() local t = nil; return t.x end)
  total = total + tail(i % 5) + va(i, i, i) + lazy[i]
  local s = string.rep("ab", 30) .. i
  total = total + (s:find("b(a)b%d") or 0)
  total = total + #s:gsub("a", function(c) return c .. c end)
  local list = { setmetatable({ v = i % 4 }, Box), setmetatable({ v = 2 }, Box), setmetatable({ v = 1 }, Box) }
  table.sort(list, function(a, b) return a < b end)
  total = total + list[1].v
  if i % 20 == 0 then collectgarbage() end
end
return total
"##;

/// The line of each count event while `program` runs with a hook every
/// `step` instructions.
fn count_lines(program: &str, step: u32) -> Vec<usize> {
    let lua = Lua::new();
    let program = lua.load(program).into_function().expect("compiles");
    let lines = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let into = lines.clone();
    lua.set_global_hook(
        HookTriggers::new().every_nth_instruction(step),
        move |_, debug| {
            if debug.event() == DebugEvent::Count {
                into.lock().push(debug.current_line().unwrap_or(0));
            }
            Ok(VmState::Continue)
        },
    )
    .expect("hook");
    let total: i64 = program.call(()).expect("runs");
    assert!(total > 0);
    lua.remove_global_hook();
    lines.lock().clone()
}

#[test]
fn every_count_event_lands_on_the_instruction_stock_lua_s_does() {
    // A step of 1 is stock Lua's own path: one event per instruction.
    let every = count_lines(HANDOVERS, 1);
    assert!(every.len() > 10_000, "{} instructions", every.len());
    for step in [2, 5, 64, 997] {
        let expected: Vec<usize> = every.iter().skip(step - 1).step_by(step).copied().collect();
        let got = count_lines(HANDOVERS, step as u32);
        let first = got.iter().zip(&expected).position(|(a, b)| a != b);
        assert_eq!(
            got,
            expected,
            "a hook every {step} instructions: {} events, {} expected, first difference at {first:?}",
            got.len(),
            expected.len()
        );
    }
}
