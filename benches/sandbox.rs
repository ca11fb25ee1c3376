//! The sandbox's own costs against stock Lua, measured in one process:
//!
//! - **patterns**: the safe profile's budgeted pattern functions (Lua's C
//!   functions in their counted variants, `vendor/lua-src`) against stock
//!   Lua's (the trusted profile's `string` library), the same Lua loop
//!   calling each, both states under the default budget;
//! - **own**: the same against Zephyr's own matcher, what the safe profile
//!   uses on a Lua without Zephyr's patch;
//! - **floor**: what one call of an mlua function taking those arguments
//!   costs before it does any work (the own matcher's floor);
//! - **budget**: small pure-Lua programs in the safe profile with the
//!   instruction budget on (the default) against the same state kind with
//!   it off.
//!
//! Variants interleave round by round; medians of the rounds. BENCHMARKS.md
//! records the figures.
//!
//! `cargo bench --bench sandbox` (`-- --rounds 11`, `-- --quick`,
//! `-- --only patterns|own|floor|budget`)

#![allow(clippy::print_stdout)] // printing the table is this bench's job

use std::hint::black_box;
use std::time::{Duration, Instant};

use mlua::{BString, Value};
use zephyr::runtime::lua::{CompiledChunk, Limits, Profile, ScriptState, StateConfig};

mod support;
use support::{Variant, interleave, ns, pair_table, table, us};

/// A state of `profile` whose executions run under `limits`.
fn state(profile: Profile, limits: Limits) -> ScriptState {
    ScriptState::new(
        &StateConfig {
            profile,
            limits,
            ..StateConfig::default()
        },
        |_, _| Ok(()),
    )
    .expect("state")
}

/// A program compiled once on its state; each round runs it in a fresh
/// environment with `n` as its `...` and returns the time per unit (`n`
/// units per run).
struct Program {
    state: ScriptState,
    chunk: CompiledChunk,
    n: i64,
}

impl Program {
    fn new(state: ScriptState, source: &str, name: &str, n: i64) -> Program {
        let chunk = state.compile(source.as_bytes(), name).expect("compile");
        Program { state, chunk, n }
    }

    fn run(&self) -> Duration {
        let env = self.state.new_env().expect("env");
        let started = Instant::now();
        let values = self
            .state
            .run_chunk(&self.chunk, &env, self.n)
            .unwrap_or_else(|e| panic!("{}: {e}", self.chunk.name()));
        let elapsed = started.elapsed();
        black_box(values);
        elapsed / self.n as u32
    }
}

/// Runs the named programs interleaved for `rounds` rounds: the variants
/// (for the table's names) and their medians.
fn measure<'a>(
    rounds: usize,
    programs: &'a [(&'a str, Program)],
) -> (Vec<Variant<'a>>, Vec<Duration>) {
    let mut variants: Vec<Variant<'a>> = programs
        .iter()
        .map(|(name, program)| {
            (
                *name,
                Box::new(|| program.run()) as Box<dyn FnMut() -> Duration>,
            )
        })
        .collect();
    let medians = interleave(rounds, &mut variants);
    (variants, medians)
}

/// A sentence of 20 words, 116 bytes.
const TEXT: &str = "local TEXT = 'the quick brown fox jumps over the lazy dog while five wizards \
                    quickly box the jumping frogs near a quiet river bank'\n";

