//! The safe profile behaves as stock Lua where it keeps a function: the
//! same code gives the same results in the safe profile and in the trusted
//! one (stock Lua 5.4), for objects whose metatables run code of their
//! own, for error messages, and for reading files.

use std::path::PathBuf;

use zephyr_lua::{Profile, ScriptState, StateConfig};

fn state(profile: Profile, roots: Vec<PathBuf>) -> ScriptState {
    ScriptState::new(
        &StateConfig {
            profile,
            script_roots: roots,
            ..StateConfig::default()
        },
        |_, _| Ok(()),
    )
    .expect("state")
}

fn eval(state: &ScriptState, source: &str) -> String {
    match state.execute(source, "test") {
        Ok(values) => values
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("ERROR: {e}"),
    }
}

/// Runs `source` in both profiles; returns (safe, trusted).
fn both(source: &str) -> (String, String) {
    let safe = state(Profile::Safe, vec![PathBuf::from(".")]);
    let trusted = state(Profile::Trusted, vec![PathBuf::from(".")]);
    (eval(&safe, source), eval(&trusted, source))
}

/// An object of a class whose own metatable defines `__eq` (answering yes
/// to every comparison, and counting them), with `__index`, `__newindex`,
/// `__len` and `__pairs` on the class: then `REPORT` reads it back.
const CLASS: &str = r##"
local eq_calls = 0
local Base = { __eq = function() eq_calls = eq_calls + 1 return true end }
local C = setmetatable({ hi = function() return "hi" end }, Base)
C.__index = C
C.__newindex = function(t, k, v) rawset(t, k, tostring(v) .. "!") end
C.__len = function() return 2 end
C.__pairs = function(t)
  return function(_, k) if k == nil then return "only", 1 end end, t, nil
