//! `zephyr run --profile`: the collapsed stacks file, the summary's top
//! functions, scripts' labels, and failures that name the file.

mod common;
use common::{files, zephyr};

/// The file's stacks as (frames, microseconds), every line checked.
fn stacks(text: &str) -> Vec<(Vec<String>, u64)> {
    text.lines()
        .map(|line| {
            let (stack, micros) = line.rsplit_once(' ').expect("`stack N`");
            let micros: u64 = micros.parse().expect("whole microseconds");
            (stack.split(';').map(str::to_owned).collect(), micros)
        })
        .collect()
}

const HOT: &str = "local function hot(n)
  local s = 0
  for i = 1, n do s = s + i % 7 end
  return s
end
local function cold() return 1 end
function on_update(dt)
  zephyr.profile.begin('thinking')
  hot(20000)
  zephyr.profile.finish()
  local one = cold()
end
";

#[test]
fn a_hot_function_leads_the_summary_and_the_stacks_and_labels_show_in_both() {
    let dir = files(&[("hot.lua", HOT)]);
    let run = zephyr(
        dir.path(),
        &[
            "run",
            "hot.lua",
            "--frames",
            "20",
            "--profile",
            "hot.folded",
            "--trace",
            "trace.json",
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    // The summary: its table's first row is the hot function.
    let table: Vec<&str> = run
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("profile: "))
        .collect();
    assert!(table[0].contains("written to hot.folded"), "{}", run.stderr);
    assert!(table[1].contains("self ms"), "{}", run.stderr);
    assert!(table[2].ends_with("hot (hot.lua:1)"), "{}", run.stderr);
    assert!(
        table.iter().any(|l| l.ends_with("[label] thinking")),
        "{}",
        run.stderr
    );
    assert!(table.len() <= 2 + 10, "ten functions at most");

    let text = std::fs::read_to_string(dir.path().join("hot.folded")).expect("the profile");
    let stacks = stacks(&text);
    let hottest = stacks.iter().max_by_key(|(_, n)| *n).expect("stacks");
    assert_eq!(
        hottest.0,
        [
            "on_update (hot.lua:7)",
            "[label] thinking",
            "hot (hot.lua:1)"
        ],
        "{text}"
    );
    // The label is a span in the trace too.
    let trace = std::fs::read_to_string(dir.path().join("trace.json")).expect("the trace");
    let json: serde_json::Value = serde_json::from_str(&trace).expect("JSON");
    let labels = json
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["name"] == "thinking")
        .count();
    assert!(labels >= 20, "{labels} label spans");
}

