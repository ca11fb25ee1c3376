//! Lua that behaves like Lua: the idioms of stock Lua 5.4 work in both
//! profiles (`pairs(_G)`, the strict-globals idiom, `xpcall(f,
//! debug.traceback)`, `require "string" == string`, `package.loaded`),
//! while the safe profile keeps every execution's globals its own.

use zephyr_lua::{Profile, ScriptState, StateConfig};

fn state(profile: Profile) -> ScriptState {
    ScriptState::new(
        &StateConfig {
            profile,
            ..StateConfig::default()
        },
        |_, _| Ok(()),
    )
    .expect("state")
}

fn eval(state: &ScriptState, source: &str) -> String {
    match state.execute(source, "feel.lua") {
        Ok(values) => values
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        Err(e) => format!("ERROR: {e}"),
    }
}

const PROFILES: [Profile; 2] = [Profile::Safe, Profile::Trusted];

#[test]
fn pairs_and_next_over_g_list_the_built_ins() {
    for profile in PROFILES {
        let s = state(profile);
        let listed = eval(
            &s,
            "mine = 1
             local seen = {}
             for k in pairs(_G) do seen[k] = true end
             local n = 0
             for k in next, _G do n = n + 1 end
             return seen.print, seen.string, seen.pairs, seen.mine, seen._G, n > 20,
                    rawget(_G, 'print') == print, _G._G == _G, _ENV == _G",
        );
        assert_eq!(
            listed, "true,true,true,true,true,true,true,true,true",
            "{profile:?}"
        );
    }
}

#[test]
fn the_strict_globals_idiom_works() {
    for profile in PROFILES {
        let s = state(profile);
        let result = eval(
            &s,
            "declared = 1
             setmetatable(_G, {
               __newindex = function(t, k, v) error('assignment to undeclared ' .. k, 2) end,
               __index = function(_, k) error('undeclared ' .. k, 2) end,
             })
             local ok1, e1 = pcall(function() return undeclared_name end)
             local ok2, e2 = pcall(function() fresh = 1 end)
             return declared, print ~= nil, ok1, e1, ok2, e2",
        );
        assert_eq!(
            result,
            "1,true,false,feel.lua:6: undeclared undeclared_name,false,\
             feel.lua:7: assignment to undeclared fresh",
            "{profile:?}"
        );
    }
}

#[test]
fn one_scripts_view_of_g_never_reaches_another() {
    let s = state(Profile::Safe);
    // The first execution takes its _G apart in every way it can.
    let first = eval(
        &s,
        "local G, pairs, setmetatable, rawget, next = _G, pairs, setmetatable, rawget, next
         for k in pairs(G) do G[k] = nil end
         setmetatable(G, nil)
         return rawget(G, 'print'), next(G)",
    );
    assert_eq!(first, "nil,nil");
    // The next one still has everything, and the libraries are read-only.
    assert_eq!(
        eval(
            &s,
            "local ok = pcall(function() string.upper = nil end)
             return type(print), type(string.upper), ok, getmetatable(_G)"
        ),
        "function,function,false,nil"
    );
}

#[test]
fn xpcall_with_debug_traceback_works_in_both_profiles() {
    for profile in PROFILES {
        let s = state(profile);
        let result = eval(
            &s,
            "local function inner() error('boom') end
             local function outer() inner() end
             local ok, trace = xpcall(outer, debug.traceback)
             return ok, trace",
        );
        assert!(
            result.starts_with("false,feel.lua:1: boom\nstack traceback:"),
            "{profile:?}: {result}"
        );
        assert!(
            result.contains("in upvalue 'inner'")
                || result.contains("in local 'inner'")
                || result.contains("inner"),
            "{result}"
        );
        assert!(
            !result.contains("zephyr.sandbox"),
            "the sandbox's frames are hidden: {result}"
        );
        // A non-string message comes back untouched; a level skips frames.
        assert_eq!(
            eval(
                &s,
                "local t = {} return debug.traceback(t) == t, \
                 debug.traceback('hi'):match('^hi\\nstack traceback:') ~= nil, \
                 debug.traceback():match('^stack traceback:') ~= nil"
            ),
            "true,true,true",
            "{profile:?}"
        );
    }
}

#[test]
fn debug_getinfo_answers_the_read_only_questions() {
    for profile in PROFILES {
        let s = state(profile);
        let result = eval(
            &s,
            "local function where()
               local info = debug.getinfo(1, 'Sln')
               return info.short_src, info.currentline, info.linedefined, info.what, info.name
             end
             local a, b, c, d, e = where()
             local f = debug.getinfo(where, 'S')
             return a, b, c, d, e, f.linedefined, f.lastlinedefined, debug.getinfo(print).what,
                    debug.getinfo(100) == nil",
        );
        assert_eq!(result, "feel.lua,2,1,Lua,where,1,4,C,true", "{profile:?}");
    }
    // What could reach another function's insides is not there in the safe
    // profile, and says so.
    let s = state(Profile::Safe);
    let refused = eval(&s, "return pcall(debug.getinfo, 1, 'f')");
    assert!(
        refused.contains("option 'f' is not available in the safe profile"),
        "{refused}"
    );
}

#[test]
fn require_and_package_loaded_agree() {
    for profile in PROFILES {
        let s = state(profile);
        assert_eq!(
            eval(
                &s,
                "return require('string') == string, require('math') == math, \
                 package.loaded.string == string, package.loaded._G == _G or package.loaded._G ~= nil, \
                 type(package.path)"
            ),
            "true,true,true,true,string",
            "{profile:?}"
        );
    }
    // A value put in package.loaded is what require returns, per execution.
    let s = state(Profile::Safe);
    assert_eq!(
        eval(
            &s,
            "package.loaded.mymod = {v = 7} return require('mymod').v"
        ),
        "7"
    );
    assert_eq!(
        eval(&s, "return pcall(require, 'mymod')"),
        eval(&s, "return pcall(require, 'mymod')")
    );
    assert!(eval(&s, "return package.loaded.mymod").contains("nil"));
}