end
local o = setmetatable({}, C)
local out = {}
local function note(label, ...)
  local parts = { label }
  for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
  out[#out + 1] = table.concat(parts, " ")
end
"##;

const REPORT: &str = r#"
note("intact", rawequal(getmetatable(o), C), o.hi(), rawget(o, "print") == nil)
note("eq calls", eq_calls)
return table.concat(out, "\n")
"#;

#[test]
fn objects_whose_class_chain_defines_eq_survive_every_wrapped_function() {
    // One line per wrapped function (and the library functions that
    // reach the object through its metamethods).
    let calls = [
        r#"note("getmetatable", rawequal(getmetatable(o), C))"#,
        r#"note("setmetatable", rawequal(setmetatable(o, C), o))"#,
        r#"note("rawget", rawget(o, "hi"))"#,
        r#"rawset(o, "raw", 1) note("rawset", rawget(o, "raw"))"#,
        r#"note("next", next({}), next(o) ~= nil)"#,
        r#"for k, v in pairs(o) do note("pairs", k, v) end"#,
        r#"note("rawlen #", rawlen(o), #o)"#,
        r#"note("rawequal", rawequal(o, o), rawequal(o, C))"#,
        r#"note("==", o == C)"#,
        r#"o.field = 5 note("newindex", rawget(o, "field"))"#,
        r##"note("select type tostring", select("#", o), type(o), tostring(o) == tostring(o))"##,
        r#"table.insert(o, "v") note("table.insert", rawget(o, 3))"#,
        r#"note("table.unpack", table.unpack(o, 1, 2))"#,
        r#"note("table.move", rawequal(table.move(o, 1, 1, 1, {}), nil))"#,
        r#"local t = {o, o} table.sort(t, function() return false end) note("table.sort", rawequal(t[1], o))"#,
        r#"for i, v in ipairs(o) do note("ipairs", i, v) end"#,
        r#"local ok, e = pcall(error, o) note("error", ok, rawequal(e, o))"#,
        r#"local ok, e = xpcall(error, function(e) return e end, o) note("xpcall", ok, rawequal(e, o))"#,
        r#"note("pcall", pcall(o.hi))"#,
        r#"note("load env", load("return hi", "chunk", "t", o)()())"#,
        r#"note("coroutine", coroutine.resume(coroutine.create(function(x) return rawequal(x, o) end), o))"#,
        r#"note("string.rep", pcall(string.rep, o, 2))"#,
        r#"note("collectgarbage", type(collectgarbage("count")))"#,
        r#"note("string.format", string.format("%s", "x"))"#,
    ];
    for call in calls {
        let source = format!("{CLASS}\n{call}\n{REPORT}");
        let (safe, trusted) = both(&source);
        assert_eq!(safe, trusted, "{call}");
        assert!(safe.contains("intact true hi true"), "{call}: {safe}");
    }
}

#[test]
fn the_issue_s_minimal_case_runs() {
    let source = "local P = {__eq = function() return true end}; \
                  local C = setmetatable({hi = function() return 'ok' end}, P); C.__index = C; \
                  local o = setmetatable({}, C); getmetatable(o); return o.hi()";
    assert_eq!(both(source), ("ok".into(), "ok".into()));
}

/// `pcall(function() CALL end)`'s message.
fn message_of(state: &ScriptState, call: &str) -> String {
    let source = format!("local ok, e = pcall(function() {call} end)\nreturn tostring(e)");
    eval(state, &source)
}

#[test]
fn errors_of_wrapped_functions_name_the_script_s_line_as_stock_lua_does() {
    let calls = [
        "string.rep('x', 'a')",
        "string.rep('x', 1e10)",
        "('x'):rep({})",
        "table.move(1)",
        "table.move({}, 1, math.maxinteger, 2)",
        "table.unpack({}, 1, 1e7)",
        "table.unpack({}, 'a')",
        "table.sort(nil)",
        "table.sort({3, 2, 1}, 5)",
        "table.sort({1, 2, 3, 4, 5}, function() return true end)",
        "coroutine.resume(1)",
        "coroutine.close(1)",
        "coroutine.close(coroutine.running())",
        "pcall()",
        "xpcall()",
        "xpcall(print, 5)",
        "rawset(1)",
        "rawset({}, nil, 1)",
        "rawget({})",
        "rawget(1, 2)",
        "next(1)",
        "next({}, 'nokey')",
        "getmetatable()",
        "setmetatable(1)",
        "setmetatable({}, 1)",
        "setmetatable(setmetatable({}, {__metatable = 'no'}), {})",
        "collectgarbage(1)",
        "error('x', 'a')",
        "error('plain', 1)",
        "error('two', 2)",
        "require()",
        "require({})",
    ];
    let safe = state(Profile::Safe, vec![PathBuf::from(".")]);
    let trusted = state(Profile::Trusted, vec![PathBuf::from(".")]);
    for call in calls {
        let ours = message_of(&safe, call);
        assert!(!ours.contains("zephyr.sandbox"), "{call}: {ours}");
        assert!(!ours.contains("runtime error"), "{call}: {ours}");
        assert_eq!(ours, message_of(&trusted, call), "{call}");
    }
}

#[test]
fn a_wrapper_s_argument_error_names_the_line_that_called_it() {
    let safe = state(Profile::Safe, vec![PathBuf::from(".")]);
    for (call, expected) in [
        (
            "getmetatable()",
            "bad argument #1 to 'getmetatable' (value expected)",
        ),
        (
            "setmetatable(setmetatable({}, {__metatable = 1}), {})",
            "cannot change a protected metatable",
        ),
        (
            "rawget(nil)",
            "bad argument #1 to 'rawget' (table expected, got nil)",
        ),
        (
            "string.rep('x', {})",
            "bad argument #2 to 'rep' (number expected, got table)",
        ),
        (
            "('x'):rep({})",
            "bad argument #1 to 'rep' (number expected, got table)",
        ),
    ] {
        let source = format!("local x = 1\n{call}");
        let error = safe.execute(&source, "lib.lua").unwrap_err();
        assert_eq!(error.message, format!("lib.lua:2: {expected}"), "{call}");
        assert_eq!(error.line, Some(2));
        let traceback = error.traceback.unwrap_or_default();
        assert!(!traceback.contains("zephyr."), "{traceback}");
        assert!(!traceback.contains("raise"), "{traceback}");
    }
}

#[test]
fn reading_files_gives_what_stock_io_gives() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("data.txt"),
        "12 0x1F -3.5e2 abc\nline two\n\n  7 8.25\nlast line without newline",
    )
    .unwrap();
    std::fs::write(dir.path().join("numbers.txt"), "1\n2\n3\n").unwrap();
    let path = dir.path().join("data.txt").display().to_string();
    let numbers = dir.path().join("numbers.txt").display().to_string();
    let reads = [
        "f:read('n', 'n', 'n', 'n')",
        "f:read('n', 'l', 'L', 'l', 'n', 'n', 'l', 'a', 'a', 'l')",
        "f:read(3, 0, 5, '*l', '*a')",
        "f:read(1000)",
        "f:read(), f:read(), f:read(), f:read()",
        "f:seek('set', 3), f:read('l'), f:seek('cur'), f:seek('end'), f:read(0), f:read('a')",
        "(function() local t = {} for l in f:lines() do t[#t + 1] = l end return table.concat(t, '|') end)()",
        "(function() local t = {} for a, b in f:lines(1, 'l') do t[#t + 1] = a .. '/' .. b end return table.concat(t, '|') end)()",
        "io.type(f), f:close(), io.type(f), tostring(f), pcall(f.read, f)",
        "io.type(io.stdout), io.type(42), io.open('missing.txt') == nil",
        "f:read('x')",
    ];
    let safe = state(Profile::Safe, vec![dir.path().to_path_buf()]);
    let trusted = state(Profile::Trusted, vec![dir.path().to_path_buf()]);
    for read in reads {
        let source = format!(
            "local f = assert(io.open({path:?}, 'r'))\n\
             local out = table.pack({read})\n\
             for i = 1, out.n do out[i] = tostring(out[i]) end\n\
             return table.concat(out, ',')"
        );
        assert_eq!(eval(&safe, &source), eval(&trusted, &source), "{read}");
    }
    let lines =
        format!("local s = 0 for n in io.lines({numbers:?}, 'n') do s = s + n end return s");
    assert_eq!(eval(&safe, &lines), eval(&trusted, &lines));
    assert_eq!(eval(&safe, &lines), "6");
    // A relative path is read under the roots.
    assert_eq!(
        eval(&safe, "return io.open('numbers.txt'):read('a')"),
        "1\n2\n3\n"
    );
    assert!(
        eval(&safe, "return io.open('../numbers.txt')")
            .starts_with("nil\n'../numbers.txt' is outside the script roots"),
        "{}",
        eval(&safe, "return io.open('../numbers.txt')")
    );
}

