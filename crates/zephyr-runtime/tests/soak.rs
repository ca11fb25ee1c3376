//! A soak: a million jobs through the runner of a `ScriptingSystem` (an
//! `#[ignore]`d test; its figures are in BENCHMARKS.md):
//!
//! ```text
//! cargo test --release -p zephyr-runtime --test soak -- --ignored --nocapture
//! ```
//!
//! Jobs of every kind (returning, failing, over budget, moved to the main
//! thread, with arguments) are enqueued as fast as the bounded queue
//! takes them. Every outcome is accounted for, kind by kind; every lease
//! comes back; and the process's memory stays flat: what it holds after
//! the last job is within a margin of what it held after the first tenth.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use zephyr_runtime::{
    Job, Limits, Outcome, ScriptErrorKind, ScriptValue, ScriptingConfig, ScriptingSystem,
    StateConfig,
};

/// Resident memory of this process, in KiB (Linux's /proc).
fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

#[derive(Default)]
struct Tally {
    returned: AtomicU64,
    failed: AtomicU64,
    budget: AtomicU64,
    other: AtomicU64,
}

/// The jobs, by kind: (source, expected).
const KINDS: [&str; 5] = [
    "local a, b = ... return a + b",
    "error('planned')",
    "while true do end",
    "cvar.on_change('sv_cheats', function() end) return 'moved'",
    "local t = {} for i = 1, 50 do t[i] = tostring(i) end return #table.concat(t)",
];

/// Two workers, and a budget small enough that the looping kind stops fast.
fn soak_system() -> ScriptingSystem {
    ScriptingSystem::new(ScriptingConfig {
        workers: 2,
        state: StateConfig {
            limits: Limits {
                instructions: 100_000,
                ..Limits::default()
            },
            ..StateConfig::default()
        },
        ..ScriptingConfig::default()
    })
    .expect("system")
}

