//! Binding overhead, a 10,000-entity frame and a math call. See
//! BENCHMARKS.md for the figures and how to read them.
//!
//! `cargo bench --bench api`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use mlua::{Function, Lua};
use parking_lot::{Mutex, RwLock};
use zephyr::runtime::{Limits, ScriptingConfig, ScriptingSystem, StateConfig};
use zephyr::world::glam::DVec3;
use zephyr::world::{EntityId, World, WorldCommand, WorldRead};

/// get_position + set_position pairs per measured iteration.
const PAIRS: usize = 1000;

const LOOP: &str = "
local get, set, e, n = ...
for _ = 1, n do
    local x, y, z = get(e)
    set(e, x + 1, y, z)
end";

fn system() -> ScriptingSystem {
    ScriptingSystem::new(ScriptingConfig {
        workers: 1,
        state: StateConfig {
            limits: Limits {
                instructions: 0,
                ..Limits::default()
            },
            ..StateConfig::default()
        },
        ..ScriptingConfig::default()
    })
    .expect("system")
}

/// A system whose main state has run `setup`, and that state's globals.
fn scripted(setup: &str) -> (ScriptingSystem, mlua::Table) {
    let system = system();
    let outcome = system.execute(setup, "setup");
    assert!(outcome.is_ok(), "setup: {outcome}");
    let globals = system
        .main_state()
        .persistent_env()
        .expect("main env")
        .clone();
    (system, globals)
}

fn binding_pair(c: &mut Criterion) {
    let mut group = c.benchmark_group("get_position+set_position x1000");

    // Ours: the registry-declared bindings on the main state.
    let (system, globals) = scripted(
        "entity = zephyr.entity.create()
         get, set = zephyr.transform.get_position, zephyr.transform.set_position",
    );
    let lua = system.main_state().lua().clone();
    let ours: Function = lua.load(LOOP).into_function().expect("loop");
    let entity: i64 = globals.get("entity").expect("entity");
    let (get, set): (Function, Function) = (
        globals.get("get").expect("get"),
        globals.get("set").expect("set"),
    );
    group.bench_function("zephyr bindings", |b| {
        b.iter(|| ours.call::<()>((&get, &set, entity, PAIRS)).expect("run"))
    });

    // Baseline: bare mlua closures on a Vec<[f32; 3]>.
    let bare_lua = Lua::new();
    let positions = Arc::new(Mutex::new(vec![[0.0f32; 3]; 16]));
    let p = positions.clone();
    let bare_get = bare_lua
        .create_function(move |_, i: usize| {
            let v = p.lock()[i];
            Ok((v[0], v[1], v[2]))
        })
        .expect("get");
    let p = positions.clone();
    let bare_set = bare_lua
        .create_function(move |_, (i, x, y, z): (usize, f32, f32, f32)| {
            p.lock()[i] = [x, y, z];
            Ok(())
        })
        .expect("set");
    let bare: Function = bare_lua.load(LOOP).into_function().expect("loop");
    group.bench_function("bare mlua closures", |b| {
        b.iter(|| {
            bare.call::<()>((&bare_get, &bare_set, 3, PAIRS))
                .expect("run")
        })
    });

    // Floor: the same work in pure Lua tables.
    let pure: Function = bare_lua
        .load(
            "local positions, e, n = {}, 3, ...
             positions[e] = {0, 0, 0}
             return function()
                 for _ = 1, n do
                     local p = positions[e]
                     local x, y, z = p[1], p[2], p[3]
                     positions[e] = {x + 1, y, z}
                 end
             end",
        )
        .call(PAIRS)
        .expect("pure");
    group.bench_function("pure Lua tables", |b| {
        b.iter(|| pure.call::<()>(()).expect("run"))
    });

    // Reference: closures written by hand for this one pair, on the same
    // kind of world behind the same lock, with none of the registry's work
    // (argument checks, worker switch, error naming). The gap between this
    // and the baseline is the ECS; the gap to ours is the registry.
    let world = Arc::new(RwLock::new(World::new("bench")));
    let id = world.write().create();
    let w = world.clone();
    let hand_get = bare_lua
        .create_function(move |_, e: i64| {
            let e = EntityId::from_lua(e).ok_or_else(|| mlua::Error::runtime("bad id"))?;
            let p = w
                .read()
                .transform(e)
                .map_err(mlua::Error::external)?
                .position;
            Ok((p.x, p.y, p.z))
        })
        .expect("get");
    let w = world.clone();
    let hand_set = bare_lua
        .create_function(move |_, (e, x, y, z): (i64, f64, f64, f64)| {
            let e = EntityId::from_lua(e).ok_or_else(|| mlua::Error::runtime("bad id"))?;
            WorldCommand::SetPosition(e, DVec3::new(x, y, z))
                .apply(&mut *w.write())
                .map_err(mlua::Error::external)
        })
        .expect("set");
    group.bench_function("hand-written closures on a World", |b| {
        b.iter(|| {
            bare.call::<()>((&hand_get, &hand_set, id.to_lua(), PAIRS))
                .expect("run")
        })
    });
    group.finish();
    black_box(positions);
}

fn ten_thousand_entities(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    group.sample_size(20);
    let (system, globals) = scripted(
        "entities = {}
         for i = 1, 10000 do entities[i] = zephyr.entity.create() end
         local get, translate = zephyr.transform.get_position, zephyr.transform.translate
         function move(e, dt) translate(e, dt, 0, 0) end
         function frame(dt) for i = 1, #entities do move(entities[i], dt) end end",
    );
    let frame: Function = globals.get("frame").expect("frame");
    group.bench_function("10,000 entities moved by a script", |b| {
        b.iter(|| {
            system
                .main_state()
                .call_function(&frame, 1.0 / 60.0, "frame")
                .expect("frame")
        })
    });
    let world = system.world().clone();
    group.bench_function("snapshot of 10,000 entities (worker view)", |b| {
        b.iter(|| {
            let world = world.read();
            let world = world
                .downcast_ref::<zephyr::world::World>()
                .expect("Zephyr's world");
            black_box(world.snapshot())
        })
    });
    group.finish();
}

fn math_call(c: &mut Criterion) {
    let mut group = c.benchmark_group("distance x1000");
    let (_system, globals) = scripted(
        "local function lua_distance(x1, y1, z1, x2, y2, z2)
             local dx, dy, dz = x2 - x1, y2 - y1, z2 - z1
             return math.sqrt(dx * dx + dy * dy + dz * dz)
         end
         local function sum(distance, n)
             local s = 0
             for i = 1, n do s = s + distance(i, 2, 3, 4, 5, 6) end
             return s
         end
         function with_binding(n) return sum(zephyr.math.distance, n) end
         function in_lua(n) return sum(lua_distance, n) end",
    );
    for (name, global) in [
        ("zephyr.math.distance", "with_binding"),
        ("the same function in Lua", "in_lua"),
    ] {
        let f: Function = globals.get(global).expect(global);
        group.bench_function(name, |b| b.iter(|| f.call::<f64>(PAIRS).expect("run")));
    }
    group.finish();
}

criterion_group!(benches, binding_pair, ten_thousand_entities, math_call);
criterion_main!(benches);
