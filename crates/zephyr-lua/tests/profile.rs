//! The profiler: per-function self and total time and calls, the call
//! stacks, labels, and what the hook does with errors, coroutines, tail
//! calls and recursion.

use std::time::Duration;

use zephyr_lua::profile::{Profiler, Report, begin_label, finish_label};
use zephyr_lua::{Profile, ScriptState, StateConfig};

fn profiled(profile: Profile) -> (ScriptState, Profiler) {
    let profiler = Profiler::new();
    let config = StateConfig {
        profile,
        profiler: Some(profiler.clone()),
        ..StateConfig::default()
    };
    let state = ScriptState::new(&config, |lua, api| {
        api.set(
            "label",
            lua.create_function(|lua, name: String| {
                begin_label(lua, &name);
                Ok(())
            })?,
        )?;
        api.set(
            "finish",
            lua.create_function(|lua, ()| Ok(finish_label(lua)))?,
        )?;
        Ok(())
    })
    .expect("state");
    (state, profiler)
}

fn function<'r>(report: &'r Report, name: &str) -> &'r zephyr_lua::profile::FunctionTime {
    report
        .functions
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no {name} in {:#?}", report.functions))
}

/// The collapsed stacks as (frames, microseconds), checking every line's form.
fn collapsed(report: &Report) -> Vec<(Vec<String>, u64)> {
    let mut out = Vec::new();
    report.write_collapsed(&mut out).expect("written");
    String::from_utf8(out)
        .expect("UTF-8")
        .lines()
        .map(|line| {
            let (stack, count) = line.rsplit_once(' ').expect("`stack N`");
            let count: u64 = count.parse().expect("a whole number");
            assert!(count > 0, "{line}");
            let frames: Vec<String> = stack.split(';').map(str::to_owned).collect();
            assert!(frames.iter().all(|f| !f.is_empty()), "{line}");
            (frames, count)
        })
        .collect()
}

const HOT: &str = r#"
local function hot(n)
  local s = 0
  for i = 1, n do s = s + i % 7 end
  return s
end
local function cold() return 1 end
local function both()
  hot(20000)
  local one = cold()
  return one
end
for _ = 1, 20 do both() end
"#;

#[test]
fn the_hot_function_is_first_by_self_time_with_its_calls_counted() {
    for profile in [Profile::Safe, Profile::Trusted] {
        let (state, profiler) = profiled(profile);
        state.execute(HOT, "hot.lua").expect("runs");
        let report = profiler.report();
        let top = report.by_self_time();
        assert_eq!(top[0].name, "hot", "{profile:?}: {top:#?}");
        assert_eq!(top[0].place, "hot.lua:2");
        assert_eq!(function(&report, "hot").calls, 20);
        assert_eq!(function(&report, "cold").calls, 20);
        let both = function(&report, "both");
        assert_eq!(both.calls, 20);
        // Total time holds the callees' time; self time does not.
        assert!(both.total_time >= function(&report, "hot").total_time);
        assert!(both.self_time < both.total_time);
        let main = function(&report, "main chunk");
        assert_eq!(
            (main.place.as_str(), main.calls),
            ("hot.lua", 1),
            "{profile:?}"
        );

        let stacks = collapsed(&report);
        let hottest = stacks.iter().max_by_key(|(_, n)| *n).expect("stacks");
        assert_eq!(
            hottest.0,
            [
                "main chunk (hot.lua)",
                "both (hot.lua:8)",
                "hot (hot.lua:2)"
            ],
            "{profile:?}"
        );
        // The summary lists it first too.
        let summary = report.summary(10);
        let first = summary.lines().nth(1).expect("a row");
        assert!(first.ends_with("hot (hot.lua:2)"), "{summary}");
    }
}

#[test]
fn labels_are_frames_and_nest_and_close_with_their_execution() {
    let (state, profiler) = profiled(Profile::Safe);
    state
        .execute(
            r#"
local function work() local s = 0 for i = 1, 3000 do s = s + i end return s end
label("outer")
work()
label("inner")
work()
assert(finish() == true)
assert(finish() == true)
assert(finish() == false, "nothing left open")
label("left open")
work()
"#,
            "labels.lua",
        )
        .expect("runs");
    let report = profiler.report();
    let stacks: Vec<Vec<String>> = collapsed(&report).into_iter().map(|(f, _)| f).collect();
    let has = |frames: &[&str]| stacks.iter().any(|s| s == frames);
    assert!(
        has(&[
            "main chunk (labels.lua)",
            "[label] outer",
            "[label] inner",
            "work (labels.lua:2)"
        ]),
        "{stacks:#?}"
    );
    assert!(has(&[
        "main chunk (labels.lua)",
        "[label] outer",
        "work (labels.lua:2)"
    ]));
    assert!(has(&[
        "main chunk (labels.lua)",
        "[label] left open",
        "work (labels.lua:2)"
    ]));
    assert_eq!(function(&report, "outer").calls, 1);
    assert_eq!(function(&report, "outer").place, "label");
    // The label left open ended with the execution: the next execution's
    // frames are not under it, and finishing there finds nothing.
    state
        .execute(
            "assert(finish() == false) local x = 0 for i = 1, 10 do x = x + i end",
            "next.lua",
        )
        .expect("runs");
    let report = profiler.report();
    assert!(
        collapsed(&report)
            .iter()
            .all(|(f, _)| !(f.len() > 1 && f[0] == "[label] left open")),
        "nothing after the execution is under the open label"
    );
}