/// Each pattern program: a name and a body run `n` times (`...` is `n`).
const PATTERNS: &[(&str, &str)] = &[
    (
        "plain `find(s, 'river', 1, true)`",
        "local find, s = string.find, TEXT
         for _ = 1, ... do find(s, 'river', 1, true) end",
    ),
    (
        "`find` without specials (`'river'`)",
        "local find, s = string.find, TEXT
         for _ = 1, ... do find(s, 'river') end",
    ),
    (
        "`find` with a pattern (`'(%a+) bank'`)",
        "local find, s = string.find, TEXT
         for _ = 1, ... do find(s, '(%a+) bank') end",
    ),
    (
        "`match` with two captures",
        "local match = string.match
         for _ = 1, ... do match('speed = 42', '(%w+)%s*=%s*(%w+)') end",
    ),
    (
        "`gsub` with a function (20 words)",
        "local gsub, s = string.gsub, TEXT
         local function same(w) return w end
         for _ = 1, ... do gsub(s, '%w+', same) end",
    ),
    (
        "`gsub` with a string (`'%1!'`)",
        "local gsub, s = string.gsub, TEXT
         for _ = 1, ... do gsub(s, '(%w+)', '%1!') end",
    ),
    (
        "`gmatch` word loop (20 words)",
        "local gmatch, s = string.gmatch, TEXT
         for _ = 1, ... do
             local n = 0
             for _ in gmatch(s, '%a+') do n = n + 1 end
         end",
    ),
    (
        "`gmatch` over 140 KB (per pass)",
        "local gmatch, s = string.gmatch, TEXT:rep(1200)
         for _ = 1, ... do
             local n = 0
             for _ in gmatch(s, '%a+') do n = n + 1 end
         end",
    ),
];

/// The pattern programs on stock's functions and the safe profile's: the
/// counted C functions, or with `own` Zephyr's own matcher.
fn patterns(rounds: usize, quick: bool, own: bool) {
    let calls = if quick { 2_000 } else { 20_000 };
    let mut programs = Vec::new();
    for (i, (name, body)) in PATTERNS.iter().enumerate() {
        let source = format!("{TEXT}{body}");
        let n = if name.contains("140 KB") {
            calls / 2000
        } else {
            calls
        };
        let chunk = format!("pattern{i}");
        for profile in [Profile::Trusted, Profile::Safe] {
            let state = state(profile, Limits::default());
            if own && profile == Profile::Safe {
                state.use_own_pattern_matcher().expect("own matcher");
            }
            programs.push((*name, Program::new(state, &source, &chunk, n)));
        }
    }
    let (variants, medians) = measure(rounds, &programs);
    let (title, safe) = if own {
        (
            "Pattern functions, per call: stock Lua's (trusted) against Zephyr's own matcher (the safe profile on a Lua without Zephyr's patch), default budget on both",
            "own matcher",
        )
    } else {
        (
            "Pattern functions, per call: stock Lua's (trusted) against the safe profile's counted C functions, default budget on both",
            "safe",
        )
    };
    pair_table(title, ["stock C", safe], &variants, &medians, ns);
}

/// What bounds the own matcher's call: stock's C `find` against an mlua
/// function that takes the same arguments the way the own `find` does (the
/// subject as a reference, the pattern copied off the stack) and does
/// nothing, and against the own `find` itself, all on the same loop.
fn floor(rounds: usize, quick: bool) {
    let calls = if quick { 2_000 } else { 20_000 };
    let with_floor = |profile| {
        ScriptState::new(
            &StateConfig {
                profile,
                ..StateConfig::default()
            },
            |lua, api| {
                api.set(
                    "floor",
                    lua.create_function(|_, _: (Value, BString, Value, Value)| Ok(()))?,
                )
            },
        )
        .expect("state")
    };
    let body = |call: &str| format!("{TEXT}local s = TEXT for _ = 1, ... do {call} end");
    let programs = [
        (
            "stock C `find` (trusted)",
            Program::new(
                with_floor(Profile::Trusted),
                &body("string.find(s, 'river', 1, true)"),
                "floor0",
                calls,
            ),
        ),
        (
            "an empty mlua function, the same arguments (safe)",
            Program::new(
                with_floor(Profile::Safe),
                &body("floor(s, 'river', 1, true)"),
                "floor1",
                calls,
            ),
        ),
        (
            "the own matcher's `find`",
            Program::new(
                {
                    let state = with_floor(Profile::Safe);
                    state.use_own_pattern_matcher().expect("own matcher");
                    state
                },
                &body("string.find(s, 'river', 1, true)"),
                "floor2",
                calls,
            ),
        ),
    ];
    let (variants, medians) = measure(rounds, &programs);
    table(
        "What bounds the own matcher's call: plain `find(s, 'river', 1, true)` against an empty mlua function taking the same arguments",
        "per call",
        &variants,
        &medians,
        ns,
    );
}

