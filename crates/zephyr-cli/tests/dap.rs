//! `zephyr dap`, driven over stdio by a Debug Adapter Protocol client the
//! way an editor drives it: launch, breakpoints, stops, the stack, scopes,
//! variables, evaluation, steps, pause, output and the end of the run.

use std::time::Duration;

use serde_json::{Value, json};

mod common;
use common::dap::Client;
use common::files;

const COUNTER: &str = "local count = 0
local function bump(n)
  -- adds n
  count = count + n
  return count
end
function on_update(dt)
  local total = bump(2)
  print('total', total)
end
";

#[test]
fn a_script_stops_at_a_breakpoint_shows_its_stack_and_variables_and_steps() {
    let dir = files(&[("counter.lua", COUNTER)]);
    let path = dir.path().join("counter.lua");
    let mut client = Client::start(dir.path());
    let capabilities = client.launch(json!({
        "program": "counter.lua",
        "args": ["--frames", "3"],
        "cwd": dir.path(),
    }));
    assert_eq!(capabilities["supportsConditionalBreakpoints"], true);
    // Line 3 is a comment: the breakpoint moves to line 4. Line 40 is past
    // the end.
    let set = client.ok(
        "setBreakpoints",
        json!({ "source": { "path": path }, "breakpoints": [{ "line": 3 }, { "line": 40 }] }),
    );
    assert_eq!(set["breakpoints"][0]["verified"], true, "{set}");
    assert_eq!(set["breakpoints"][0]["line"], 4);
    assert_eq!(set["breakpoints"][1]["verified"], false);
    client.ok("configurationDone", json!({}));

    let stopped = client.event("stopped");
    assert_eq!(stopped["reason"], "breakpoint", "{stopped}");
    let thread = stopped["threadId"].clone();
    let threads = client.ok("threads", json!({}));
    assert_eq!(threads["threads"][0]["name"], "main");
    assert_eq!(
        client.stack(&thread),
        [
            ("bump".to_owned(), 4, "counter.lua".to_owned()),
            ("on_update".to_owned(), 8, "counter.lua".to_owned()),
        ]
    );
    let frame = client.frame_id(&thread, 0);
    let locals = client.scope(&frame, "Locals");
    assert_eq!(client.variables(&locals), ["n = 2"]);
    let upvalues = client.scope(&frame, "Upvalues");
    assert_eq!(client.variables(&upvalues), ["count = 0"]);
    let globals = client.scope(&frame, "Globals");
    assert!(
        client
            .variables(&globals)
            .iter()
            .any(|v| v.starts_with("on_update = function: ")),
        "the script's globals"
    );
    for (expression, context, result) in [
        ("count + n", "watch", "2"),
        ("n", "hover", "2"),
        ("string.format('%d!', n * 10)", "repl", "\"20!\""),
        ("zephyr.time.frame()", "repl", "1"),
    ] {
        let body = client.ok(
            "evaluate",
            json!({ "expression": expression, "frameId": frame, "context": context }),
        );
        assert_eq!(body["result"], result, "{expression}");
    }
    let failed = client.request(
        "evaluate",
        json!({ "expression": "nope.x", "frameId": frame }),
    );
    assert_eq!(failed["success"], false);
    assert!(
        failed["message"].as_str().unwrap().contains("nope"),
        "{failed}"
    );

    // Step over: line 5, then back in on_update (line 9, after the call).
    client.ok("next", json!({ "threadId": thread }));
    assert_eq!(client.event("stopped")["reason"], "step");
    assert_eq!(client.stack(&thread)[0].1, 5);
    client.ok("next", json!({ "threadId": thread }));
    client.event("stopped");
    assert_eq!(
        client.stack(&thread)[0],
        ("on_update".to_owned(), 9, "counter.lua".to_owned())
    );
    // The print of frame 1 reaches the editor as output.
    client.ok("continue", json!({ "threadId": thread }));
    client.event("stopped");
    assert!(
        client.output("stdout").contains("total\t2\n"),
        "{:?}",
        client.events
    );

    // Clear the breakpoints and let the run end.
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": path }, "breakpoints": [] }),
    );
    client.ok("continue", json!({ "threadId": thread }));
    let (code, client) = client.finish();
    assert_eq!(code, 0);
    assert!(client.output("stdout").contains("total\t6\n"));
}

