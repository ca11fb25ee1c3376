//! Hot reload keeps a chunk's top-level locals: one variable shared by the
//! old and the new code, new initial values taken, dropped locals named;
//! and the `debug` library that does it stays out of every script's reach.

use mlua::{Function, Table, Value};
use zephyr_lua::{ScriptState, StateConfig};

fn state() -> ScriptState {
    ScriptState::new(&StateConfig::default(), |_, _| Ok(())).expect("state")
}

/// Runs `source` in `env` as a reloadable chunk; its capture.
fn run(state: &ScriptState, env: &Table, source: &str) -> Option<zephyr_lua::reload::Capture> {
    let chunk = state
        .compile_reloadable(source.as_bytes(), "mod.lua")
        .expect("compiles");
    state.run_reloadable(&chunk, env).expect("runs")
}

fn call(env: &Table, name: &str) -> String {
    let f: Function = env.raw_get(name).expect(name);
    f.call::<Value>(())
        .expect("call")
        .to_string()
        .expect("text")
}

const V1: &str = "
local count = 0
local speed = 2
local gone = 'old'
function bump() count = count + 1 return count end
function get() return count .. ' ' .. speed .. ' ' .. gone end
";

const V2: &str = "
local count = 0     -- unchanged initial value: kept
local speed = 4     -- changed: the new value
local added = 'new'
function get() return count .. ' ' .. speed .. ' ' .. added end
function get_old_style() return count end
";

#[test]
fn a_reload_keeps_locals_in_one_variable_shared_by_old_and_new_code() {
    let state = state();
    let env = state.new_env().expect("env");
    let old = run(&state, &env, V1).expect("captures");
    assert_eq!(old.names().collect::<Vec<_>>(), ["count", "speed", "gone"]);
    for _ in 0..3 {
        call(&env, "bump");
    }
    // An old closure still running somewhere (a task): the old `bump`.
    let old_bump: Function = env.raw_get("bump").expect("bump");
    let new = run(&state, &env, V2).expect("captures");
    let kept = state
        .keep_locals(Some(&old), Some(&new), &env)
        .expect("keeps");
    assert_eq!(kept.kept, ["count", "speed"]);
    assert_eq!(kept.renewed, ["speed"]);
    assert_eq!(kept.added, ["added"]);
    assert_eq!(kept.dropped, ["gone"]);
    assert_eq!(call(&env, "get"), "3 4 new");
    // One state, not two copies: the old closure counts into the variable
    // the new code reads.
    old_bump.call::<()>(()).expect("old bump");
    assert_eq!(call(&env, "get_old_style"), "4");
    assert_eq!(call(&env, "get"), "4 4 new");
    // A third version keeps the kept ones again (through the new capture).
    let third = run(&state, &env, V2).expect("captures");
    let again = state
        .keep_locals(Some(&new), Some(&third), &env)
        .expect("keeps");
    assert!(again.renewed.is_empty(), "{again:?}");
    assert_eq!(call(&env, "get"), "4 4 new");
}

#[test]
fn captures_keep_line_numbers_and_module_returns() {
    let state = state();
    let env = state.new_env().expect("env");
    // A module: its table is still the chunk's first value.
    let chunk = state
        .compile_reloadable(
            b"local n = 1\nlocal M = {}\nfunction M.f() return n end\nreturn M",
            "m.lua",
        )
        .expect("compiles");
    assert_eq!(chunk.captured(), ["n", "M"]);
    let values = state.run_chunk(chunk.chunk(), &env, ()).expect("runs");
    assert_eq!(values.len(), 2, "the module and its capture");
    // An error keeps its line.
    let chunk = state
        .compile_reloadable(b"local a = 1\n\nerror('line three')", "e.lua")
        .expect("compiles");
    let error = state.run_reloadable(&chunk, &env).unwrap_err();
    assert!(
        error.message.starts_with("e.lua:3: line three"),
        "{}",
        error.message
    );
    // A syntax error is the source's own, at its line.
    let error = state
        .compile_reloadable(b"local a = 1\nlocal = 2", "s.lua")
        .unwrap_err();
    assert!(error.message.contains("s.lua:2:"), "{}", error.message);
    // A last line that is a comment, `<const>` locals, no locals at all.
    let chunk = state
        .compile_reloadable(b"local a, b <const> = 1, 2 -- last", "c.lua")
        .expect("compiles");
    assert_eq!(chunk.captured(), ["a"]);
    let chunk = state
        .compile_reloadable(b"x = 1", "g.lua")
        .expect("compiles");
    assert!(chunk.captured().is_empty());
    // Latin-1 source: runs as written, captures nothing.
    let chunk = state
        .compile_reloadable(b"local s = '\xe9' return s", "l.lua")
        .expect("compiles");
    assert!(chunk.captured().is_empty());
}

