//! The sandbox: what safe scripts can and cannot reach, clean states,
//! instruction budgets and memory limits.

use std::path::PathBuf;

use zephyr_lua::{Limits, Profile, ScriptErrorKind, ScriptState, StateConfig};

fn state_with(config: StateConfig) -> ScriptState {
    ScriptState::new(&config, |_, _| Ok(())).expect("state")
}

fn safe() -> ScriptState {
    state_with(StateConfig::default())
}

fn trusted() -> ScriptState {
    state_with(StateConfig {
        profile: Profile::Trusted,
        ..StateConfig::default()
    })
}

fn eval(state: &ScriptState, source: &str) -> String {
    match state.execute(source, "test") {
        Ok(values) => values
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        Err(e) => format!("ERROR: {e}"),
    }
}

/// What the safe profile removes outright, as an expression: the parts of
/// `package`, `string` and `debug` that reach native code, bytecode, hooks,
/// locals and upvalues (scripts test for them: `if debug.sethook then`).
const FORBIDDEN: &[&str] = &[
    "string.dump",
    "package.loadlib",
    "package.searchers",
    "package.cpath",
    "debug.sethook",
    "debug.getlocal",
    "debug.setlocal",
    "debug.getupvalue",
    "debug.setmetatable",
    "debug.getregistry",
];

/// What the safe profile keeps as a function that refuses to run, saying
/// so (the `io` and `os` functions that reach files, processes and the
/// environment), as a call.
const REFUSED: &[&str] = &[
    "io.open('x.txt', 'w')",
    "io.open('x.txt', 'a+')",
    "io.open('x.txt', 'r+')",
    "io.popen('ls')",
    "io.read('l')",
    "io.lines()",
    "io.input('x.txt')",
    "io.output('x.txt')",
    "io.tmpfile()",
    "os.execute('true')",
    "os.exit(1)",
    "os.getenv('HOME')",
    "os.remove('x.txt')",
    "os.rename('x.txt', 'y.txt')",
    "os.tmpname()",
    "os.setlocale('C')",
];

#[test]
fn forbidden_functions_are_missing_in_safe_and_present_in_trusted() {
    let (safe, trusted) = (safe(), trusted());
    for expr in FORBIDDEN {
        let source = format!("return ({expr}) ~= nil");
        assert_eq!(eval(&safe, &source), "false", "safe profile exposes {expr}");
        assert_eq!(
            eval(&trusted, &source),
            "true",
            "trusted profile lacks {expr}"
        );
    }
    // The safe profile keeps the harmless part of `debug`.
    let harmless = "return type(debug.traceback), type(debug.getinfo)";
    assert_eq!(eval(&safe, harmless), "function,function");
    assert_eq!(eval(&trusted, harmless), "function,function");
}

#[test]
fn left_out_io_and_os_functions_refuse_naming_themselves() {
    let (safe, trusted) = (safe(), trusted());
    for call in REFUSED {
        let function = call.split('(').next().unwrap_or_default();
        let out = eval(&safe, &format!("return {call}"));
        assert!(
            out.starts_with(&format!("ERROR: test:1: {function}: "))
                && out.contains("left out of the safe profile")
                && out.contains("trusted profile"),
            "{call}: {out}"
        );
        // Caught, the message is a plain string naming the function.
        let caught = eval(
            &safe,
            &format!("local ok, e = pcall(function() return {call} end) return ok, type(e), e"),
        );
        assert!(
            caught.starts_with("false,string,test:1: "),
            "{call}: {caught}"
        );
        let kind = eval(&trusted, &format!("return type({function})"));
        assert_eq!(kind, "function", "trusted profile lacks {function}");
    }
    assert!(
        !std::path::Path::new("x.txt").exists(),
        "nothing was written"
    );
}

