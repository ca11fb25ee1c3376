//! Worker jobs: arguments, the per-state compile cache, and jobs that move
//! to the main thread keeping their arguments.

use zephyr_runtime::{Job, Outcome, ScriptValue, ScriptingConfig, ScriptingSystem};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn system(workers: usize) -> Result<ScriptingSystem> {
    Ok(ScriptingSystem::new(ScriptingConfig {
        workers,
        ..ScriptingConfig::default()
    })?)
}

#[test]
fn jobs_see_their_arguments_as_dots() -> Result {
    let mut system = system(2)?;
    let job = Job::new(
        "local n, s, f, b, none = ... return select('#', ...), n * 2, s .. '!', f, b, none",
    )
    .args([
        21.into(),
        "hi".into(),
        1.5.into(),
        true.into(),
        ScriptValue::Nil,
    ]);
    let outcome = system.wait(system.enqueue(job)?);
    assert_eq!(outcome.to_string(), "5\t42\thi!\t1.5\ttrue\tnil");
    Ok(())
}

#[test]
fn a_repeated_source_compiles_once_per_worker_state() -> Result {
    let mut system = system(2)?;
    let source = "local a, b = ... return a + b";
    let mut handles = Vec::new();
    for i in 0..200 {
        handles.push(
            system.enqueue(
                Job::new(source)
                    .chunk_name("add.lua")
                    .args([i.into(), 1.into()]),
            )?,
        );
    }
    let mut sum = 0;
    for handle in handles {
        match system.wait(handle) {
            Outcome::Returned(values) => match values[0] {
                ScriptValue::Integer(n) => sum += n,
                ref other => panic!("unexpected {other:?}"),
            },
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(sum, (1..=200).sum::<i64>());
    let stats = system.runner().stats();
    assert_eq!(stats.completed, 200);
    // Two states (one per worker): at most two compiles, every other job a hit.
    assert!(stats.compile_cache_hits >= 198, "{stats:?}");
    // A different chunk name is a different chunk (errors name it).
    let before = system.runner().stats().compile_cache_hits;
    let outcome = system.wait(
        system.enqueue(
            Job::new(source)
                .chunk_name("other.lua")
                .args([1.into(), 1.into()]),
        )?,
    );
    assert_eq!(outcome.to_string(), "2");
    assert!(system.runner().stats().compile_cache_hits <= before + 1);
    Ok(())
}

/// A job without a chunk name is `job`: the same source enqueued again
/// (the usual way to run one script many times) compiles once per state.
#[test]
fn a_repeated_unnamed_source_compiles_once_per_state() -> Result {
    let mut system = system(2)?;
    let handles: Vec<_> = (0..100)
        .map(|_| system.enqueue(Job::new("return 2 + 2")))
        .collect::<std::result::Result<_, _>>()?;
    for handle in handles {
        assert_eq!(system.wait(handle).to_string(), "4");
    }
    assert!(
        system.runner().stats().compile_cache_hits >= 98,
        "{:?}",
        system.runner().stats()
    );
    let outcome = system.wait(system.enqueue(Job::new("error('boom')"))?);
    assert_eq!(outcome.to_string(), "ERROR: job:1: boom");
    Ok(())
}

#[test]
fn errors_of_cached_chunks_name_their_chunk_and_line() -> Result {
    let mut system = system(1)?;
    for _ in 0..3 {
        let outcome = system.wait(
            system.enqueue(
                Job::new("local x = ...\n\nif x > 1 then error('too big: ' .. x) end return x")
                    .chunk_name("check.lua")
                    .args([5.into()]),
            )?,
        );
        match outcome {
            Outcome::Failed(error) => {
                assert_eq!(error.message, "check.lua:3: too big: 5");
                assert_eq!(error.line, Some(3));
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(system.runner().stats().compile_cache_hits >= 2);
    Ok(())
}

#[test]
fn a_job_moved_to_the_main_thread_keeps_its_arguments() -> Result {
    let mut system = system(1)?;
    system
        .cvars()
        .register(zephyr_runtime::cvar::CVarDef::new("fov", 75.0))?;
    let job = Job::new(
        "local name = ... cvar.on_change('fov', function() end) return name .. ' on main'",
    )
    .args(["moved".into()]);
    let outcome = system.wait(system.enqueue(job)?);
    assert_eq!(outcome.to_string(), "moved on main");
    assert_eq!(system.runner().stats().moved_to_main, 1);
    Ok(())
}

/// Runs `f` on a thread of its own and fails the test if it takes longer
/// than a generous bound: a main thread that waits for an action that never
/// comes would otherwise hang the suite.
fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(f());
    });
    result
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the main thread's wait never returned")
}

#[test]
fn waits_and_syncs_return_once_every_job_is_applied_however_the_actions_come() {
    // Bursts that fill the action queue many times over (the main thread
    // takes results in batches while they are many, one by one at the
    // end), single jobs, and frames of a few jobs: every wait returns its
    // job's outcome with the job applied, every sync leaves nothing in
    // flight, and every job is counted once.
    let (applied, enqueued) = within_a_minute(|| -> (u64, u64) {
        let mut system = system(2).expect("system");
        let mut enqueued = 0;
        for burst in [1usize, 2, 63, 64, 65, 1000, 3000] {
            let mut last = None;
            for i in 0..burst {
                let job = Job::new("local n = ... return n * 2").args([(i as i64).into()]);
                last = Some(system.enqueue(job).expect("enqueue"));
                enqueued += 1;
            }
            let last = last.expect("a job");
            let outcome = system.wait(last);
            assert_eq!(outcome.to_string(), ((burst as i64 - 1) * 2).to_string());
            system.sync();
            assert_eq!(system.jobs_in_flight(), 0, "after a burst of {burst}");
        }
        for frame in 0..200 {
            for _ in 0..(frame % 7) {
                let _ = system.enqueue(Job::new("return 1")).expect("enqueue");
                enqueued += 1;
            }
            system.sync();
            assert_eq!(system.jobs_in_flight(), 0, "after frame {frame}");
        }
        let stats = system.runner().stats();
        (stats.completed, stats.enqueued.min(enqueued))
    });
    assert_eq!(applied, enqueued, "every job completed once");
}

#[test]
fn writing_jobs_through_a_tiny_queue_all_land() {
    // A queue of 3 actions and jobs that each record a write and a result
    // (two actions a job): the workers wait for room over and over, the
    // main thread takes batches and single actions, and every job's writes
    // land.
    let (count, last_name) = within_a_minute(|| {
        let mut system = ScriptingSystem::new(ScriptingConfig {
            workers: 2,
            queue_capacity: 3,
            ..ScriptingConfig::default()
        })
        .expect("system");
        let mut last = None;
        for i in 0..600i64 {
            let job = Job::new(
                "local i = ... local e = zephyr.entity.create() \
                 zephyr.entity.set_name(e, 'made ' .. i) return i",
            )
            .args([i.into()]);
            last = Some(system.enqueue(job).expect("enqueue"));
        }
        let outcome = system.wait(last.expect("a job"));
        system.sync();
        let world = system.world().read();
        let names: Vec<String> = (0..600)
            .filter_map(|i| world.find(&format!("made {i}")).map(|_| i.to_string()))
            .collect();
        (names.len(), outcome.to_string())
    });
    assert_eq!(count, 600, "every job's entity exists");
    assert_eq!(last_name, "599");
}