#[test]
fn errors_coroutines_tail_calls_and_recursion_keep_the_stack_whole() {
    let (state, profiler) = profiled(Profile::Safe);
    state
        .execute(
            r#"
local function fail(n) if n == 0 then error("deep") end return fail(n - 1) + 1 end
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local function tail(n) if n == 0 then return 0 end return tail(n - 1) end
local function gen() for i = 1, 3 do coroutine.yield(i) end end
for _ = 1, 5 do
  assert(not pcall(fail, 10))
  fib(12)
  tail(50)
  local co = coroutine.wrap(gen)
  co() co() co()
end
"#,
            "shapes.lua",
        )
        .expect("runs");
    let report = profiler.report();
    // fib: 5 runs of fib(12), 465 calls each; total time counted once per
    // outermost call, so it is no more than the main chunk's.
    let fib = function(&report, "fib");
    assert_eq!(fib.calls, 5 * 465);
    let main = function(&report, "main chunk");
    assert!(fib.total_time <= main.total_time, "{fib:?} {main:?}");
    assert_eq!(function(&report, "tail").calls, 5 * 51);
    assert_eq!(function(&report, "fail").calls, 5 * 11);
    // A coroutine's body is called by `resume` (from C): Lua has no name
    // for it.
    let body = report
        .functions
        .iter()
        .find(|f| f.place == "shapes.lua:5")
        .expect("gen");
    assert_eq!((body.name.as_str(), body.calls), ("function", 5));
    // Every stack starts at the main chunk: nothing an error unwound or a
    // coroutine left behind became a root.
    for (frames, _) in collapsed(&report) {
        assert_eq!(frames[0], "main chunk (shapes.lua)", "{frames:?}");
    }
    // The frames an error unwound ended with the execution: the next one
    // starts from nothing.
    state
        .execute("local function after() return 1 end after()", "after.lua")
        .expect("runs");
    let report = profiler.report();
    let (frames, _) = report
        .stacks
        .iter()
        .find(|(frames, _)| frames.last().is_some_and(|f| f == "after (after.lua:1)"))
        .expect("after's stack");
    assert_eq!(frames, &["main chunk (after.lua)", "after (after.lua:1)"]);
}

#[test]
fn a_budget_stop_and_a_runaway_are_unchanged_under_the_profiler() {
    let profiler = Profiler::new();
    let config = StateConfig {
        limits: zephyr_lua::Limits {
            instructions: 100_000,
            ..zephyr_lua::Limits::default()
        },
        profiler: Some(profiler.clone()),
        ..StateConfig::default()
    };
    let state = ScriptState::new(&config, |_, _| Ok(())).expect("state");
    let error = state
        .execute(
            "local function spin() while true do end end spin()",
            "spin.lua",
        )
        .expect_err("stopped");
    assert_eq!(error.kind, zephyr_lua::ScriptErrorKind::BudgetExceeded);
    assert!(error.message.contains("spin.lua:1:"), "{}", error.message);
    // The stopped frames ended with the execution.
    let report = profiler.report();
    assert_eq!(function(&report, "spin").calls, 1);
    assert!(function(&report, "spin").self_time > Duration::ZERO);
}

#[test]
fn one_profiler_merges_many_states_and_a_state_without_one_records_nothing() {
    let profiler = Profiler::new();
    let config = StateConfig {
        profiler: Some(profiler.clone()),
        ..StateConfig::default()
    };
    std::thread::scope(|scope| {
        for _ in 0..3 {
            let config = config.clone();
            scope.spawn(move || {
                let state = ScriptState::new(&config, |_, _| Ok(())).expect("state");
                for _ in 0..4 {
                    state
                        .execute("local function f() return 1 end f() f()", "many.lua")
                        .expect("runs");
                }
            });
        }
    });
    let report = profiler.report();
    assert_eq!(function(&report, "f").calls, 3 * 4 * 2);
    assert_eq!(function(&report, "main chunk").calls, 3 * 4);

    // Without a profiler, labels still balance (for the trace) and nothing
    // is recorded anywhere.
    let plain = ScriptState::new(&StateConfig::default(), |lua, api| {
        api.set(
            "finish",
            lua.create_function(|lua, ()| Ok(finish_label(lua)))?,
        )
    })
    .expect("state");
    let values = plain.execute("return finish()", "plain.lua").expect("runs");
    assert_eq!(values[0].to_string(), "false");
    assert_eq!(profiler.report().functions.len(), report.functions.len());
}