#[test]
fn conditions_hit_counts_and_logpoints() {
    let dir = files(&[("counter.lua", COUNTER)]);
    let path = dir.path().join("counter.lua");
    let mut client = Client::start(dir.path());
    client
        .launch(json!({ "program": "counter.lua", "args": ["--frames", "6"], "cwd": dir.path() }));
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": path }, "breakpoints": [
            { "line": 4, "condition": "count == 6" },
            { "line": 5, "logMessage": "count is {count}" },
            { "line": 9, "hitCondition": "5" },
        ] }),
    );
    client.ok("configurationDone", json!({}));
    let stopped = client.event("stopped");
    let thread = stopped["threadId"].clone();
    // count == 6 before the 4th bump.
    let frame = client.frame_id(&thread, 0);
    assert_eq!(client.evaluate(&frame, "count"), "6");
    client.ok("continue", json!({ "threadId": thread }));
    // The 5th time line 9 runs.
    client.event("stopped");
    assert_eq!(client.stack(&thread)[0].1, 9);
    let frame = client.frame_id(&thread, 0);
    assert_eq!(client.evaluate(&frame, "total"), "10");
    client.ok("continue", json!({ "threadId": thread }));
    let (code, client) = client.finish();
    assert_eq!(code, 0);
    let logs = client.output("console");
    assert!(logs.starts_with("count is 2\ncount is 4\n"), "{logs:?}");
    assert_eq!(logs.lines().count(), 6, "{logs:?}");
}

#[test]
fn stop_on_entry_pause_and_a_scene_s_behaviour_named_for_its_entity() {
    let dir = files(&[
        (
            "scene.toml",
            "name = \"s\"\n[[entities]]\nname = \"Player\"\nscript = \"player.lua\"\n",
        ),
        (
            "player.lua",
            "local steps = 0\nfunction on_update(self, dt)\n  steps = steps + 1\n  while steps > 2 do steps = steps + 1 end\nend\n",
        ),
    ]);
    let mut client = Client::start(dir.path());
    // No budget: the loop below runs until it is paused (with one, each
    // frame's loop would end, and a pause between frames stop elsewhere).
    client.launch(json!({
        "program": "scene.toml",
        "args": ["--budget", "0"],
        "stopOnEntry": true,
        "cwd": dir.path(),
    }));
    client.ok("configurationDone", json!({}));
    let stopped = client.event("stopped");
    assert_eq!(stopped["reason"], "entry");
    let thread = stopped["threadId"].clone();
    assert_eq!(client.stack(&thread)[0].1, 1);
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": dir.path().join("player.lua") }, "breakpoints": [{ "line": 3 }] }),
    );
    client.ok("continue", json!({ "threadId": thread }));
    client.event("stopped");
    assert_eq!(
        client.stack(&thread)[0],
        ("on_update (Player)".to_owned(), 3, "player.lua".to_owned())
    );
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": dir.path().join("player.lua") }, "breakpoints": [] }),
    );
    client.ok("continue", json!({ "threadId": thread }));
    // The third update loops forever: pause stops it where it is.
    std::thread::sleep(Duration::from_millis(100));
    client.ok("pause", json!({ "threadId": thread }));
    let stopped = client.event("stopped");
    assert_eq!(stopped["reason"], "pause");
    assert_eq!(client.stack(&thread)[0].1, 4);
    client.ok("disconnect", json!({ "terminateDebuggee": true }));
}

#[test]
fn a_launch_that_cannot_start_says_why() {
    let dir = files(&[("ok.lua", "print(1)\n")]);
    let mut client = Client::start(dir.path());
    client.ok("initialize", json!({ "adapterID": "zephyr" }));
    let response = client.request(
        "launch",
        json!({ "program": "missing.lua", "cwd": dir.path() }),
    );
    assert_eq!(response["success"], false);
    assert!(
        response["message"]
            .as_str()
            .unwrap()
            .contains("missing.lua"),
        "{response}"
    );
    let response = client.request("launch", json!({ "cwd": dir.path() }));
    assert_eq!(response["success"], false);
    assert!(
        response["message"].as_str().unwrap().contains("program"),
        "{response}"
    );
    let response = client.request("stackTrace", json!({ "threadId": 1 }));
    assert_eq!(response["success"], false);
    client.ok("disconnect", json!({}));
}