#[test]
fn safe_os_keeps_clock_time_date_difftime() {
    let s = safe();
    assert_eq!(
        eval(
            &s,
            "return type(os.clock()), type(os.time()), type(os.date('%Y')), os.difftime(5, 3)"
        ),
        "number,number,string,2.0"
    );
}

#[test]
fn binary_chunks_are_refused_in_safe_and_accepted_in_trusted() {
    let s = safe();
    let out = eval(&s, "return load(string.char(27) .. 'Lua')");
    assert!(out.contains("attempt to load a binary chunk"), "{out}");
    assert!(
        eval(&s, "return ('').dump").starts_with("nil"),
        "dump removed from the string metatable too"
    );
    let t = trusted();
    assert_eq!(
        eval(
            &t,
            "local f = load(string.dump(function() return 42 end)); return f()"
        ),
        "42"
    );
}

#[test]
fn globals_do_not_leak_between_executions() {
    let s = safe();
    assert_eq!(
        eval(
            &s,
            "leaked = 1; function f() end; load('also = 2')(); _G.third = 3; return leaked, also, third"
        ),
        "1,2,3"
    );
    assert_eq!(eval(&s, "return leaked, also, third, f"), "nil,nil,nil,nil");
}

#[test]
fn shared_tables_are_read_only_and_survive_attempts() {
    let s = safe();
    let attempts = [
        ("string.upper = nil", "read-only field 'upper'"),
        ("rawset(string, 'upper', nil)", "rawset: table is read-only"),
        ("setmetatable(math, {})", "protected metatable"),
        ("table.insert(os, 1)", "read-only"),
        (
            "getmetatable('').__index = {}",
            "attempt to index a string value",
        ),
        ("print = nil; return print", ""),
    ];
    for (source, expected) in attempts {
        let out = eval(&s, source);
        assert!(out.contains(expected), "{source}: {out}");
    }
    assert_eq!(
        eval(
            &s,
            "return string.upper('ok'), type(print), #string.rep('a', 3)"
        ),
        "OK,function,3"
    );
    // pairs and ipairs see through the read-only proxies.
    assert_eq!(
        eval(
            &s,
            "local n = 0 for k in pairs(math) do n = n + 1 end return n > 20"
        ),
        "true"
    );
}

#[test]
fn finalizers_and_gc_control_are_refused_in_safe() {
    let s = safe();
    assert!(eval(&s, "setmetatable({}, {__gc = function() end})").contains("__gc"));
    assert!(eval(&s, "collectgarbage('stop')").contains("not allowed"));
    assert_eq!(eval(&s, "return type(collectgarbage('count'))"), "number");
    assert_eq!(eval(&s, "return collectgarbage('isrunning')"), "true");
}

fn budgeted(budget: u64) -> ScriptState {
    state_with(StateConfig {
        limits: Limits {
            instructions: budget,
            ..Limits::default()
        },
        ..StateConfig::default()
    })
}

#[test]
fn runaway_code_stops_at_the_budget_and_the_state_is_reusable() {
    let s = budgeted(200_000);
    let runaways = [
        "while true do end",
        "while true do pcall(function() while true do end end) end",
        "while true do xpcall(function() while true do end end, function() while true do end end) end",
        "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
        "local function f() return f() end f()",
        "local co = coroutine.wrap(function() while true do end end) co()",
    ];
    for source in runaways {
        let err = s.execute(source, "runaway").unwrap_err();
        assert_eq!(err.kind, ScriptErrorKind::BudgetExceeded, "{source}: {err}");
        assert!(
            err.message
                .contains("instruction budget of 200000 exceeded"),
            "{err}"
        );
        assert_eq!(
            eval(&s, "return 1 + 1"),
            "2",
            "state unusable after {source}"
        );
    }
}

