//! The debugger in a state: breakpoints (conditions, hit counts, log
//! messages), steps, pause, what a stop shows, evaluation, and that the
//! budget and the sandbox keep their guarantees.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use zephyr_lua::debugger::{Breakpoint, Controller, Debugger, Resume, Stop, StopReason};
use zephyr_lua::{Limits, ScriptState, StateConfig};

/// What one stop showed.
#[derive(Debug, Clone)]
struct Seen {
    reason: StopReason,
    /// `name@line` of each frame, innermost first.
    frames: Vec<String>,
    /// `name=value` of frame 0's locals.
    locals: Vec<String>,
    /// What each asked expression gave.
    evaluated: Vec<Result<String, String>>,
}

#[derive(Default)]
struct Recorder {
    stops: Mutex<Vec<Seen>>,
    logs: Mutex<Vec<(String, String)>>,
    /// How each stop goes on (then: continue).
    resumes: Mutex<VecDeque<Resume>>,
    /// Expressions to evaluate at each stop, in frame 0.
    ask: Mutex<Vec<String>>,
}

impl Controller for Recorder {
    fn stopped(&self, stop: &mut Stop<'_>) -> Resume {
        let frames = stop
            .frames()
            .into_iter()
            .map(|f| {
                format!(
                    "{}@{}",
                    f.name.as_deref().unwrap_or("?"),
                    f.line.unwrap_or(0)
                )
            })
            .collect();
        let scopes = stop.scopes(0);
        let locals = stop
            .variables(scopes[0].reference)
            .into_iter()
            .map(|v| format!("{}={}", v.name, v.value))
            .collect();
        let ask = self.ask.lock().clone();
        let evaluated = ask
            .iter()
            .map(|e| stop.evaluate(0, e).map(|v| v.value))
            .collect();
        self.stops.lock().push(Seen {
            reason: stop.reason().clone(),
            frames,
            locals,
            evaluated,
        });
        self.resumes.lock().pop_front().unwrap_or(Resume::Continue)
    }

    fn log(&self, message: &str, place: &str) {
        self.logs
            .lock()
            .push((message.to_owned(), place.to_owned()));
    }
}

fn file(name: &str) -> PathBuf {
    PathBuf::from("/virtual").join(name)
}

fn session(limits: Limits) -> (ScriptState, Debugger, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let debugger = Debugger::new(recorder.clone(), |chunk| Some(file(chunk)));
    let config = StateConfig {
        limits,
        debugger: Some(debugger.clone()),
        ..StateConfig::default()
    };
    let state = ScriptState::new(&config, |_, _| Ok(())).expect("state");
    (state, debugger, recorder)
}

fn at(line: u32) -> Breakpoint {
    Breakpoint {
        line,
        ..Breakpoint::default()
    }
}

const LOOP: &str = "local total = 0            -- 1
local function add(a, b)                      -- 2
  local sum = a + b                           -- 3
  return sum                                  -- 4
end                                           -- 5
for i = 1, 5 do                               -- 6
  total = add(total, i)                       -- 7
end                                           -- 8
return total                                  -- 9
";

#[test]
fn a_breakpoint_stops_with_the_stack_and_the_locals() {
    let (state, debugger, seen) = session(Limits::default());
    debugger.set_breakpoints(&file("loop.lua"), vec![at(3)]);
    let values = state.execute(LOOP, "loop.lua").expect("runs");
    assert_eq!(values[0].to_string(), "15");
    let stops = seen.stops.lock();
    assert_eq!(stops.len(), 5, "once per call: {stops:#?}");
    assert_eq!(stops[0].reason, StopReason::Breakpoint(3));
    assert_eq!(stops[0].frames, ["add@3", "main chunk@7"]);
    assert_eq!(stops[0].locals, ["a=0", "b=1"]);
    assert_eq!(stops[4].locals, ["a=10", "b=5"]);
}

#[test]
fn conditions_hit_counts_and_log_messages() {
    let (state, debugger, seen) = session(Limits::default());
    debugger.set_breakpoints(
        &file("loop.lua"),
        vec![
            Breakpoint {
                line: 3,
                condition: Some("b == 4".into()),
                ..Breakpoint::default()
            },
            Breakpoint {
                line: 7,
                hit_condition: Some("% 2".into()),
                ..Breakpoint::default()
            },
            Breakpoint {
                line: 4,
                log_message: Some("sum is {sum}, {{braces}}, {nope(}".into()),
                ..Breakpoint::default()
            },
        ],
    );
    state.execute(LOOP, "loop.lua").expect("runs");
    let stops = seen.stops.lock();
    let reasons: Vec<_> = stops.iter().map(|s| s.reason.clone()).collect();
    assert_eq!(
        reasons,
        // Line 7 on its 2nd and 4th hits (i = 2, 4), line 3 when b is 4.
        [
            StopReason::Breakpoint(7),
            StopReason::Breakpoint(7),
            StopReason::Breakpoint(3)
        ],
        "{stops:#?}"
    );
    assert_eq!(stops[0].locals[2], "i=2");
    assert_eq!(stops[2].locals, ["a=6", "b=4"]);
    let logs = seen.logs.lock();
    assert_eq!(logs.len(), 5);
    assert!(logs[0].0.starts_with("sum is 1, {braces}, <"), "{logs:?}");
    assert_eq!(logs[4].1, "loop.lua:4");
}