#[test]
fn io_write_returns_the_file_and_writes_numbers_as_lua_does() {
    // Numbers: `%d` and `%.14g` (no `.0`), as stock's fprintf.
    let (safe, trusted) = both(
        "local f = io.write() return io.type(f), rawequal(f, io.stdout), rawequal(io.stdout:write(), io.stdout)",
    );
    assert_eq!(safe, trusted);
    assert_eq!(safe, "file\ntrue\ntrue");
    let (safe, trusted) = both("return pcall(io.write, {})");
    assert_eq!(safe, trusted);
}

#[test]
fn package_loaded_g_is_the_running_global_table_in_both_profiles() {
    let (safe, trusted) = both("return package.loaded._G == _G, _G._G == _G");
    assert_eq!(safe, "true\ntrue");
    assert_eq!(trusted, "true\ntrue");
    // Each execution's own: the next one sees its own table.
    let t = state(Profile::Trusted, vec![PathBuf::from(".")]);
    eval(&t, "marker = 1");
    assert_eq!(
        eval(&t, "return package.loaded._G == _G, marker"),
        "true\nnil"
    );
}

#[test]
fn debug_getmetatable_answers_as_getmetatable() {
    let (safe, trusted) = both(
        "local mt = {} local t = setmetatable({}, mt) return rawequal(debug.getmetatable(t), mt), debug.getmetatable(1)",
    );
    assert_eq!(safe, trusted);
    // It does not see past `__metatable` (the shared tables are protected so).
    let safe_state = state(Profile::Safe, vec![PathBuf::from(".")]);
    assert_eq!(
        eval(
            &safe_state,
            "return debug.getmetatable(string), debug.getmetatable('')"
        ),
        "read-only table\nread-only table"
    );
}

#[test]
fn io_argument_errors_are_stock_lua_s() {
    let calls = [
        "io.close({})",
        "io.open()",
        "io.open('x', 'rw')",
        "io.open({})",
        "io.stdout.write(5)",
        "io.stdout:write({})",
        "io.write({})",
        "io.stdout:seek('nowhere')",
        "io.lines({})",
    ];
    let safe = state(Profile::Safe, vec![PathBuf::from(".")]);
    let trusted = state(Profile::Trusted, vec![PathBuf::from(".")]);
    for call in calls {
        assert_eq!(
            message_of(&safe, call),
            message_of(&trusted, call),
            "{call}"
        );
    }
}

#[test]
fn an_engine_error_caught_in_the_trusted_profile_reads_as_its_message() {
    let trusted = state(Profile::Trusted, vec![PathBuf::from(".")]);
    let text = eval(
        &trusted,
        "local ok, e = pcall(math.random, 1, 0) return tostring(e)",
    );
    assert_eq!(text, "bad argument #2 to 'random' (interval is empty)");
}