#[test]
fn the_budget_is_per_execution_and_zero_turns_it_off() {
    let loop_100k = "local n = 0 for i = 1, 100000 do n = n + i end return n";
    let small = budgeted(50_000);
    assert!(eval(&small, loop_100k).contains("instruction budget"));
    let off = budgeted(0);
    assert_eq!(eval(&off, loop_100k), "5000050000");
    // Many small executions never add up to one big one.
    let s = budgeted(50_000);
    for _ in 0..20 {
        assert_eq!(
            eval(&s, "local n = 0 for i = 1, 1000 do n = n + 1 end return n"),
            "1000"
        );
    }
}

#[test]
fn a_memory_bomb_stops_with_out_of_memory_and_the_state_recovers() {
    let s = state_with(StateConfig {
        limits: Limits {
            memory: 8 * 1024 * 1024,
            ..Limits::default()
        },
        ..StateConfig::default()
    });
    let bombs = [
        "local t = {} for i = 1, 1e8 do t[i] = i end",
        "local s = 'x' while true do s = s .. s end",
        "return string.rep('x', 1e9)",
    ];
    for source in bombs {
        let err = s.execute(source, "bomb").unwrap_err();
        assert_eq!(err.kind, ScriptErrorKind::OutOfMemory, "{source}: {err}");
        assert_eq!(eval(&s, "return #string.rep('y', 1000)"), "1000");
    }
}

#[test]
fn file_loading_is_confined_to_the_script_roots() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    std::fs::write(
        dir.path().join("lib/util.lua"),
        "return { double = function(x) return 2 * x end }",
    )
    .unwrap();
    std::fs::write(dir.path().join("data.lua"), "return 7").unwrap();
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), "return 'secret'").unwrap();

    let s = state_with(StateConfig {
        script_roots: vec![PathBuf::from(dir.path())],
        ..StateConfig::default()
    });
    assert_eq!(eval(&s, "return require('lib.util').double(21)"), "42");
    assert_eq!(
        eval(&s, "return require('lib.util') == require('lib.util')"),
        "true"
    );
    assert_eq!(eval(&s, "return dofile('data.lua')"), "7");
    assert_eq!(eval(&s, "return loadfile('data.lua')()"), "7");

    let escape = format!("return dofile({:?})", outside.path().to_string_lossy());
    assert!(eval(&s, &escape).contains("outside the script roots"));
    assert!(eval(&s, "return dofile('../x.lua')").contains("outside the script roots"));
    assert!(eval(&s, "return require('nope')").contains("module 'nope' not found"));
    assert!(eval(&s, "return loadfile('missing.lua')").starts_with("nil,"));

    let no_roots = state_with(StateConfig {
        script_roots: vec![],
        ..StateConfig::default()
    });
    assert!(eval(&no_roots, "return dofile('data.lua')").contains("no script roots"));

    // The trusted profile reads any path.
    let t = trusted();
    assert_eq!(eval(&t, &escape), "secret");
}

#[test]
fn errors_carry_chunk_line_and_traceback() {
    let s = safe();
    let err = s
        .execute("local a = 1\nlocal b = nil\nreturn b.field", "player.lua")
        .unwrap_err();
    assert_eq!(err.kind, ScriptErrorKind::Runtime);
    assert_eq!(err.chunk, "player.lua");
    assert_eq!(err.line, Some(3));
    assert!(
        err.message
            .starts_with("player.lua:3: attempt to index a nil value"),
        "{}",
        err.message
    );
    assert!(
        err.traceback
            .as_deref()
            .unwrap_or("")
            .contains("stack traceback")
    );

    let syntax = s.execute("x = = 1", "broken.lua").unwrap_err();
    assert_eq!(syntax.kind, ScriptErrorKind::Syntax);
    assert_eq!(syntax.line, Some(1));
    assert!(
        syntax.message.starts_with("broken.lua:1:"),
        "{}",
        syntax.message
    );
}