#[test]
#[ignore = "a soak: minutes in release (see BENCHMARKS.md)"]
#[allow(clippy::print_stdout)] // the figures are the point of the run
fn a_million_jobs_are_all_accounted_for_with_flat_memory() {
    let total: u64 = std::env::var("ZEPHYR_SOAK_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut system = soak_system();
    let tally = Arc::new(Tally::default());
    let mut expected = [0u64; 5];
    let mut resident_at_tenth = 0;
    let mut peak_after_tenth = 0;
    let started = std::time::Instant::now();
    for n in 0..total {
        let kind = (n % 5) as usize;
        expected[kind] += 1;
        let tally = tally.clone();
        let job = Job::new(KINDS[kind])
            .chunk_name(format!("soak{kind}"))
            .args([ScriptValue::Integer(n as i64), ScriptValue::Integer(1)])
            .on_complete(move |outcome| {
                let counter = match outcome {
                    Outcome::Returned(_) => &tally.returned,
                    Outcome::Failed(e) if e.kind == ScriptErrorKind::BudgetExceeded => {
                        &tally.budget
                    }
                    Outcome::Failed(_) => &tally.failed,
                    _ => &tally.other,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            });
        drop(system.enqueue(job).expect("enqueue"));
        // A game enqueues a frame's worth and updates: at most 512 in flight.
        while system.jobs_in_flight() > 512 {
            system.update();
            std::thread::yield_now();
        }
        if n == total / 10 {
            while system.jobs_in_flight() > 0 {
                system.update();
            }
            resident_at_tenth = resident_kib();
        }
        if n > total / 10 && n % 65_536 == 0 {
            peak_after_tenth = peak_after_tenth.max(resident_kib());
        }
    }
    while system.jobs_in_flight() > 0 {
        system.update();
    }
    let elapsed = started.elapsed();
    let resident_at_end = resident_kib();
    let stats = system.runner().stats();
    let main = tally.returned.load(Ordering::Relaxed);
    println!(
        "soak: {total} jobs in {:.1} s ({:.0} jobs/s); returned {main}, failed {}, over budget {}, \
         moved to main {}; resident memory {} KiB after a tenth, peak {} KiB after it, {} KiB at the end",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        tally.failed.load(Ordering::Relaxed),
        tally.budget.load(Ordering::Relaxed),
        stats.moved_to_main,
        resident_at_tenth,
        peak_after_tenth,
        resident_at_end,
    );
    // Every job, one outcome, of the kind its source makes.
    assert_eq!(stats.enqueued, total);
    assert_eq!(tally.other.load(Ordering::Relaxed), 0, "cancelled jobs");
    assert_eq!(main, expected[0] + expected[3] + expected[4]);
    assert_eq!(tally.failed.load(Ordering::Relaxed), expected[1]);
    assert_eq!(tally.budget.load(Ordering::Relaxed), expected[2]);
    assert_eq!(stats.moved_to_main, expected[3]);
    // Every lease back.
    assert_eq!(system.pool().available(), system.pool().capacity());
    // Memory flat: the last nine tenths grow it by less than 16 MiB.
    assert!(
        resident_at_end < resident_at_tenth + 16 * 1024,
        "resident memory grew from {resident_at_tenth} KiB to {resident_at_end} KiB"
    );
}

/// The same soak, small, in every `cargo test`: the accounting holds.
#[test]
fn a_thousand_jobs_are_all_accounted_for() {
    let mut system = soak_system();
    let done = Arc::new(AtomicU64::new(0));
    for n in 0..1000u64 {
        let done = done.clone();
        let job = Job::new(KINDS[(n % 5) as usize])
            .args([ScriptValue::Integer(1), ScriptValue::Integer(2)])
            .on_complete(move |_| {
                done.fetch_add(1, Ordering::Relaxed);
            });
        drop(system.enqueue(job).expect("enqueue"));
        if n % 64 == 0 {
            system.update();
        }
    }
    while system.jobs_in_flight() > 0 {
        system.update();
    }
    assert_eq!(done.load(Ordering::Relaxed), 1000);
    assert_eq!(system.runner().stats().moved_to_main, 200);
    assert_eq!(system.pool().available(), system.pool().capacity());
}

/// A turret that spawns `per_frame` bullets a frame while the cvar
/// `soak_firing` is on, each a parallel prefab behaviour that destroys
/// itself after `life` frames.
fn projectile_scripting(per_frame: usize, life: usize) -> zephyr_runtime::Scripting {
    use zephyr_runtime::prefab::EntityTemplate;
    let mut scripting = zephyr_runtime::Scripting::new(ScriptingConfig {
        workers: 2,
        ..ScriptingConfig::default()
    })
    .expect("scripting");
    scripting
        .add_prefab(
            "Bullet",
            EntityTemplate {
                tags: Some(vec!["bullet".into()]),
                body: Some(zephyr_runtime::world::RigidBody::default()),
                script: Some(zephyr_runtime::ScriptSource::new(
                    "bullet.lua",
                    format!(
                        "local age, trail = 0, {{}}
                         function on_update(self, dt)
                             age = age + 1
                             trail[age] = {{zephyr.transform.get_position(self)}}
                             zephyr.transform.translate(self, 0, 0, -1)
                             if age >= {life} then zephyr.entity.destroy(self) end
                         end"
                    ),
                )),
                parallel: Some(true),
                ..EntityTemplate::default()
            },
        )
        .expect("prefab");
    let turret = scripting.world().write().create().expect("turret");
    scripting
        .attach(
            turret,
            &zephyr_runtime::ScriptSource::new(
                "turret.lua",
                format!(
                    "cvar.register('soak_firing', true)
                     function on_update(self, dt)
                         if not cvar.get_bool('soak_firing') then return end
                         for i = 1, {per_frame} do zephyr.entity.spawn('Bullet', i, 0, 0) end
                     end"
                ),
            ),
        )
        .expect("turret");
    scripting
}

/// Fires for `frames` frames, then stops until every bullet has expired,
/// and collects the garbage: returns (resident KiB, Lua bytes) with no
/// bullet alive.
fn fire(scripting: &mut zephyr_runtime::Scripting, frames: usize, life: usize) -> (u64, usize) {
    scripting
        .cvars()
        .set_from_string("soak_firing", "true")
        .expect("cvar");
    let step = |scripting: &mut zephyr_runtime::Scripting| {
        let report = scripting.frame(1.0 / 60.0);
        assert!(report.is_clean(), "{report:?}");
    };
    for _ in 0..frames {
        step(scripting);
    }
    scripting
        .cvars()
        .set_from_string("soak_firing", "false")
        .expect("cvar");
    for _ in 0..life + 2 {
        step(scripting);
    }
    assert_eq!(scripting.behaviours().len(), 1, "only the turret is left");
    assert_eq!(scripting.world().read().tagged("bullet").unwrap(), []);
    let left = scripting
        .world_ref::<zephyr_runtime::world::World>()
        .expect("Zephyr's world")
        .len();
    assert_eq!(left, 1, "every bullet's entity gone");
    scripting.behaviours().collect_garbage(scripting.system());
    (
        resident_kib(),
        scripting.behaviours().lua_memory(scripting.system()),
    )
}

#[test]
fn a_thousand_projectiles_leave_nothing_behind() {
    let mut scripting = projectile_scripting(10, 5);
    let (_, first) = fire(&mut scripting, 50, 5);
    let (_, second) = fire(&mut scripting, 50, 5);
    assert!(
        second <= first + 64 * 1024,
        "Lua memory grew: {first} -> {second}"
    );
}

#[test]
#[ignore = "a soak: seconds in release (see BENCHMARKS.md)"]
#[allow(clippy::print_stdout)] // the figures are the point of the run
fn a_hundred_thousand_projectiles_leak_nothing() {
    let (per_frame, life) = (100, 30);
    let mut scripting = projectile_scripting(per_frame, life);
    let started = std::time::Instant::now();
    // A quarter first, to warm the allocator and the states; then the
    // rest: what is held with no bullet alive must not grow.
    let (resident_warm, lua_warm) = fire(&mut scripting, 250, life);
    let (resident_end, lua_end) = fire(&mut scripting, 750, life);
    let elapsed = started.elapsed();
    println!(
        "projectiles: {} spawned and destroyed in {:.1} s ({} alive at a time); with none \
         alive, resident {resident_warm} KiB after the first 25,000 and {resident_end} KiB at \
         the end, Lua {lua_warm} bytes then and {lua_end} bytes at the end",
        per_frame * 1000,
        elapsed.as_secs_f64(),
        per_frame * life,
    );
    assert!(
        lua_end <= lua_warm + 64 * 1024,
        "Lua memory grew: {lua_warm} -> {lua_end}"
    );
    assert!(
        resident_end <= resident_warm + resident_warm / 10,
        "resident memory grew: {resident_warm} -> {resident_end} KiB"
    );
}
