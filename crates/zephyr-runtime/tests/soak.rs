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