#[test]
fn parallel_behaviours_tasks_cvar_handlers_and_errors_stop_too() {
    let dir = files(&[
        (
            "scene.toml",
            "name = \"d\"\n\
             [[entities]]\nname = \"Walker\"\nscript = \"walker.lua\"\nparallel = true\n\
             [[entities]]\nname = \"Boss\"\nscript = \"boss.lua\"\n",
        ),
        (
            "walker.lua",
            "function on_update(self, dt)\n\
             \x20 local x, y, z = zephyr.transform.get_position(self)\n\
             \x20 zephyr.transform.set_position(self, x + 1, y, z)\n\
             end\n",
        ),
        (
            "boss.lua",
            "cvar.register('g_rage', 0)\n\
             cvar.on_change('g_rage', function(name, old, new)\n\
             \x20 print('rage', new)\n\
             end)\n\
             function on_start(self)\n\
             \x20 zephyr.task.spawn(function()\n\
             \x20   zephyr.task.wait(0.02)\n\
             \x20   local wave = 1\n\
             \x20   cvar.set('g_rage', wave)\n\
             \x20   error('the boss gave up')\n\
             \x20 end)\n\
             end\n",
        ),
    ]);
    let walker = dir.path().join("walker.lua");
    let boss = dir.path().join("boss.lua");
    let mut client = Client::start(dir.path());
    client.launch(json!({ "program": "scene.toml", "args": ["--frames", "10", "--workers", "2"], "cwd": dir.path() }));
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": walker }, "breakpoints": [{ "line": 3 }] }),
    );
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": boss }, "breakpoints": [{ "line": 3 }, { "line": 8 }] }),
    );
    client.ok(
        "setExceptionBreakpoints",
        json!({ "filters": ["uncaught"] }),
    );
    client.ok("configurationDone", json!({}));

    // The parallel behaviour, on whichever thread ran it.
    let stopped = client.event("stopped");
    let thread = stopped["threadId"].clone();
    let names: Vec<String> = client.ok("threads", json!({}))["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.contains(&"main".to_owned()), "{names:?}");
    assert_eq!(
        client.stack(&thread)[0],
        ("on_update (Walker)".to_owned(), 3, "walker.lua".to_owned())
    );
    let frame = client.frame_id(&thread, 0);
    assert_eq!(client.evaluate(&frame, "x + 1"), "1.0");
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": walker }, "breakpoints": [] }),
    );
    client.ok("continue", json!({ "threadId": thread }));

    // The task, two frames later.
    let stopped = client.event("stopped");
    let thread = stopped["threadId"].clone();
    let stack = client.stack(&thread);
    assert_eq!(
        stack[0],
        ("function".to_owned(), 8, "boss.lua".to_owned()),
        "the task's function, not the scheduler's name for it: {stack:?}"
    );
    client.ok("continue", json!({ "threadId": thread }));

    // The task's error, where it is raised (in the same step).
    let stopped = client.event("stopped");
    assert_eq!(stopped["reason"], "exception", "{stopped}");
    assert!(
        stopped["text"]
            .as_str()
            .unwrap()
            .contains("the boss gave up"),
        "{stopped}"
    );
    let thread = stopped["threadId"].clone();
    let info = client.ok("exceptionInfo", json!({ "threadId": thread }));
    assert!(
        info["description"]
            .as_str()
            .unwrap()
            .contains("boss.lua:10: the boss gave up"),
        "{info}"
    );
    assert_eq!(client.stack(&thread)[0].1, 10);
    client.ok("continue", json!({ "threadId": thread }));

    // Then the cvar handler the task's cvar.set runs, at the frame's update.
    let stopped = client.event("stopped");
    let thread = stopped["threadId"].clone();
    let frame = client.frame_id(&thread, 0);
    let stack = client.stack(&thread);
    assert_eq!(
        (stack[0].1, stack[0].2.as_str()),
        (3, "boss.lua"),
        "{stack:?}"
    );
    let locals = client.scope(&frame, "Locals");
    // Handlers get the values as the console shows them: strings.
    assert_eq!(
        client.variables(&locals),
        ["name = \"g_rage\"", "old = \"0\"", "new = \"1\""],
        "{stack:?}"
    );
    client.ok("continue", json!({ "threadId": thread }));

    let (code, client) = client.finish();
    assert_eq!(code, 0, "{:?}", client.events);
    assert!(client.output("stdout").contains("rage\t1\n"));
    assert!(
        client.output("stderr").contains("the boss gave up"),
        "the error is still reported"
    );
}

