//! Real Lua code through `zephyr run`, as a modder runs it: the safe
//! profile's output is bytes, `require` resolves as stock Lua's does,
//! `io` reads files beside the script, and what the sandbox leaves out says
//! so, naming the function.

use std::process::Command;

mod common;
use common::{files, zephyr};

/// Runs `zephyr ARGS` in `dir`; stdout as bytes.
fn stdout_bytes(dir: &std::path::Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new(env!("CARGO_BIN_EXE_zephyr"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run zephyr");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn every_byte_value_reaches_stdout_unchanged_in_both_profiles() {
    // print, io.write, io.stdout:write, a worker job's print, and a
    // parallel behaviour's print: each writes the bytes 0..255.
    let script = "local all = {} for i = 0, 255 do all[#all + 1] = string.char(i) end
                  all = table.concat(all)
                  print(all)
                  io.write(all, '|')
                  io.stdout:write(all, '\\n')
                  console.execute('lua local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end print(table.concat(t))')";
    let dir = files(&[
        ("bytes.lua", script),
        (
            "scene.toml",
            "name = \"s\"\n[[entities]]\nname = \"P\"\nscript = \"par.lua\"\nparallel = true\n",
        ),
        (
            "par.lua",
            "function on_update() local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end print(table.concat(t)) end",
        ),
    ]);
    let all: Vec<u8> = (0..=255u8).collect();
    let mut expected = Vec::new();
    expected.extend_from_slice(&all);
    expected.push(b'\n');
    expected.extend_from_slice(&all);
    expected.push(b'|');
    expected.extend_from_slice(&all);
    expected.push(b'\n');
    expected.extend_from_slice(&all);
    expected.push(b'\n');
    for profile in [&[][..], &["--trusted"][..]] {
        let mut args = vec!["run", "bytes.lua", "--no-console"];
        args.extend_from_slice(profile);
        assert_eq!(stdout_bytes(dir.path(), &args), expected, "{profile:?}");
    }
    let mut line = all.clone();
    line.push(b'\n');
    assert_eq!(
        stdout_bytes(
            dir.path(),
            &["run", "scene.toml", "--frames", "1", "--no-console"]
        ),
        line
    );
    // A Latin-1 literal: E9, not EF BF BD.
    let latin = files(&[("cafe.lua", "print('caf\\233')")]);
    assert_eq!(
        stdout_bytes(latin.path(), &["run", "cafe.lua", "--no-console"]),
        b"caf\xe9\n"
    );
}

#[test]
fn the_console_s_equals_prints_string_bytes() {
    let dir = files(&[("c.lua", "function on_update() end")]);
    let output = Command::new(env!("CARGO_BIN_EXE_zephyr"))
        .current_dir(dir.path())
        .args(["run", "c.lua"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(b"= 'caf\\233', 1.5\nquit\n")?;
            child.wait_with_output()
        })
        .expect("run zephyr");
    assert_eq!(output.stdout, b"caf\xe9\t1.5\n");
}

#[test]
fn require_takes_slashes_and_package_path_stays_inside_the_roots() {
    let dir = files(&[
        (
            "spec/run.lua",
            "local h, file = require 'helpers/util'
             print(h.name, file)
             print(require('helpers.util') == h, require('helpers/util') == h)
             package.path = './lib/?.lua;' .. package.path
             print(require('extra').value)
             package.preload.virtual = function(name, data) return name .. ' from ' .. data end
             print(require 'virtual')
             print(package.searchpath('helpers.util', package.path))
             print(pcall(function() package.path = '../?.lua;' .. package.path end))
             print(pcall(require, 'missing/mod'))",
        ),
        ("spec/helpers/util.lua", "return { name = 'util' }"),
        ("spec/lib/extra.lua", "return { value = 42 }"),
        ("outside.lua", "return 'leaked'"),
    ]);
    let run = zephyr(dir.path(), &["run", "spec/run.lua", "--no-console"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "util\t./helpers/util.lua");
    // As in stock Lua, two names are two modules (each loaded once).
    assert_eq!(lines[1], "false\ttrue");
    assert_eq!(lines[2], "42");
    assert_eq!(lines[3], "virtual from :preload:\t:preload:");
    assert_eq!(lines[4], "./helpers/util.lua");
    assert!(
        lines[5].starts_with("false\tspec/run.lua:9: package.path: the template '../?.lua' is outside the script roots (spec)"),
        "{}",
        run.stdout
    );
    assert_eq!(lines[6], "false\tmodule 'missing/mod' not found:");
    assert!(
        run.stdout.contains(
            "\tno field package.preload['missing/mod']\n\tno file './lib/missing/mod.lua'"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn a_class_library_whose_base_defines_eq_keeps_its_objects() {
    // The shape of classic.lua / middleclass: `is` walks the metatables,
    // comparing them with `==`, and the base class defines `__eq`.
    let dir = files(&[(
        "classes.lua",
        "local Object = {} Object.__index = Object
         Object.__eq = function(a, b) return rawequal(a, b) or (a.id ~= nil and a.id == b.id) end
         function Object:extend() local cls = {} for k, v in pairs(self) do if k:find('__') == 1 then cls[k] = v end end
           cls.__index = cls cls.super = self return setmetatable(cls, self) end
         function Object:is(T) local mt = getmetatable(self) while mt do if mt == T then return true end mt = getmetatable(mt) end return false end
         function Object:__call(...) local o = setmetatable({}, self) o:new(...) return o end
         local Point = Object:extend()
         function Point:new(x, y) self.x, self.y = x, y end
         local p = Point(1, 2)
         print(p:is(Point), p:is(Object), p.is ~= nil, p.x, p.y, rawget(p, 'print'))",
    )]);
    let expected = "true\ttrue\ttrue\t1\t2\tnil\n";
    for profile in [&[][..], &["--trusted"][..]] {
        let mut args = vec!["run", "classes.lua", "--no-console"];
        args.extend_from_slice(profile);
        let run = zephyr(dir.path(), &args);
        assert_eq!(run.stdout, expected, "{profile:?}: {}", run.stderr);
    }
}

#[test]
fn io_reads_data_files_beside_the_script_and_refuses_the_rest_by_name() {
    let dir = files(&[
        (
            "game/read.lua",
            "for line in io.lines('data/levels.txt') do io.write('[', line, ']') end
             io.write('\\n')
             local f = assert(io.open('data/levels.txt'))
             local a, b = f:read('n', 'n')
             print(a, b, f:read('l'), f:read('a'))
             f:close()
             print(io.open('data/none.txt'))
             print(pcall(io.open, 'data/out.txt', 'w'))
             io.open('../secret.txt')",
        ),
        ("game/data/levels.txt", "10 20 first\nsecond\n"),
        ("secret.txt", "no"),
    ]);
    let run = zephyr(dir.path(), &["run", "game/read.lua", "--no-console"]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "[10 20 first][second]", "{}", run.stdout);
    // 'a' reads the rest, its newline included.
    assert_eq!(lines[1], "10\t20\t first\tsecond");
    assert_eq!(lines[2], "");
    assert!(
        lines[3].starts_with("nil\tcannot find 'data/none.txt' in the script roots"),
        "{}",
        run.stdout
    );
    assert!(
        lines[4].starts_with(
            "false\tio.open: mode 'w' (writing files) is left out of the safe profile"
        ),
        "{}",
        run.stdout
    );
    assert!(!dir.path().join("game/data/out.txt").exists());
    // Opening outside the roots is not an error (nil, message); the script
    // ends normally.
    assert_eq!(run.status, 0, "{}", run.stderr);
}

#[test]
fn a_refused_loadfile_says_why_when_its_result_is_called() {
    let dir = files(&[("game/lf.lua", "local x = 1\nloadfile('../x.lua')()")]);
    let run = zephyr(dir.path(), &["run", "game/lf.lua", "--no-console"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "game/lf.lua:2: attempt to call a nil value (loadfile returned nil: '../x.lua' is outside the script roots (game))"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_pieces_of_the_standard_library_name_themselves() {
    let dir = files(&[
        ("a.lua", "local home = os.getenv('HOME')"),
        ("b.lua", "io.read('l')"),
        ("c.lua", "local e = nil\nprint(getmetatable())"),
    ]);
    for (file, expected) in [
        (
            "a.lua",
            "a.lua:1: os.getenv: reading the environment is left out of the safe profile (the trusted profile, `zephyr run --trusted`, has it)",
        ),
        (
            "b.lua",
            "b.lua:1: io.read: reading standard input is left out of the safe profile",
        ),
        (
            "c.lua",
            "c.lua:2: bad argument #1 to 'getmetatable' (value expected)",
        ),
    ] {
        let run = zephyr(dir.path(), &["run", file, "--no-console"]);
        assert_eq!(run.status, 2, "{file}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{file}: {}", run.stderr);
        assert!(!run.stderr.contains("zephyr.sandbox"), "{}", run.stderr);
    }
}

#[test]
fn trusted_package_loaded_g_is_g() {
    let dir = files(&[("g.lua", "print(package.loaded._G == _G, _G == _ENV)")]);
    let run = zephyr(dir.path(), &["run", "g.lua", "--trusted", "--no-console"]);
    assert_eq!(run.stdout, "true\ttrue\n", "{}", run.stderr);
}

#[test]
fn a_test_suite_beside_its_library_runs_with_root() {
    // A library's tests load it from the folder above (`../lib.lua`), as
    // json.lua's and lume's do: --root lets that folder in too.
    let dir = files(&[
        ("lib.lua", "return { answer = 42 }"),
        (
            "test/test.lua",
            "local lib = loadfile('../lib.lua')()\n\
             package.path = '../?.lua;' .. package.path\n\
             print(lib.answer, require('lib').answer)",
        ),
    ]);
    let test = dir.path().join("test");
    let refused = zephyr(&test, &["run", "test.lua", "--no-console"]);
    assert_eq!(refused.status, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("loadfile returned nil: '../lib.lua' is outside the script roots (.)"),
        "{}",
        refused.stderr
    );
    let run = zephyr(&test, &["run", "test.lua", "--no-console", "--root", ".."]);
    assert_eq!(run.stdout, "42\t42\n", "{}", run.stderr);
    let missing = zephyr(&test, &["run", "test.lua", "--root", "nowhere"]);
    assert_eq!(missing.status, 2);
    assert!(
        missing.stderr.contains("--root nowhere: not a folder"),
        "{}",
        missing.stderr
    );
}

#[test]
fn an_error_inside_a_loaded_file_keeps_its_whole_traceback() {
    let dir = files(&[
        (
            "inner.lua",
            "local function f() error('deep') end\nlocal function g() f() end\ng()\n",
        ),
        ("outer.lua", "dofile('inner.lua')\n"),
    ]);
    let run = zephyr(dir.path(), &["run", "outer.lua", "--no-console"]);
    assert!(
        run.stderr.contains("error: inner.lua:1: deep"),
        "{}",
        run.stderr
    );
    for frame in [
        "inner.lua:1: in upvalue 'f'",
        "inner.lua:2: in local 'g'",
        "inner.lua:3:",
    ] {
        assert!(run.stderr.contains(frame), "{frame}: {}", run.stderr);
    }
}
