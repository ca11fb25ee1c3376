//! The safe profile's pattern functions count their steps against the
//! instruction budget: Lua's own C functions in their counted variants (the
//! Lua Zephyr builds), or Zephyr's own matcher (for a Lua without that
//! patch). These properties compare both with stock Lua's C functions,
//! which the trusted profile keeps, on generated subjects and patterns: the
//! same results, the same captures, the same errors.

use proptest::prelude::*;
use zephyr_lua::{CompiledChunk, Profile, ScriptErrorKind, ScriptState, StateConfig};

/// Runs every pattern function on `(s, p)` and renders what each returned
/// (or the error, without its position).
const HARNESS: &str = r##"
local s, p, init, n = ...
local out = {}
local function add(ok, ...)
  if not ok then
    out[#out + 1] = "E:" .. tostring((...))
    return
  end
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = type((select(i, ...))) .. ":" .. tostring((select(i, ...))) end
  out[#out + 1] = table.concat(parts, ",")
end
add(pcall(string.find, s, p))
add(pcall(string.find, s, p, init))
add(pcall(string.match, s, p))
add(pcall(string.match, s, p, init))
add(pcall(string.gsub, s, p, "<%0>"))
add(pcall(string.gsub, s, p, "[%1]", n))
add(pcall(string.gsub, s, p, { a = "A", ["()"] = 1 }))
add(pcall(function()
  local got, count = {}, 0
  for a, b in string.gmatch(s, p, init) do
    count = count + 1
    got[#got + 1] = tostring(a) .. "|" .. tostring(b)
    if count > 40 then break end
  end
  return table.concat(got, ";")
end))
return table.concat(out, "\n")
"##;

struct Side {
    state: ScriptState,
    chunk: CompiledChunk,
}

impl Side {
    /// The safe profile on Zephyr's own matcher.
    fn own(source: &str) -> Self {
        let side = Side::with(Profile::Safe, source);
        side.state.use_own_pattern_matcher().expect("own matcher");
        side
    }

    /// Safe (counted C functions), safe on the own matcher, and stock.
    fn three(source: &str) -> [Self; 3] {
        [
            Side::with(Profile::Safe, source),
            Side::own(source),
            Side::with(Profile::Trusted, source),
        ]
    }

    fn with(profile: Profile, source: &str) -> Self {
        let state = ScriptState::new(
            &StateConfig {
                profile,
                ..StateConfig::default()
            },
            |_, _| Ok(()),
        )
        .expect("state");
        let chunk = state
            .compile(source.as_bytes(), "harness")
            .expect("harness");
        Side { state, chunk }
    }

    fn run(&self, s: &[u8], p: &[u8], init: i64, n: i64) -> String {
        let lua = self.state.lua();
        let env = self.state.new_env().expect("env");
        let args = (
            lua.create_string(s).unwrap(),
            lua.create_string(p).unwrap(),
            init,
            n,
        );
        match self.state.run_chunk(&self.chunk, &env, args) {
            Ok(values) => strip_positions(&values[0].to_string()),
            Err(e) => format!("FAILED: {e}"),
        }
    }
}

/// Error messages carry `harness:LINE: ` (the same on both sides, but the
/// safe profile's `pcall` is one Lua frame more): compare without it.
fn strip_positions(text: &str) -> String {
    text.lines()
        .map(|line| match line.strip_prefix("E:") {
            Some(rest) => {
                let rest = rest
                    .strip_prefix("harness:")
                    .map_or(rest, |r| r.split_once(": ").map_or(r, |(_, m)| m));
                format!("E:{rest}")
            }
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const TOKENS: &[&str] = &[
    "a", "b", "1", " ", ".", "%a", "%d", "%w", "%s", "%p", "%A", "%W", "%x", "%l", "%u", "%c",
    "%g", "%z", "%%", "%.", "[ab]", "[^a]", "[a-c]", "[%d_]", "[]]", "[^]a]", "[a-]", "(", ")",
    "()", "%1", "%2", "%b()", "%bab", "%f[%w]", "%f[%W]", "*", "+", "-", "?", "^", "$", "%", "[",
    "[a", "%b", "%f", "%0", "(a)", "(.-)", "(%w+)", "a*", "b+", "a-", ".?",
];

fn pattern() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..7)
        .prop_map(|tokens| tokens.concat().into_bytes())
}

fn subject() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(&b"aab1 ()[]%.-^$_Z\0\xe9"[..]), 0..24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn our_matcher_agrees_with_stock_lua(
        s in subject(),
        p in pattern(),
        init in -30i64..30,
        n in -1i64..4,
    ) {
        thread_local! {
            static SIDES: [Side; 3] = Side::three(HARNESS);
        }
        SIDES.with(|[counted, own, stock]| {
            let expected = stock.run(&s, &p, init, n);
            for (which, ours) in [("counted", counted), ("own", own)] {
                prop_assert_eq!(
                    &ours.run(&s, &p, init, n), &expected,
                    "{}: subject {:?} pattern {:?}", which,
                    String::from_utf8_lossy(&s), String::from_utf8_lossy(&p)
                );
            }
            Ok(())
        })?;
    }
}

#[test]
fn known_corner_cases_agree() {
    let [counted, own, stock] = Side::three(HARNESS);
    let cases: &[(&[u8], &[u8])] = &[
        (b"hello world", b"(o)(.-)(%1)"),
        (b"THE (quick) fox", b"%f[%a]%a+"),
        (b"x = (a(b)c)", b"%b()"),
        (b"", b""),
        (b"", b"^$"),
        (b"abc", b"((a)(b)(c))"),
        (b"aaa", b"()a()"),
        (b"abc", b"%"),
        (b"abc", b"[a"),
        (b"abc", b"(()"),
        (b"abc", b"a)"),
        (b"abc", b"%f"),
        (b"abc", b"%fx"),
        (b"abc", b"%b"),
        (b"abc", b"%bx"),
        (b"a.b", b"%."),
        (&[b'a'; 300], &b"(a)".repeat(33)),
        (&[b'a'; 300], &b"a?".repeat(250)),
    ];
    for (s, p) in cases {
        for init in [1, -1, 0, 2, 100] {
            for ours in [&counted, &own] {
                assert_eq!(
                    ours.run(s, p, init, 2),
                    stock.run(s, p, init, 2),
                    "{:?} {:?} {init}",
                    String::from_utf8_lossy(s),
                    String::from_utf8_lossy(p)
                );
            }
        }
    }
}

/// Every kind of argument and replacement value the four functions take,
/// and the wrong ones: the typed arguments of the safe profile's functions
/// (copied off the stack, or kept as references) convert as Lua's
/// `luaL_checklstring` and `luaL_optinteger` do and say the same errors.
const ARGUMENTS: &str = r##"
local out = {}
local function add(ok, ...)
  local parts = { ok and "ok" or "E" }
  for i = 1, select("#", ...) do parts[#parts + 1] = type((select(i, ...))) .. ":" .. tostring((select(i, ...))) end
  out[#out + 1] = table.concat(parts, ",")
end
local upper = setmetatable({}, { __index = function(_, k) return k:upper() end })
local calls = {
  { string.find, 123, 2 }, { string.find, 12.5, "%." }, { string.find, 1e100, "e" },
  { string.find, "a1b", 1 }, { string.find, "x", {} }, { string.find, {}, "x" },
  { string.find, nil, "x" }, { string.find, "x", nil }, { string.find, "x", "x", {} },
  { string.find, "x", "x", 1.5 }, { string.find, "xx", "x", "2" }, { string.find, "xx", "x", "2.0" },
  { string.find, "a.b", ".", 1, 1 }, { string.find, "a.b", ".", 1, false }, { string.find, "abc", "b", -1 },
  { string.match, true, "x" }, { string.match, "key = 42", "(%w+) = (%d+)" }, { string.match, "abc", "()b()" },
  { string.gsub, "abc", "%w", { a = 1, b = true, c = false } }, { string.gsub, "abc", "%w", upper },
  { string.gsub, "abc", "%w", function() return 1.5 end }, { string.gsub, "abc", "%w", function() return {} end },
  { string.gsub, "abc", "%w", function() end }, { string.gsub, "abc", "%w", function(c) return c, "more" end },
  { string.gsub, "abc", "(a)(b)", function(x, y) return y .. x end }, { string.gsub, "abc", "()b", "%1" },
  { string.gsub, "abc", "(b)", 7 }, { string.gsub, "abc", "%w", "x", "2" }, { string.gsub, "abc", "%w", "x", 1.5 },
  { string.gsub, "abc", "%w", true }, { string.gsub, "abc", "%w", nil }, { string.gsub, 42, "2", "%0%0" },
  { string.gsub, "a\0b", "%z", "<%0>" }, { string.gsub, "abc", "b", "%2" }, { string.gsub, "abc", "b", "%" },
  { string.gmatch, 123, "%d" }, { string.gmatch, "x", {} }, { string.gmatch, "a b", "%a", "2" },
}
for _, call in ipairs(calls) do
  local f = call[1]
  add(pcall(function()
    if f == string.gmatch then
      local got = {}
      for a, b in f(call[2], call[3], call[4]) do got[#got + 1] = tostring(a) .. "|" .. tostring(b) end
      return table.concat(got, ";")
    end
    return f(call[2], call[3], call[4], call[5])
  end))
end
-- How the function is named in the message: through `pcall`, as a method, as a bad self.
add(pcall(string.find, "x", {}))
add(pcall(string.gsub, "x", "x", nil))
add(pcall(function() return ("x"):find({}) end))
add(pcall(function() return ("x"):gsub("x", true) end))
add(pcall(function() local t = { match = string.match }; return t:match("x") end))
add(pcall(function() local gm = string.gmatch; return gm("x", false) end))
return table.concat(out, "\n")
"##;

#[test]
fn arguments_and_replacement_values_agree_with_stock_lua() {
    let [counted, own, stock] = Side::three(ARGUMENTS);
    let b = stock.run(b"", b"", 0, 0);
    for ours in [counted, own] {
        let a = ours.run(b"", b"", 0, 0);
        assert!(a.lines().count() > 30, "{a}");
        for (line, (a, b)) in a.lines().zip(b.lines()).enumerate() {
            assert_eq!(a, b, "call {}", line + 1);
        }
    }
}

/// The one message the own matcher's typed arguments change: an argument
/// left out reads as `nil` (stock Lua, and the counted C functions, say
/// "no value").
#[test]
fn an_argument_left_out_is_named_nil() {
    let source = "return select(2, pcall(string.gsub, 'x', 'x'))";
    let [counted, own, stock] = Side::three(source);
    let expected = "bad argument #3 to 'string.gsub' (string/function/table expected, got";
    assert_eq!(own.run(b"", b"", 0, 0), format!("{expected} nil)"));
    assert_eq!(stock.run(b"", b"", 0, 0), format!("{expected} no value)"));
    assert_eq!(counted.run(b"", b"", 0, 0), format!("{expected} no value)"));
}

#[test]
fn a_runaway_pattern_stops_within_the_budget_naming_the_function() {
    let counted = ScriptState::new(&StateConfig::default(), |_, _| Ok(())).expect("state");
    let own = ScriptState::new(&StateConfig::default(), |_, _| Ok(())).expect("state");
    own.use_own_pattern_matcher().expect("own matcher");
    for (function, call) in [
        ("string.find", "local _ = string.find(s, p)"),
        ("string.match", "local _ = s:match(p)"),
        ("string.gsub", "local _ = s:gsub(p, 'x')"),
        ("string.gmatch", "for _ in s:gmatch(p) do end"),
        // The work inside one call that is not a step of the pattern: a
        // long class tried at every character, a plain search scanning a
        // large subject, a balance scan, a back reference, a replacement
        // string read at every match.
        (
            "string.find",
            "local c = '[' .. ('%d'):rep(20000) .. ']' s:find(c .. 'x')",
        ),
        (
            "string.find",
            "local big = s:rep(100) for _ = 1, 1e7 do big:find('zz', 1, true) end",
        ),
        (
            "string.find",
            "local b = ('('):rep(30000) for i = 1, 1e7 do b:find('%b()') end",
        ),
        (
            "string.match",
            "for _ = 1, 1e7 do s:match('^(' .. s .. ')%1') end",
        ),
        ("string.gsub", "s:sub(1, 1000):gsub('', ('%0'):rep(1e6))"),
    ] {
        let source = format!(
            "local s, p = string.rep('a', 30000), string.rep('.-', 6) .. 'b'\n\
             -- pcall cannot swallow a budget stop\n\
             local ok = pcall(function() {call} end)\n\
             return 'not stopped'"
        );
        for (which, state) in [("counted", &counted), ("own", &own)] {
            let error = match state.execute(&source, "hostile.lua") {
                Ok(values) => panic!("{which}: {call}: not stopped: {values:?}"),
                Err(error) => error,
            };
            assert_eq!(
                error.kind,
                ScriptErrorKind::BudgetExceeded,
                "{which}: {error}"
            );
            assert!(
                error
                    .message
                    .starts_with(&format!("hostile.lua:3: {function}: ")),
                "{which}: {function}: {}",
                error.message
            );
        }
    }
}

/// Lua's own pattern tests (`pm.lua` of the official test suite, read from
/// `../shared/lua-testes` beside the project, as `zephyr conformance` does)
/// on the own matcher; the conformance run covers the counted C functions.
#[test]
#[allow(clippy::print_stderr)] // the notice when the suite is not beside the project
fn lua_s_pattern_tests_pass_on_the_own_matcher() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/lua-testes/pm.lua");
    let Ok(source) = std::fs::read(&path) else {
        eprintln!("notice: {} not found: pm.lua not run", path.display());
        return;
    };
    let state = ScriptState::new(&StateConfig::default(), |_, _| Ok(())).expect("state");
    state.use_own_pattern_matcher().expect("own matcher");
    let printed = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let into = printed.clone();
    zephyr_lua::binding::set_output(state.lua(), move |_, bytes| {
        into.lock().extend_from_slice(bytes)
    });
    let mut chunk = b"_soft=true _port=true _nomsg=true ".to_vec();
    chunk.extend_from_slice(&source);
    let compiled = state.compile(&chunk, "pm.lua").expect("pm.lua compiles");
    let env = state.new_env().expect("env");
    if let Err(error) = state.run_chunk(&compiled, &env, ()) {
        panic!("pm.lua on the own matcher: {error}");
    }
    // It ran to its end.
    let printed = String::from_utf8_lossy(&printed.lock()).into_owned();
    assert!(printed.ends_with("OK\n"), "{printed}");
}