#[test]
fn terminate_ends_a_run_that_would_go_on_forever() {
    let dir = files(&[("forever.lua", "function on_update(dt) end\n")]);
    let mut client = Client::start(dir.path());
    // No --frames: a paced game that runs until it is stopped.
    client.launch(json!({ "program": "forever.lua", "cwd": dir.path() }));
    client.ok("configurationDone", json!({}));
    std::thread::sleep(Duration::from_millis(200));
    client.ok("terminate", json!({}));
    let (code, _client) = client.finish();
    assert_ne!(code, 0, "killed, not a normal end");
}

/// The `json` code blocks of a Markdown file that are launch configurations.
fn launch_configurations(markdown: &str) -> Vec<Value> {
    markdown
        .split("```json")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .map(|text| serde_json::from_str::<Value>(text).expect("a json block parses"))
        .flat_map(|json| {
            json["configurations"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn the_vs_code_extension_declares_what_the_adapter_reads() {
    let root = common::workspace_root();
    let package: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("editors/vscode/package.json")).unwrap(),
    )
    .expect("package.json parses");
    let debugger = &package["contributes"]["debuggers"][0];
    assert_eq!(debugger["type"], "zephyr");
    let properties = debugger["configurationAttributes"]["launch"]["properties"]
        .as_object()
        .unwrap();
    for key in ["program", "args", "cwd", "stopOnEntry", "zephyrPath"] {
        assert!(properties.contains_key(key), "{key}");
    }
    let extension = std::fs::read_to_string(root.join("editors/vscode/extension.js")).unwrap();
    assert!(extension.contains("DebugAdapterExecutable(zephyr, ['dap'])"));
    assert!(extension.contains("registerDebugAdapterDescriptorFactory('zephyr'"));
    // Every launch.json the docs show uses only what the extension declares.
    for doc in ["editors/vscode/README.md", "docs/DEBUGGING.md", "README.md"] {
        let configurations =
            launch_configurations(&std::fs::read_to_string(root.join(doc)).unwrap());
        assert!(!configurations.is_empty(), "{doc} shows a launch.json");
        for configuration in configurations {
            assert_eq!(configuration["type"], "zephyr", "{doc}");
            assert_eq!(configuration["request"], "launch", "{doc}");
            for key in configuration.as_object().unwrap().keys() {
                assert!(
                    ["type", "request", "name"].contains(&key.as_str())
                        || properties.contains_key(key),
                    "{doc}: {key} is not a launch attribute"
                );
            }
        }
    }
}

const LOOT: &str = "local inventory = { gold = 3, items = { 'sword', 'shield' } }
local function count(t)
  local n = #t
  return n
end
zephyr.events.on('loot', function(amount)
  inventory.gold = inventory.gold + amount
end)
function on_update(dt)
  local n = count(inventory.items)
  zephyr.events.emit('loot', n)
end
";

#[test]
fn step_in_and_out_tables_that_expand_and_an_event_handler() {
    let dir = files(&[("loot.lua", LOOT)]);
    let path = dir.path().join("loot.lua");
    let mut client = Client::start(dir.path());
    client.launch(json!({ "program": "loot.lua", "args": ["--frames", "2"], "cwd": dir.path() }));
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": path }, "breakpoints": [{ "line": 10 }, { "line": 7 }] }),
    );
    client.ok("configurationDone", json!({}));
    let thread = client.event("stopped")["threadId"].clone();
    assert_eq!(client.stack(&thread)[0].1, 10);
    client.ok("stepIn", json!({ "threadId": thread }));
    client.event("stopped");
    assert_eq!(
        client.stack(&thread)[0],
        ("count".to_owned(), 3, "loot.lua".to_owned())
    );
    client.ok("stepOut", json!({ "threadId": thread }));
    client.event("stopped");
    assert_eq!(
        client.stack(&thread)[0],
        ("on_update".to_owned(), 11, "loot.lua".to_owned())
    );
    let frame = client.frame_id(&thread, 0);
    let locals = client.scope(&frame, "Locals");
    assert_eq!(
        client.variables(&locals),
        ["dt = 0.016666666666667", "n = 2"]
    );
    client.ok("continue", json!({ "threadId": thread }));

    // The event handler, after the frame's sync point.
    let stopped = client.event("stopped");
    assert_eq!(stopped["reason"], "breakpoint");
    assert_eq!(client.stack(&thread)[0].1, 7);
    let frame = client.frame_id(&thread, 0);
    let upvalues = client.scope(&frame, "Upvalues");
    let body = client.ok("variables", json!({ "variablesReference": upvalues }));
    let inventory = &body["variables"][0];
    assert_eq!(inventory["name"], "inventory");
    assert!(
        inventory["value"].as_str().unwrap().starts_with("table: "),
        "{inventory}"
    );
    let fields = client.variables(&inventory["variablesReference"]);
    assert_eq!(fields[0], "gold = 3");
    assert!(fields[1].starts_with("items = table: "), "{fields:?}");
    let body = client.ok(
        "variables",
        json!({ "variablesReference": inventory["variablesReference"] }),
    );
    let items = client.variables(&body["variables"][1]["variablesReference"]);
    assert_eq!(items, ["[1] = \"sword\"", "[2] = \"shield\""]);
    // Set from the variables view: a local, a table's field.
    let locals = client.scope(&frame, "Locals");
    let set = client.ok(
        "setVariable",
        json!({ "variablesReference": locals, "name": "amount", "value": "amount * 10" }),
    );
    assert_eq!(set["value"], "20");
    let set = client.ok(
        "setVariable",
        json!({ "variablesReference": inventory["variablesReference"], "name": "gold", "value": "100" }),
    );
    assert_eq!(set["value"], "100");
    let wrong = client.request(
        "setVariable",
        json!({ "variablesReference": locals, "name": "amount", "value": "nope(" }),
    );
    assert_eq!(wrong["success"], false);
    // Line 7 then adds the new amount to the new gold.
    client.ok("next", json!({ "threadId": thread }));
    client.event("stopped");
    let frame = client.frame_id(&thread, 0);
    assert_eq!(client.evaluate(&frame, "inventory.gold"), "120");
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": path }, "breakpoints": [] }),
    );
    client.ok("continue", json!({ "threadId": thread }));
    let (code, _client) = client.finish();
    assert_eq!(code, 0);
}

