//! Failures are loud and correct: each problem a new user ran into (issue 9)
//! through the binary, with the exit status and a message naming the file,
//! line, entity, cvar or flag. Never a panic, never silence.

mod common;
use common::{files, zephyr};

fn no_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_trace_path_that_cannot_be_written_is_an_error_naming_it() {
    let dir = files(&[("a.lua", "print('hi')")]);
    for bad in ["/nonexistent/t.json", "."] {
        let run = zephyr(dir.path(), &["run", "a.lua", "--trace", bad]);
        no_panic(&run.stderr);
        assert_eq!(run.status, 2, "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("{bad}: cannot write the trace file")),
            "{}",
            run.stderr
        );
        assert_eq!(run.stdout, "", "nothing ran");
    }
}

#[test]
fn tiny_budgets_apply_to_scripts_only() {
    let dir = files(&[("a.lua", "print('ran')"), ("loop.lua", "while true do end")]);
    for budget in ["1", "100", "4999"] {
        let run = zephyr(dir.path(), &["run", "a.lua", "--budget", budget]);
        assert_eq!(
            (run.status, run.stdout.as_str()),
            (0, "ran\n"),
            "{}",
            run.stderr
        );
    }
    let run = zephyr(dir.path(), &["run", "loop.lua", "--budget", "1000"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr
            .contains("loop.lua:1: instruction budget of 1000 exceeded"),
        "{}",
        run.stderr
    );
}

#[test]
fn vectors_of_the_wrong_length_or_with_a_wrong_element_are_refused_with_their_line() {
    // Each message names the entity and the key: which of position,
    // rotation, scale or a color is wrong.
    for (value, key, expected) in [
        (
            "position = [1, 2, 3, 4]",
            "position",
            "invalid length 4, expected 3 numbers [x, y, z]",
        ),
        (
            "scale = [1, 1, 1, \"junk\"]",
            "scale",
            "invalid type: string \"junk\", expected f64",
        ),
        (
            "position = [1, 2]",
            "position",
            "invalid length 2, expected 3 numbers [x, y, z]",
        ),
        (
            "light = { color = [1, 0, 0, 0] }",
            "light.color",
            "invalid length 4, expected 3 numbers [x, y, z]",
        ),
        (
            "body = { mass = 2, velocity = [1,\n 2] }",
            "body.velocity",
            "invalid length 2, expected 3 numbers [x, y, z]",
        ),
    ] {
        let scene = format!("name = \"s\"\n[[entities]]\nname = \"a\"\n{value}\n");
        let dir = files(&[("s.toml", &scene)]);
        let check = zephyr(dir.path(), &["check", "s.toml"]);
        assert_eq!(check.status, 1, "{value}: {}", check.stdout);
        assert!(
            check.stdout.starts_with("s.toml:4: entities[0]") && check.stdout.contains(expected),
            "{value}: {}",
            check.stdout
        );
        assert!(
            check.stdout.contains(&format!("entities[0].{key}: ")),
            "{value}: {}",
            check.stdout
        );
        let run = zephyr(dir.path(), &["run", "s.toml", "--frames", "1"]);
        no_panic(&run.stderr);
        assert_eq!(run.status, 2, "{value}: {}", run.stderr);
        assert!(
            run.stderr.contains("s.toml: line 4: entities[0]") && run.stderr.contains(expected),
            "{value}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!("entities[0].{key}: ")),
            "{value}: {}",
            run.stderr
        );
    }
}

const CVAR_SCENE: &str = "name = \"c\"

[cvars]
phys_gravty = -3
phys_gravity = \"down\"
g_speed = 4

[[entities]]
name = \"runner\"
script = \"r.lua\"
";

const CVAR_SCRIPT: &str = "cvar.register('g_speed', 1.0, 'speed')
function on_start(self) print('speed', cvar.get('g_speed')) end";

#[test]
fn check_validates_cvars_and_names_the_unknown_with_suggestions() {
    let dir = files(&[("c.toml", CVAR_SCENE), ("r.lua", CVAR_SCRIPT)]);
    let check = zephyr(dir.path(), &["check", "c.toml"]);
    assert_eq!(check.status, 1);
    assert_eq!(
        check.stdout,
        "c.toml:4: [cvars] unknown cvar 'phys_gravty': not built in, and no script of the scene \
         registers it (did you mean: phys_gravity?)\n\
         c.toml:5: [cvars] cvar 'phys_gravity' expects a float, got 'down'\n"
    );
}

#[test]
fn run_blames_the_scene_line_for_a_bad_value_and_reports_unregistered_names_at_the_end() {
    let dir = files(&[("c.toml", CVAR_SCENE), ("r.lua", CVAR_SCRIPT)]);
    let run = zephyr(dir.path(), &["run", "c.toml", "--frames", "1"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr
            .contains("c.toml:5: cvar 'phys_gravity' expects a float, got 'down'"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("--set"), "{}", run.stderr);

    let fixed = CVAR_SCENE.replace("\"down\"", "-1");
    std::fs::write(dir.path().join("c.toml"), fixed).unwrap();
    let run = zephyr(
        dir.path(),
        &[
            "run",
            "c.toml",
            "--frames",
            "1",
            "--set",
            "g_speeed=2",
            "--set",
            "phys_gravity=abc",
        ],
    );
    assert_eq!(
        run.status, 2,
        "a bad --set value for a known cvar: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("--set phys_gravity=abc: cvar 'phys_gravity' expects a float"),
        "{}",
        run.stderr
    );

    let run = zephyr(
        dir.path(),
        &["run", "c.toml", "--frames", "1", "--set", "g_speeed=2"],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    // The script's own cvar got the scene's value, as before.
    assert_eq!(run.stdout, "speed\t4.0\n");
    assert!(
        run.stderr
            .contains("warning: c.toml:4: cvar 'phys_gravty' was never registered")
            && run.stderr.contains("(did you mean: phys_gravity?)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("warning: --set g_speeed=2: cvar 'g_speeed' was never registered")
            && run.stderr.contains("(did you mean: g_speed?)"),
        "{}",
        run.stderr
    );
    // A value that does not fit a cvar a script registers later names where it came from.
    let run = zephyr(
        dir.path(),
        &["run", "c.toml", "--frames", "1", "--set", "g_speed=abc"],
    );
    assert!(
        run.stderr
            .contains("--set g_speed=abc: preset value ignored"),
        "{}",
        run.stderr
    );
}

#[test]
fn add_component_takes_vectors_as_arrays_or_refuses_naming_the_field() {
    let dir = files(&[(
        "ec.lua",
        "local e = ecs.createEntity()
         ecs.addComponent(e, 'Transform', {position = {1, 2, 3}, rotation = {0, 0, 0, 1}})
         local t = ecs.getComponent(e, 'Transform')
         ecs.addComponent(e, 'PointLight', {color = {1, 0.5, 0}})
         local l = ecs.getComponent(e, 'PointLight')
         print(t.position.x, t.position.y, t.position.z, l.color.r, l.color.g, l.color.b)
         for _, bad in ipairs({ {1, 2, 3, 4}, {a = 1}, {1, 2, z = 3}, {1, '2', 3} }) do
           print(select(2, pcall(ecs.addComponent, e, 'Transform', {position = bad})))
         end",
    )]);
    let run = zephyr(dir.path(), &["run", "ec.lua"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "1.0\t2.0\t3.0\t1.0\t0.5\t0.0");
    assert!(
        lines[1].contains("field 'position' has an unexpected key [4]"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("field 'position' has an unexpected key 'a'"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].contains("field 'position' mixes named and numbered values"),
        "{}",
        lines[3]
    );
    assert!(
        lines[4].contains("field 'position[2]' must be a number, got string"),
        "{}",
        lines[4]
    );
}

#[test]
fn a_table_error_shows_its_fields_and_a_repeated_error_is_printed_once_then_counted() {
    let dir = files(&[
        ("t.lua", "error({code = 42})"),
        (
            "rep.lua",
            "function on_update(dt)\n  error({code = 7})\nend",
        ),
        (
            "ts.lua",
            "error(setmetatable({}, {__tostring = function() return 'custom!' end}))",
        ),
    ]);
    let run = zephyr(dir.path(), &["run", "t.lua"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains("t.lua:1: error object {code = 42}"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("table: 0x"), "{}", run.stderr);
    let run = zephyr(dir.path(), &["run", "ts.lua"]);
    assert!(run.stderr.contains("error: custom!"), "{}", run.stderr);

    let run = zephyr(dir.path(), &["run", "rep.lua", "--frames", "30"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr
            .matches("error object {code = 7} (callback on_update)")
            .count(),
        2,
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("stack traceback:").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("errors: 30"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("repeated 30 times (printed once): rep.lua:2: error object {code = 7}"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_job_started_from_a_script_names_it_and_lua_takes_a_multi_line_chunk_whole() {
    let dir = files(&[(
        "cv2.lua",
        "console.execute('lua error(\"boom\")')\n\
         console.execute('lua for i = 1, 2 do\\nprint(\"line\", i)\\nend\\necho after')",
    )]);
    let run = zephyr(dir.path(), &["run", "cv2.lua"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("[lua from cv2.lua:1]:1: boom"),
        "{}",
        run.stderr
    );
    // The line after the chunk is a console command again; it runs at once
    // (its output is stdout), the chunk on a worker, printed at update().
    assert_eq!(run.stdout, "after\nline\t1\nline\t2\n");
    assert!(!run.stderr.contains("unknown command"), "{}", run.stderr);
}