/// Small pure-Lua programs, each run `n` times per round (`...` is `n`).
const PROGRAMS: &[(&str, &str)] = &[
    (
        "numeric loop (integer and float arithmetic)",
        "local s, f = 0, 0.5
         for i = 1, ... * 100 do
             s = s + (i * i) % 7
             f = f * 0.999 + i / 3
         end
         return s, f",
    ),
    (
        "table-heavy (records, array, field sums)",
        "local n = ...
         for _ = 1, n do
             local list = {}
             for i = 1, 50 do list[#list + 1] = { x = i, y = i * 2, name = 'p' } end
             local sum = 0
             for i = 1, #list do local p = list[i]; sum = sum + p.x * p.y end
             local map = {}
             for i = 1, 50 do map[i * 3] = list[i] end
             for k, v in pairs(map) do sum = sum + k + v.x end
         end",
    ),
    (
        "string-heavy (format, concat, sub, byte)",
        "local format, concat, sub, byte = string.format, table.concat, string.sub, string.byte
         for _ = 1, ... do
             local parts = {}
             for i = 1, 20 do parts[i] = format('%d:%s', i, sub('abcdefgh', 1, i % 8)) end
             local s = concat(parts, ',')
             local h = 0
             for i = 1, #s, 3 do h = (h * 31 + byte(s, i)) % 65536 end
             s = s .. h
         end",
    ),
    (
        "closures (make and call, upvalues, varargs)",
        "local function adder(k) return function(x) return x + k end end
         local function apply(f, ...) return f(...) end
         local s = 0
         for i = 1, ... * 10 do
             local f = adder(i)
             s = apply(f, s) % 1000003
         end
         return s",
    ),
    (
        "method calls (a class with a metatable)",
        "local Point = {}
         Point.__index = Point
         function Point.new(x, y) return setmetatable({ x = x, y = y }, Point) end
         function Point:add(o) return Point.new(self.x + o.x, self.y + o.y) end
         function Point:len2() return self.x * self.x + self.y * self.y end
         local acc, step = Point.new(0, 0), Point.new(1, 2)
         for _ = 1, ... * 10 do acc = acc:add(step); if acc:len2() > 1e9 then acc = Point.new(0, 0) end end
         return acc.x",
    ),
];

fn budget(rounds: usize, quick: bool) {
    let n = if quick { 200 } else { 2_000 };
    let off = Limits {
        instructions: 0,
        ..Limits::default()
    };
    let mut programs = Vec::new();
    for (i, (name, source)) in PROGRAMS.iter().enumerate() {
        let chunk = format!("program{i}");
        for limits in [off, Limits::default()] {
            let state = state(Profile::Safe, limits);
            programs.push((*name, Program::new(state, source, &chunk, n)));
        }
    }
    let (variants, medians) = measure(rounds, &programs);
    pair_table(
        "The instruction budget on pure-Lua programs, safe profile: budget off against the default budget (time per iteration of the program's loop)",
        ["budget off", "default budget"],
        &variants,
        &medians,
        us,
    );
}

fn main() {
    let args = support::Args::parse();
    let rounds = args.rounds.unwrap_or(if args.quick { 3 } else { 7 });
    println!("# zephyr sandbox costs ({rounds} rounds, medians)");
    if args.runs("patterns") {
        patterns(rounds, args.quick, false);
    }
    if args.runs("own") {
        patterns(rounds, args.quick, true);
    }
    if args.runs("floor") {
        floor(rounds, args.quick);
    }
    if args.runs("budget") {
        budget(rounds, args.quick);
    }
}