#[test]
fn steps_go_over_in_and_out() {
    let (state, debugger, seen) = session(Limits::default());
    debugger.set_breakpoints(&file("loop.lua"), vec![at(7)]);
    seen.resumes.lock().extend([
        Resume::StepOver, // 7 -> 6 (the loop), over add
        Resume::StepOver, // 6 -> 7
        Resume::StepIn,   // 7 -> 3, into add
        Resume::StepOut,  // 3 -> 6: the rest of line 7 raises no line event
    ]);
    // Only the first hit of line 7 stops for the breakpoint; then steps.
    state.execute(LOOP, "loop.lua").expect("runs");
    let stops = seen.stops.lock();
    let lines: Vec<_> = stops
        .iter()
        .take(5)
        .map(|s| (s.reason.clone(), s.frames[0].clone()))
        .collect();
    assert_eq!(
        lines,
        [
            (StopReason::Breakpoint(7), "main chunk@7".to_owned()),
            (StopReason::Step, "main chunk@6".to_owned()),
            (StopReason::Step, "main chunk@7".to_owned()),
            (StopReason::Step, "add@3".to_owned()),
            (StopReason::Step, "main chunk@6".to_owned()),
        ],
        "{stops:#?}"
    );
}

#[test]
fn pause_and_entry_stop_at_the_next_line_even_in_a_loop_without_calls() {
    // No budget: the loop runs until the pause, however fast the machine.
    let (state, debugger, seen) = session(Limits::NONE);
    debugger.stop_on_entry();
    state
        .execute("local x = 1\nlocal y = 2\nreturn x + y", "entry.lua")
        .expect("runs");
    assert_eq!(seen.stops.lock()[0].reason, StopReason::Entry);
    assert_eq!(seen.stops.lock()[0].frames, ["main chunk@1"]);

    // Paused from another thread while a loop without calls spins.
    let pauser = {
        let debugger = debugger.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            debugger.pause();
        })
    };
    seen.ask.lock().push("done = true".into());
    state
        .execute(
            "done = false\nlocal n = 0\nwhile not done do n = n + 1 end\nreturn n",
            "spin.lua",
        )
        .expect("the evaluation ended the loop");
    pauser.join().unwrap();
    let stops = seen.stops.lock();
    assert_eq!(stops[1].reason, StopReason::Pause);
    assert_eq!(stops[1].frames, ["main chunk@3"]);
}

#[test]
fn evaluation_reads_and_writes_the_frame_and_is_stopped_when_it_runs_away() {
    let (state, debugger, seen) = session(Limits {
        instructions: 1_000_000,
        ..Limits::default()
    });
    debugger.set_breakpoints(&file("eval.lua"), vec![at(4)]);
    seen.ask.lock().extend([
        "a + up".to_owned(),
        "a = 100".to_owned(),
        "string.format('%d', a)".to_owned(),
        "missing.field".to_owned(),
        "while true do end".to_owned(),
        "g".to_owned(),
    ]);
    let values = state
        .execute(
            "g = 'global'\nlocal up = 10\nlocal function f(a)\n  return a + up\nend\nlocal r = f(1)\nreturn r",
            "eval.lua",
        )
        .expect("runs: evaluating cost the script none of its budget");
    // The assignment changed the local the function then used.
    assert_eq!(values[0].to_string(), "110");
    let stops = seen.stops.lock();
    let evaluated = &stops[0].evaluated;
    assert_eq!(evaluated[0], Ok("11".into()));
    assert_eq!(evaluated[2], Ok("\"100\"".into()), "{evaluated:?}");
    assert!(
        evaluated[3].as_ref().is_err_and(|e| e.contains("missing")),
        "{evaluated:?}"
    );
    assert!(
        evaluated[4]
            .as_ref()
            .is_err_and(|e| e.contains("was stopped")),
        "{evaluated:?}"
    );
    assert_eq!(evaluated[5], Ok("\"global\"".into()), "{evaluated:?}");
}

#[test]
fn a_runaway_loop_is_still_stopped_by_the_budget_under_the_debugger() {
    let (state, debugger, _seen) = session(Limits {
        instructions: 100_000,
        ..Limits::default()
    });
    debugger.set_breakpoints(&file("spin.lua"), vec![at(1)]);
    let error = state
        .execute("local n = 0\nwhile true do n = n + 1 end", "spin.lua")
        .expect_err("stopped");
    assert_eq!(error.kind, zephyr_lua::ScriptErrorKind::BudgetExceeded);
}