#[test]
fn parallel_behaviours_and_tasks_are_profiled_on_every_thread() {
    let dir = files(&[
        (
            "scene.toml",
            "name = \"p\"\n\
             [prefabs.Mover]\nscript = \"mover.lua\"\nparallel = true\n\
             [[entities]]\nname = \"Boss\"\nscript = \"boss.lua\"\n",
        ),
        (
            "mover.lua",
            "local function think(n) local s = 0 for i = 1, n do s = s + i end return s end
function on_update(self, dt)
  think(500)
  local x, y, z = zephyr.transform.get_position(self)
  zephyr.transform.set_position(self, x + dt, y, z)
end
",
        ),
        (
            "boss.lua",
            "local function spawn_wave()
  for i = 1, 40 do zephyr.entity.spawn('Mover', i, 0, 0) end
end
function on_start(self)
  zephyr.task.spawn(function()
    spawn_wave()
    zephyr.task.wait(0.05)
  end)
end
function on_update(self)
  -- A worker job.
  console.execute('lua local function job_work() local s = 0 for i = 1, 100 do s = s + i end end job_work()')
end
",
        ),
    ]);
    let run = zephyr(
        dir.path(),
        &[
            "run",
            "scene.toml",
            "--frames",
            "30",
            "--workers",
            "2",
            "--profile",
            "p.folded",
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let workers = run
        .stderr
        .lines()
        .find(|l| l.starts_with("scripts run on workers: "))
        .expect("the summary");
    assert!(!workers.contains("(0 job(s)"), "{workers}");
    assert!(!workers.contains(", 0 parallel"), "{workers}");
    let text = std::fs::read_to_string(dir.path().join("p.folded")).expect("the profile");
    let stacks = stacks(&text);
    let has = |frames: &[&str]| stacks.iter().any(|(f, _)| f == frames);
    assert!(
        has(&["on_update (mover.lua:2)", "think (mover.lua:1)"]),
        "{text}"
    );
    assert!(
        stacks
            .iter()
            .any(|(f, _)| f.last().is_some_and(|l| l == "spawn_wave (boss.lua:1)")),
        "the task's work: {text}"
    );
    // The task's function has no name of its own (the scheduler's `fn` is
    // not one).
    assert!(
        stacks
            .iter()
            .any(|(f, _)| f.iter().any(|frame| frame == "function (boss.lua:5)")),
        "{text}"
    );
    assert!(!text.contains("fn ("), "{text}");
    assert!(
        stacks
            .iter()
            .any(|(f, _)| f.last().is_some_and(|l| l.starts_with("job_work ("))),
        "the worker jobs' work: {text}"
    );
}

#[test]
fn a_profile_that_cannot_be_written_stops_before_anything_runs() {
    let dir = files(&[("s.lua", "print('ran')")]);
    let run = zephyr(
        dir.path(),
        &[
            "run",
            "s.lua",
            "--frames",
            "1",
            "--profile",
            "no/such/dir/p.folded",
        ],
    );
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("no/such/dir/p.folded"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("cannot write the profile"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "", "nothing ran");
}

#[test]
fn finishing_a_section_never_begun_names_the_line() {
    let dir = files(&[(
        "s.lua",
        "function on_update()\n  zephyr.profile.finish()\nend\n",
    )]);
    let run = zephyr(dir.path(), &["run", "s.lua", "--frames", "1"]);
    assert!(
        run.stderr
            .contains("s.lua:2: zephyr.profile.finish: no section is open"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_output_file_that_is_an_input_is_refused_and_left_alone() {
    let script = "print('ran')\n";
    let dir = files(&[("s.lua", script), ("walk.input", "0 key_down W\n")]);
    for args in [
        &["run", "s.lua", "--profile", "s.lua"][..],
        &["run", "s.lua", "--trace", "./s.lua"],
        &[
            "run",
            "s.lua",
            "--input",
            "walk.input",
            "--profile",
            "walk.input",
        ],
        &["run", "s.lua", "--trace", "out.txt", "--profile", "out.txt"],
    ] {
        let run = zephyr(dir.path(), args);
        assert_eq!(run.status, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("give another file") || run.stderr.contains("give each its own"),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(run.stdout, "", "{args:?}: nothing ran");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("s.lua")).unwrap(),
        script
    );
    assert!(!dir.path().join("out.txt").exists());
}

#[test]
fn a_run_that_ends_early_still_writes_its_profile() {
    let dir = files(&[(
        "s.lua",
        "local function work() local s = 0 for i = 1, 5000 do s = s + i end return s end
function on_update()
  work()
  if zephyr.time.frame() == 3 then error('stop here') end
end
",
    )]);
    let run = zephyr(
        dir.path(),
        &[
            "run",
            "s.lua",
            "--frames",
            "10",
            "--strict",
            "--profile",
            "p.folded",
        ],
    );
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(run.stderr.contains("s.lua:4: stop here"), "{}", run.stderr);
    assert!(run.stderr.contains("written to p.folded"), "{}", run.stderr);
    let text = std::fs::read_to_string(dir.path().join("p.folded")).expect("the profile");
    assert!(
        stacks(&text)
            .iter()
            .any(|(f, _)| f == &["on_update (s.lua:2)", "work (s.lua:1)"]),
        "{text}"
    );
}