#[test]
fn caught_engine_errors_are_plain_strings() {
    let s = safe();
    assert_eq!(
        eval(
            &s,
            "local ok, err = pcall(error, 'plain') return ok, type(err), err"
        ),
        "false,string,plain"
    );
    assert_eq!(
        eval(
            &s,
            "local ok, err = pcall(function() local t = nil; return t.x end) return type(err)"
        ),
        "string"
    );
}

#[test]
fn iterating_a_shared_table_never_hands_out_the_table_itself() {
    // (The trusted profile is stock Lua: its libraries are the real tables.)
    {
        let s = safe();
        // `pairs` used to return the frozen table's contents as its state.
        let attempt = eval(
            &s,
            "local _, t = pairs(string) return pcall(rawset, t, 'upper', function() return 'pwned' end)",
        );
        assert!(attempt.starts_with("false"), "{attempt}");
        assert_eq!(eval(&s, "return string.upper('x')"), "X");
        // Iteration itself still works, over nested tables too.
        assert_eq!(
            eval(
                &s,
                "local n = 0 for k, v in pairs(math) do n = n + 1 end return n > 20, #string.rep('a', 3)"
            ),
            "true,3"
        );
    }
}

/// The loaders (`load`, `loadfile`, `dofile`, `require`, `package`) are
/// made the first time a script needs one: whatever a script does first,
/// it finds them as if they had been there from the start.
#[test]
fn the_loaders_are_there_whichever_way_a_script_first_reaches_them() {
    let names = "local names = {}
        for _, name in ipairs({'load', 'loadfile', 'dofile', 'require', 'package'}) do
            names[#names + 1] = name .. '=' .. type(rawget(_G, name))
        end
        return table.concat(names, ' ')";
    let all = "load=function loadfile=function dofile=function require=function package=table";
    let firsts = [
        // listing the globals
        "local n = 0 for k in pairs(_G) do if k == 'require' then n = n + 1 end end assert(n == 1)",
        "local k = next(_G) assert(k ~= nil)",
        "assert(getmetatable(_G) == nil)",
        "assert(type(rawget(_G, 'package')) == 'table')",
        // reading one
        "assert(type(package.path) == 'string')",
        "assert(load('return 1')() == 1)",
        "local r = require assert(type(r) == 'function')",
        // a name nobody defines, or a key no name is: nil, before and after
        "assert(not_a_global == nil)",
        "assert(_ENV[{}] == nil and _ENV[true] == nil and _ENV[1] == nil)",
    ];
    for first in firsts {
        let s = safe();
        assert_eq!(eval(&s, first), "", "{first}");
        assert_eq!(eval(&s, names), all, "after {first}");
        assert_eq!(
            eval(&s, "return not_a_global == nil"),
            "true",
            "after {first}"
        );
        assert_eq!(
            eval(&s, "return load('return 40 + 2')()"),
            "42",
            "after {first}"
        );
    }
}

/// Making the loaders is the sandbox's work: an execution that makes them
/// stops at the same count as one that makes nothing, so a stop never
/// depends on whether earlier executions on a pooled state made them.
#[test]
fn making_the_loaders_costs_a_script_no_instructions() {
    // A fresh state runs the same instructions but for the global it reads
    // first; `n` (a global of the persistent state) says where it stopped.
    let stop = |global: &str| {
        let config = StateConfig {
            limits: Limits {
                instructions: 100_000,
                ..Limits::default()
            },
            ..StateConfig::default()
        };
        let s = ScriptState::new_persistent(&config, |_, _| Ok(())).expect("state");
        let source = format!("local first = {global} n = 0 while true do n = n + 1 end");
        let err = s.execute(source, "count").unwrap_err();
        assert_eq!(err.kind, ScriptErrorKind::BudgetExceeded, "{err}");
        eval(&s, "return n")
    };
    let makes_the_loaders = stop("require");
    assert!(
        makes_the_loaders.parse::<u64>().is_ok_and(|n| n > 1000),
        "{makes_the_loaders}"
    );
    assert_eq!(makes_the_loaders, stop("rawequal"));
}