#[test]
fn no_script_reaches_the_debug_library_reload_uses() {
    let state = state();
    let env = state.new_env().expect("env");
    // A table whose metamethods would run script code if the walk used
    // them: the walk reads raw.
    let hostile = "
        local count = 0
        trap = setmetatable({}, {
            __pairs = function() error('walked with pairs') end,
            __index = function() error('walked with index') end,
        })
        function bump() count = count + 1 return count end
    ";
    let old = run(&state, &env, hostile);
    call(&env, "bump");
    let new = run(&state, &env, hostile);
    state
        .keep_locals(old.as_ref(), new.as_ref(), &env)
        .expect("a raw walk");
    assert_eq!(call(&env, "bump"), "2");
    // After a reload, the safe profile's `debug` is still the safe one,
    // and nothing reachable from a script's environment is one of the
    // functions reload used.
    let probe = "
        local found = {}
        for _, name in ipairs({'getupvalue', 'setupvalue', 'upvaluejoin', 'upvalueid',
                               'getlocal', 'setlocal', 'sethook', 'getregistry', 'setmetatable'}) do
            if debug[name] ~= nil then found[#found + 1] = name end
        end
        local seen = {}
        local function walk(v, depth)
            if depth > 6 or seen[v] then return end
            seen[v] = true
            if type(v) == 'table' then
                for k, x in next, v do walk(k, depth + 1) walk(x, depth + 1) end
                local mt = getmetatable(v)
                if type(mt) == 'table' then walk(mt, depth + 1) end
            end
        end
        walk(_ENV, 0)
        return table.concat(found, ','), seen
    ";
    let values = state.execute(probe, "probe").expect("probe");
    assert_eq!(values[0].to_string(), "", "the safe debug library grew");
    let join_names: Vec<String> = ["getupvalue", "setupvalue", "upvaluejoin", "upvalueid"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    // The walk's own functions are not in the globals a script reads.
    let globals = state.lua().globals();
    for name in &join_names {
        assert!(
            matches!(globals.raw_get::<Value>(name.as_str()), Ok(Value::Nil)),
            "{name} leaked into the globals"
        );
    }
}

#[test]
fn a_local_holding_a_function_takes_the_new_code_and_a_table_stays() {
    let state = state();
    let env = state.new_env().expect("env");
    let v1 = "local items = {}\nlocal function describe() return 'old' end\n\
              function add(x) items[#items + 1] = x end\n\
              function get() return describe() .. ' ' .. #items end";
    let old = run(&state, &env, v1);
    let add: Function = env.raw_get("add").expect("add");
    add.call::<()>(1).expect("add");
    let v2 = v1.replace("'old'", "'new'");
    let new = run(&state, &env, &v2);
    let kept = state
        .keep_locals(old.as_ref(), new.as_ref(), &env)
        .expect("keeps");
    assert_eq!(kept.renewed, ["describe"]);
    assert_eq!(call(&env, "get"), "new 1", "new code, old table");
}

#[test]
fn a_function_held_only_by_a_local_shares_the_kept_locals() {
    // enemy.lua of the demo: the new `base` is reachable only through the
    // upvalue of the new wrapper, and must see the kept `alerted`.
    let state = state();
    let env = state.new_env().expect("env");
    let v1 = "local alerted = false\n\
              function on_update() if not alerted then alerted = true return 'saw' end return 'quiet' end\n\
              local base = on_update\n\
              function on_update() return base() end";
    let old = run(&state, &env, v1);
    assert_eq!(call(&env, "on_update"), "saw");
    let new = run(&state, &env, v1);
    state
        .keep_locals(old.as_ref(), new.as_ref(), &env)
        .expect("keeps");
    assert_eq!(call(&env, "on_update"), "quiet");
}