#[test]
fn odd_requests_get_answers_that_say_what_is_wrong() {
    let dir = files(&[
        ("ok.lua", "function on_update(dt) end\n"),
        ("broken.lua", "local = 1\n"),
    ]);
    let mut client = Client::start(dir.path());
    client.launch(json!({ "program": "ok.lua", "args": ["--frames", "2"], "cwd": dir.path() }));
    let missing = client.ok(
        "setBreakpoints",
        json!({ "source": { "path": dir.path().join("nope.lua") }, "breakpoints": [{ "line": 1 }] }),
    );
    assert_eq!(missing["breakpoints"][0]["verified"], false);
    assert!(
        missing["breakpoints"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nope.lua"),
        "{missing}"
    );
    let broken = client.ok(
        "setBreakpoints",
        json!({ "source": { "path": dir.path().join("broken.lua") }, "breakpoints": [{ "line": 1 }] }),
    );
    assert!(
        broken["breakpoints"][0]["message"]
            .as_str()
            .unwrap()
            .contains("does not parse"),
        "{broken}"
    );
    let unknown = client.request("restartFrame", json!({ "frameId": 1 }));
    assert_eq!(unknown["success"], false);
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("restartFrame"),
        "{unknown}"
    );
    let again = client.request("launch", json!({ "program": "ok.lua" }));
    assert_eq!(again["success"], false);
    client.ok("configurationDone", json!({}));
    let (code, _client) = client.finish();
    assert_eq!(code, 0);
}