#[test]
fn scripts_never_reach_the_debuggers_functions() {
    let (state, debugger, seen) = session(Limits::default());
    debugger.set_breakpoints(&file("h.lua"), vec![at(2)]);
    seen.ask.lock().push("getmetatable(_ENV)".into());
    let values = state
        .execute(
            "local x = 1\nlocal y = 2\n\
             local d = debug or {}\n\
             return d.getlocal, d.setlocal, d.getupvalue, d.setupvalue, d.upvaluejoin, d.sethook",
            "h.lua",
        )
        .expect("runs");
    let text: Vec<String> = values.iter().map(ToString::to_string).collect();
    assert!(text.iter().all(|v| v == "nil"), "{text:?}");
    // The evaluation environment's metatable is hidden.
    assert_eq!(seen.stops.lock()[0].evaluated[0], Ok("false".into()));
}

#[test]
fn errors_stop_where_they_are_raised_as_the_filters_say() {
    let script = "local function check(v)\n\
                  \x20 if v > 2 then error('too big: ' .. v) end\n\
                  \x20 return v\n\
                  end\n\
                  local ok = pcall(check, 5)\n\
                  local t = nil\n\
                  local n = check(1) + t.field\n";
    for (uncaught, caught, expected) in [
        (false, false, vec![]),
        (true, false, vec!["t@7"]),
        (true, true, vec!["?@2", "t@7"]),
    ] {
        let (state, debugger, seen) = session(Limits::default());
        debugger.stop_on_errors(uncaught, caught);
        seen.ask.lock().push("v or 'none'".into());
        let error = state.execute(script, "errors.lua").expect_err("fails");
        assert!(
            error.message.contains("attempt to index"),
            "{}",
            error.message
        );
        let stops = seen.stops.lock();
        let places: Vec<String> = stops
            .iter()
            .map(|s| {
                // Frame 0: the script's line that raised it (the sandbox's
                // `error` and the C function under it are left out).
                let at = &s.frames[0];
                let name = if at.starts_with("main chunk") {
                    "t"
                } else {
                    at.split('@').next().unwrap()
                };
                format!("{name}@{}", at.split('@').nth(1).unwrap())
            })
            .collect();
        assert_eq!(places, expected, "{stops:#?}");
        if caught {
            // In the function that raised it: its locals.
            assert_eq!(stops[0].evaluated[0], Ok("5".into()));
        }
        for stop in stops.iter() {
            let StopReason::Exception(message) = &stop.reason else {
                panic!("{stop:?}");
            };
            assert!(
                message.contains("too big: 5") || message.contains("attempt to index"),
                "{message}"
            );
        }
    }
}

#[test]
fn a_budget_stop_is_not_an_error_stop() {
    let (state, debugger, seen) = session(Limits {
        instructions: 100_000,
        ..Limits::default()
    });
    debugger.stop_on_errors(true, true);
    let error = state
        .execute("while true do end", "spin.lua")
        .expect_err("stopped");
    assert_eq!(error.kind, zephyr_lua::ScriptErrorKind::BudgetExceeded);
    assert!(seen.stops.lock().is_empty());
}

#[test]
fn an_error_object_s_tostring_never_runs_inside_the_hook() {
    let (state, debugger, seen) = session(Limits::default());
    debugger.stop_on_errors(true, false);
    // A __tostring that never returns: run inside the hook, nothing would
    // stop it.
    let error = state
        .execute(
            "error(setmetatable({}, { __tostring = function() while true do end end }))",
            "hostile.lua",
        )
        .expect_err("fails");
    let _ = error;
    let stops = seen.stops.lock();
    let StopReason::Exception(message) = &stops[0].reason else {
        panic!("{stops:?}");
    };
    assert!(
        message.starts_with("a table error object (table: "),
        "{message}"
    );
}

#[test]
fn a_breakpoint_set_while_its_function_runs_is_reached_in_that_call() {
    // No budget: the loop runs until it reaches the breakpoint.
    let (state, debugger, seen) = session(Limits::NONE);
    // Something from another thread sets the breakpoint while the loop runs
    // (as an editor does), then the loop reaches it.
    let setter = {
        let debugger = debugger.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            debugger.set_breakpoints(&file("late.lua"), vec![at(4)]);
        })
    };
    seen.ask.lock().push("done = true".into());
    state
        .execute(
            "done = false\nlocal n = 0\nwhile not done do\n  n = n + 1\nend\nreturn n",
            "late.lua",
        )
        .expect("the evaluation ended the loop");
    setter.join().unwrap();
    let stops = seen.stops.lock();
    assert_eq!(stops[0].reason, StopReason::Breakpoint(4), "{stops:?}");
}
