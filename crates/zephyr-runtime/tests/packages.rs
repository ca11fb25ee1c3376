//! An engine's own packages: declared like the built-ins, installed in
//! every state, callable from the main thread, worker jobs and parallel
//! behaviours, their arguments checked by the declaration, their writes
//! applied in order with the built-in ones.

use std::sync::Arc;

use parking_lot::Mutex;
use zephyr_runtime::api::{ConstValue, Function, Package, Ret, Type};
use zephyr_runtime::world::{World, WorldCommand, WorldRead};
use zephyr_runtime::{Behaviours, Job, ScriptSource, ScriptingConfig, ScriptingSystem};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// What the engine's writes saw, in the order they ran.
type Log = Arc<Mutex<Vec<String>>>;

/// The engine's `game` package.
fn game(log: &Log) -> Package {
    let marks = log.clone();
    Package::new("game")
        .doc("The game's own functions.")
        .function(
            Function::new("add", |call| {
                Ok(Ret::Number(call.number(1) + call.number(2)))
            })
            .param("a", Type::Number)
            .param("b", Type::Number)
            .returns("sum", Type::Number)
            .doc("a + b."),
        )
        .function(
            Function::new("spawn_enemy", |call| {
                let enemy = call.create_entity()?;
                call.write(WorldCommand::SetName(enemy, Some("enemy".into())))?;
                call.write(WorldCommand::SetPosition(enemy, call.vec3(1)))?;
                Ok(Ret::Entity(enemy))
            })
            .param("x", Type::Number)
            .param("y", Type::Number)
            .param("z", Type::Number)
            .returns("enemy", Type::Entity)
            .doc("Creates an enemy at a point.")
            .writes(),
        )
        .function(
            Function::new("mark", move |call| {
                let entity = call.entity(1);
                let label = call.string(2);
                let marks = marks.clone();
                // The engine's write sees the world as the writes before it
                // left it.
                call.try_command(
                    move |world: &mut World| -> std::result::Result<(), String> {
                        let name = world.name(entity).map_err(|e| e.to_string())?;
                        marks
                            .lock()
                            .push(format!("{label}: {}", name.unwrap_or_default()));
                        Ok(())
                    },
                )?;
                Ok(Ret::None)
            })
            .param("entity", Type::Entity)
            .param("label", Type::String)
            .doc("Notes the entity's name when the write is applied.")
            .writes(),
        )
        .function(
            Function::new("main_only", |call| Ok(Ret::Bool(!call.is_worker())))
                .returns("on_main", Type::Boolean)
                .doc("Runs on the main thread only.")
                .main_thread(),
        )
        .function(
            Function::new("sneaky", |call| {
                call.write(WorldCommand::SetName(call.entity(1), None))?;
                Ok(Ret::None)
            })
            .param("entity", Type::Entity)
            .doc("Declared as reading, but writes."),
        )
        .constant(
            "MAX_ENEMIES",
            ConstValue::Integer(32),
            "Enemies alive at once.",
        )
}

fn system(workers: usize, log: &Log, builtins: bool) -> Result<ScriptingSystem> {
    Ok(ScriptingSystem::new(ScriptingConfig {
        workers,
        packages: vec![game(log)],
        builtins,
        ..ScriptingConfig::default()
    })?)
}

fn run(system: &ScriptingSystem, source: &str) -> String {
    system.execute(source, "main.lua").to_string()
}

fn on_worker(system: &mut ScriptingSystem, source: &str) -> String {
    let handle = system
        .enqueue(Job::new(source).chunk_name("job.lua"))
        .expect("enqueue");
    let outcome = system.wait(handle);
    system.sync();
    outcome.to_string()
}

#[test]
fn engine_functions_run_on_the_main_thread_and_in_worker_jobs_and_return_values() -> Result {
    let log = Log::default();
    let mut system = system(2, &log, true)?;
    assert_eq!(
        run(&system, "return game.add(2, 3.5), game.MAX_ENEMIES"),
        "5.5\t32"
    );
    assert_eq!(on_worker(&mut system, "return game.add(2, '3')"), "5.0");
    // A write on a worker: the id is usable at once, the entity exists
    // once the job's writes are applied.
    let id = on_worker(
        &mut system,
        "local e = game.spawn_enemy(1, 2, 3) return e, zephyr.transform.get_position(e)",
    );
    let mut parts = id.split('\t');
    let enemy: i64 = parts.next().unwrap().parse()?;
    assert_eq!(parts.collect::<Vec<_>>(), ["1.0", "2.0", "3.0"]);
    let found = run(&system, "return zephyr.entity.find('enemy')");
    assert_eq!(found, enemy.to_string());
    // The same function on the main thread acts at once.
    assert_eq!(
        run(
            &system,
            "local e = game.spawn_enemy(4, 5, 6) return zephyr.transform.get_position(e)"
        ),
        "4.0\t5.0\t6.0"
    );
    Ok(())
}