#[test]
fn input_that_is_not_the_protocol_ends_the_adapter_with_a_message() {
    let dir = files(&[]);
    let run = common::zephyr_with_input(dir.path(), &["dap"], "Content-Length: 7\r\n\r\nnot json");
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains("zephyr dap: bad input"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_debug_console_runs_lines_while_the_game_runs_and_they_can_stop_too() {
    let dir = files(&[(
        "game.lua",
        "hits = 0\nfunction poke()\n  hits = hits + 1\n  return hits\nend\nfunction on_update(dt) end\n",
    )]);
    let path = dir.path().join("game.lua");
    let mut client = Client::start(dir.path());
    // A paced game: it runs until it is ended.
    client.launch(json!({ "program": "game.lua", "cwd": dir.path() }));
    client.ok("configurationDone", json!({}));
    let repl = |expression: &str| json!({ "expression": expression, "context": "repl" });
    assert_eq!(client.ok("evaluate", repl("1 + 2"))["result"], "3");
    assert_eq!(client.ok("evaluate", repl("= hits, 'x'"))["result"], "0\tx");
    assert_eq!(
        client.ok("evaluate", repl("lua print('from the console')"))["result"],
        ""
    );
    let failed = client.request("evaluate", repl("nope.field"));
    assert_eq!(failed["success"], false);
    // A console line that reaches a breakpoint stops there.
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": path }, "breakpoints": [{ "line": 3 }] }),
    );
    client.seq += 1;
    let seq = client.seq;
    client.send_raw(json!({ "seq": seq, "type": "request", "command": "evaluate", "arguments": repl("poke()") }));
    let stopped = client.event("stopped");
    let thread = stopped["threadId"].clone();
    assert_eq!(
        client.stack(&thread)[0],
        ("poke".to_owned(), 3, "game.lua".to_owned())
    );
    client.ok("continue", json!({ "threadId": thread }));
    let answer = client.response(seq);
    assert_eq!(answer["body"]["result"], "1");
    assert!(client.output("stdout").contains("from the console\n"));
    client.ok("terminate", json!({}));
    client.finish();
}

#[test]
fn a_paced_game_does_not_catch_up_the_frames_it_spent_stopped() {
    let dir = files(&[(
        "paced.lua",
        "function on_update(dt)\n  if zephyr.time.frame() == 3 then\n    local here = true\n  end\nend\n",
    )]);
    let path = dir.path().join("paced.lua");
    let mut client = Client::start(dir.path());
    // 100 frames a second, paced (no --frames).
    client.launch(json!({ "program": "paced.lua", "args": ["--dt", "0.01"], "cwd": dir.path() }));
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": path }, "breakpoints": [{ "line": 3 }] }),
    );
    client.ok("configurationDone", json!({}));
    let thread = client.event("stopped")["threadId"].clone();
    // Stopped for a second: a hundred frames' worth.
    std::thread::sleep(Duration::from_secs(1));
    let frame = client.frame_id(&thread, 0);
    assert_eq!(
        client.evaluate(&frame, "zephyr.time.frame()"),
        "3",
        "no frame ran while stopped"
    );
    client.ok("continue", json!({ "threadId": thread }));
    let resumed = std::time::Instant::now();
    std::thread::sleep(Duration::from_millis(200));
    let now: u64 = client.ok(
        "evaluate",
        json!({ "expression": "zephyr.time.frame()", "context": "repl" }),
    )["result"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let paced = 3 + (resumed.elapsed().as_secs_f64() / 0.01) as u64;
    // About 20 frames later, at its pace: not the hundred it missed.
    assert!(now <= paced + 10, "frame {now}, paced {paced}");
    assert!(now > 3, "it went on");
    client.ok("terminate", json!({}));
    client.finish();
}
