//! Hostile code stays bounded in the safe profile, long C calls included:
//! C functions whose time their input does not bound charge the budget,
//! and the memory limit bounds the ones whose time grows with what they
//! build.

use zephyr_lua::{Limits, ScriptErrorKind, ScriptState, StateConfig};

fn safe() -> ScriptState {
    ScriptState::new(&StateConfig::default(), |_, _| Ok(())).expect("state")
}

#[test]
fn c_calls_that_would_run_for_ever_stop_within_the_budget() {
    let state = safe();
    for (function, call) in [
        ("string.rep", "local _ = string.rep('', math.maxinteger)"),
        ("string.rep", "local _ = (''):rep(math.maxinteger, '')"),
        ("table.move", "table.move({}, 1, math.maxinteger - 1, 2)"),
        (
            "table.unpack",
            "for i = 1, 1e6 do local _ = select('#', table.unpack({}, 1, 500000)) end",
        ),
        ("collectgarbage", "for i = 1, 1e7 do collectgarbage() end"),
        (
            "table.sort",
            "local t = {} for i = 1, 2e5 do t[i] = -i end for i = 1, 1e4 do table.sort(t) end",
        ),
        (
            "string.find",
            "local _ = string.find(string.rep('a', 30000), string.rep('.-', 6) .. 'b')",
        ),
    ] {
        let source = format!("local ok = pcall(function()\n{call}\nend)\nreturn 'survived'");
        let error = match state.execute(&source, "hostile.lua") {
            Ok(values) => panic!("{call}: not stopped: {values:?}"),
            Err(error) => error,
        };
        assert_eq!(
            error.kind,
            ScriptErrorKind::BudgetExceeded,
            "{call}: {error}"
        );
        assert!(
            error.message.starts_with("hostile.lua:2: ") && error.message.contains(function),
            "{call}: {}",
            error.message
        );
    }
}

#[test]
fn the_same_functions_behave_as_lua_s_on_ordinary_input() {
    let state = safe();
    let values = state
        .execute(
            "local t = table.move({1, 2, 3}, 1, 3, 2)
             local s = {5, 3, 9, 1}
             table.sort(s)
             table.sort(s, function(a, b) return a > b end)
             return string.rep('ab', 3, ','), ('x'):rep(0), table.concat(t, ''),
                    select('#', table.unpack({}, 1, 3)), table.concat(s, ' '),
                    collectgarbage('count') > 0, string.rep('-', 5000):len()",
            "ordinary.lua",
        )
        .expect("ordinary calls");
    let text: Vec<String> = values.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        ["ab,ab,ab", "", "1123", "3", "9 5 3 1", "true", "5000"]
    );
}

#[test]
fn what_grows_with_its_output_is_bounded_by_the_memory_limit() {
    let state = ScriptState::new(
        &StateConfig {
            limits: Limits {
                memory: 16 * 1024 * 1024,
                ..Limits::default()
            },
            ..StateConfig::default()
        },
        |_, _| Ok(()),
    )
    .expect("state");
    for call in [
        "local _ = string.rep('x', 1e9)",
        "local s = 'x' for i = 1, 40 do s = s .. s end",
        "local t = {} for i = 1, 1e8 do t[i] = i end",
        "local _ = table.concat(setmetatable({}, {__index = function() return 'xxxxxxxx' end}), '', 1, 1e8)",
        "local _ = string.format('%s%s', string.rep('y', 1e7), string.rep('z', 1e7))",
    ] {
        let error = state.execute(call, "grow.lua").unwrap_err();
        assert_eq!(error.kind, ScriptErrorKind::OutOfMemory, "{call}: {error}");
    }
    // And the state is usable after each.
    assert_eq!(
        state.execute("return 1 + 1", "after.lua").unwrap()[0].to_string(),
        "2"
    );
}