#[test]
fn an_engine_write_is_applied_in_order_with_the_built_in_writes() -> Result {
    let log = Log::default();
    let mut system = system(2, &log, true)?;
    let e = run(&system, "return zephyr.entity.create()");
    let source = format!(
        "zephyr.entity.set_name({e}, 'first')
         game.mark({e}, 'one')
         zephyr.entity.set_name({e}, 'second')
         game.mark({e}, 'two')"
    );
    on_worker(&mut system, &source);
    assert_eq!(*log.lock(), ["one: first", "two: second"]);
    // On the main thread the write runs at once.
    log.lock().clear();
    run(&system, &source);
    assert_eq!(*log.lock(), ["one: first", "two: second"]);
    Ok(())
}

#[test]
fn arguments_are_checked_by_the_declaration_at_the_call_site() -> Result {
    let log = Log::default();
    let mut system = system(1, &log, true)?;
    for (call, expected) in [
        (
            "game.add('x', 1)",
            "main.lua:1: game.add: argument 1 (a) must be a finite number, got string",
        ),
        (
            "game.add(1)",
            "main.lua:1: game.add: argument 2 (b) must be a finite number, got nil",
        ),
        (
            "game.spawn_enemy(0, 0/0, 0)",
            "main.lua:1: game.spawn_enemy: argument 2 (y) must be a finite number, got -nan",
        ),
        (
            "game.mark(-1, 'x')",
            "main.lua:1: game.mark: argument 1 (entity) must be an entity id",
        ),
        (
            "game.spawn_enmey(1, 2, 3)",
            "main.lua:1: game has no field 'spawn_enmey' (did you mean: spawn_enemy",
        ),
    ] {
        let outcome = system.execute(call, "main.lua");
        let message = outcome
            .error()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        assert!(message.starts_with(expected), "{call}: {message}");
        let on_worker = on_worker(&mut system, call);
        let expected = expected.replace("main.lua", "job.lua");
        assert!(
            on_worker.contains(&expected),
            "{call} on a worker: {on_worker}"
        );
    }
    Ok(())
}

#[test]
fn a_function_declared_as_reading_may_not_write() -> Result {
    let log = Log::default();
    let system = system(1, &log, true)?;
    let outcome = system.execute("game.sneaky(zephyr.entity.create())", "main.lua");
    let message = outcome
        .error()
        .map(|e| e.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains("game.sneaky: it is declared as only reading, and writes"),
        "{message}"
    );
    Ok(())
}

#[test]
fn a_main_thread_function_moves_a_job_and_fails_in_a_parallel_update() -> Result {
    let log = Log::default();
    let mut system = system(2, &log, true)?;
    // A worker job that calls it runs again on the main thread.
    assert_eq!(on_worker(&mut system, "return game.main_only()"), "true");
    let mut behaviours = Behaviours::new();
    let e = system.world().write().create()?;
    behaviours.attach_parallel(
        &system,
        e,
        &ScriptSource::new(
            "par.lua",
            "function on_update(self) print(pcall(game.main_only)) x = game.add(1, 1) end",
        ),
    )?;
    let report = behaviours.frame(&mut system, 0.1);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let printed = system.console().history();
    assert!(
        printed.iter().any(|l| l.starts_with(
            "false\tgame.main_only must run on the main thread, and a parallel behaviour's on_update runs on a worker"
        )),
        "{printed:?}"
    );
    Ok(())
}

#[test]
fn engine_functions_run_in_parallel_behaviours() -> Result {
    let log = Log::default();
    for workers in [1, 2, 4] {
        let mut system = system(workers, &log, true)?;
        let mut behaviours = Behaviours::new();
        let mover = ScriptSource::new(
            "par.lua",
            "function on_update(self, dt)
               local x = zephyr.transform.get_position(self)
               zephyr.transform.set_position(self, game.add(x, 1), 0, 0)
               if zephyr.time.frame() == 3 then game.spawn_enemy(x, 0, 0) end
             end",
        );
        let mut entities = Vec::new();
        for _ in 0..8 {
            let e = system.world().write().create()?;
            behaviours.attach_parallel(&system, e, &mover)?;
            entities.push(e);
        }
        for _ in 0..5 {
            let report = behaviours.frame(&mut system, 0.1);
            assert!(report.errors.is_empty(), "{:?}", report.errors);
        }
        let world = system.world().read();
        for e in &entities {
            assert_eq!(world.transform(*e)?.position.x, 5.0, "{workers} workers");
        }
        let enemies = run(
            &system,
            "local n = 0 for i = 1, 64 do if zephyr.entity.find('enemy') then n = 1 end end return n",
        );
        assert_eq!(enemies, "1", "{workers} workers");
    }
    Ok(())
}

