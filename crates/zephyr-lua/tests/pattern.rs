//! The safe profile's pattern functions run on Zephyr's own matcher (so the
//! instruction budget bounds them); these properties compare it with stock
//! Lua's C matcher, which the trusted profile keeps, on generated subjects
//! and patterns: the same results, the same captures, the same errors.

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
    fn new(profile: Profile) -> Self {
        let state = ScriptState::new(
            &StateConfig {
                profile,
                ..StateConfig::default()
            },
            |_, _| Ok(()),
        )
        .expect("state");
        let chunk = state
            .compile(HARNESS.as_bytes(), "harness")
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
            static SIDES: (Side, Side) = (Side::new(Profile::Safe), Side::new(Profile::Trusted));
        }
        SIDES.with(|(ours, stock)| {
            let (a, b) = (ours.run(&s, &p, init, n), stock.run(&s, &p, init, n));
            prop_assert_eq!(
                &a, &b,
                "subject {:?} pattern {:?}", String::from_utf8_lossy(&s), String::from_utf8_lossy(&p)
            );
            Ok(())
        })?;
    }
}

#[test]
fn known_corner_cases_agree() {
    let (ours, stock) = (Side::new(Profile::Safe), Side::new(Profile::Trusted));
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

#[test]
fn a_runaway_pattern_stops_within_the_budget_naming_the_function() {
    let state = ScriptState::new(&StateConfig::default(), |_, _| Ok(())).expect("state");
    for (function, call) in [
        ("string.find", "local _ = string.find(s, p)"),
        ("string.match", "local _ = s:match(p)"),
        ("string.gsub", "local _ = s:gsub(p, 'x')"),
        ("string.gmatch", "for _ in s:gmatch(p) do end"),
    ] {
        let source = format!(
            "local s, p = string.rep('a', 30000), string.rep('.-', 6) .. 'b'\n\
             -- pcall cannot swallow a budget stop\n\
             local ok = pcall(function() {call} end)\n\
             return 'not stopped'"
        );
        let error = state.execute(&source, "hostile.lua").unwrap_err();
        assert_eq!(error.kind, ScriptErrorKind::BudgetExceeded, "{error}");
        assert!(
            error.message.contains(function),
            "{function}: {}",
            error.message
        );
    }
}