#[test]
fn a_system_without_the_built_ins_has_the_engine_s_packages_only() -> Result {
    let log = Log::default();
    let mut system = system(1, &log, false)?;
    assert_eq!(
        run(
            &system,
            "return zephyr, cvar, console, Key, type(print), type(string.format), game.add(1, 2)"
        ),
        "nil\tnil\tnil\tnil\tfunction\tfunction\t3.0"
    );
    assert_eq!(on_worker(&mut system, "return game.add(2, 2)"), "4.0");
    let markdown = zephyr_runtime::api::markdown(&[game(&log)]);
    assert!(markdown.contains("## `game`"), "{markdown}");
    assert!(
        markdown.contains("| `add(a: number, b: number)` | sum: number | a + b. |"),
        "{markdown}"
    );
    assert!(markdown.contains("Runs on the main thread only. *main thread only*"));
    assert!(markdown.contains("| `MAX_ENEMIES` | `32` | Enemies alive at once. |"));
    let types = zephyr_runtime::api::definitions(&[game(&log)]);
    assert!(
        types.contains(
            "---@class game\n---@field MAX_ENEMIES integer Enemies alive at once.\ngame = {}"
        ),
        "{types}"
    );
    assert!(types.contains("---@param a number\n---@param b number\n---@return number sum\nfunction game.add(a, b) end"), "{types}");
    Ok(())
}

#[test]
fn packages_that_collide_are_refused_by_name() {
    let log = Log::default();
    for (packages, expected) in [
        (vec![game(&log), game(&log)], "game.add is declared twice"),
        (
            vec![Package::new("string").function(Function::new("x", |_| Ok(Ret::None)))],
            "package 'string': 'string' is one of Lua's own globals",
        ),
        (
            vec![
                Package::new("zephyr.entity").function(Function::new("create", |_| Ok(Ret::None))),
            ],
            "zephyr.entity.create is declared twice",
        ),
    ] {
        let error = ScriptingSystem::new(ScriptingConfig {
            workers: 1,
            packages,
            ..ScriptingConfig::default()
        })
        .expect_err(expected);
        assert!(error.to_string().contains(expected), "{error}");
    }
}

/// A typed function over the engine's own data: hit points by entity.
fn health(hp: &Arc<Mutex<std::collections::HashMap<u64, f64>>>) -> Package {
    let (read, write) = (hp.clone(), hp.clone());
    Package::new("health")
        .function(
            Function::typed(
                "get",
                &["entity"],
                move |call, (e,): (zephyr_runtime::world::EntityId,)| {
                    read.lock()
                        .get(&e.bits())
                        .copied()
                        .ok_or_else(|| call.error(format!("entity {} has no health", e.to_lua())))
                },
            )
            .return_names(&["hp"])
            .doc("The entity's hit points."),
        )
        .function(
            Function::typed(
                "set",
                &["entity", "hp", "max"],
                move |call, (e, hp, max): (zephyr_runtime::world::EntityId, f64, Option<f64>)| {
                    let value = hp.min(max.unwrap_or(f64::INFINITY));
                    let write = write.clone();
                    call.command(move |_: &mut World| {
                        write.lock().insert(e.bits(), value);
                    })?;
                    Ok(value)
                },
            )
            .return_names(&["applied"])
            .doc("Sets the hit points, at most max.")
            .writes(),
        )
}

#[test]
fn typed_functions_read_their_arguments_as_rust_types_and_check_them() -> Result {
    let hp = Arc::new(Mutex::new(std::collections::HashMap::new()));
    let mut system = ScriptingSystem::new(ScriptingConfig {
        workers: 2,
        packages: vec![health(&hp)],
        ..ScriptingConfig::default()
    })?;
    let e = run(&system, "return zephyr.entity.create()");
    assert_eq!(
        run(&system, &format!("return health.set({e}, 150, 100)")),
        "100.0"
    );
    assert_eq!(run(&system, &format!("return health.get({e})")), "100.0");
    // From a worker: recorded, applied in order.
    assert_eq!(
        on_worker(&mut system, &format!("return health.set({e}, 40)")),
        "40.0"
    );
    assert_eq!(run(&system, &format!("return health.get({e})")), "40.0");
    for (call, expected) in [
        (
            format!("health.set({e}, 'lots')"),
            "game.lua:1: health.set: argument 2 (hp) must be a finite number, got string",
        ),
        (
            format!("health.set({e}, 0/0)"),
            "game.lua:1: health.set: argument 2 (hp) must be a finite number, got -nan",
        ),
        (
            "health.get(0)".to_owned(),
            "game.lua:1: health.get: argument 1 (entity) must be an entity id (a positive integer), got number",
        ),
        (
            "health.get({})".to_owned(),
            "game.lua:1: health.get: argument 1 (entity) must be an entity id (a positive integer), got table",
        ),
        (
            "health.get(999)".to_owned(),
            "game.lua:1: health.get: entity 999 has no health",
        ),
    ] {
        let outcome = system.execute(&call, "game.lua");
        let message = outcome
            .error()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        assert!(message.starts_with(expected), "{call}: {message}");
    }
    let docs = zephyr_runtime::api::markdown(&[health(&hp)]);
    assert!(
        docs.contains("| `set(entity: entity, hp: number, max?: number)` | applied: number | Sets the hit points, at most max. *write* |"),
        "{docs}"
    );
    Ok(())
}
