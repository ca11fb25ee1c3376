//! The ScriptRunner: exactly one outcome per script, under stress, through
//! panics and through shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use zephyr_runtime::{
    Action, ActionQueue, Job, Outcome, RunnerConfig, ScriptErrorKind, ScriptRunner, ScriptState,
    Shutdown, StateConfig, StatePool,
};

/// A pool whose states have `enter()`/`leave()` (counting how many scripts
/// run at once) and `gate()` (blocks until the test opens it).
struct Fixture {
    pool: StatePool,
    running: Arc<AtomicUsize>,
    max_running: Arc<AtomicUsize>,
    open_gate: Sender<()>,
}

fn fixture(states: usize) -> Fixture {
    let running = Arc::new(AtomicUsize::new(0));
    let max_running = Arc::new(AtomicUsize::new(0));
    let (open_gate, gate): (Sender<()>, Receiver<()>) = crossbeam_channel::unbounded();
    let config = StateConfig::default();
    let pool = {
        let (running, max_running) = (running.clone(), max_running.clone());
        StatePool::new(states, move |_| {
            let (running, max_running, gate) = (running.clone(), max_running.clone(), gate.clone());
            let state = ScriptState::new(&config, move |lua, api| {
                let r = running.clone();
                api.set(
                    "enter",
                    lua.create_function(move |_, ()| {
                        let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                        max_running.fetch_max(now, Ordering::SeqCst);
                        Ok(())
                    })?,
                )?;
                let r = running.clone();
                api.set(
                    "leave",
                    lua.create_function(move |_, ()| {
                        r.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })?,
                )?;
                api.set(
                    "gate",
                    lua.create_function(move |_, ()| {
                        let _ = gate.recv_timeout(Duration::from_secs(10));
                        Ok(())
                    })?,
                )?;
                Ok(())
            })?;
            Ok(state)
        })
        .unwrap()
    };
    Fixture {
        pool,
        running,
        max_running,
        open_gate,
    }
}

/// A fixture, a queue of `capacity` and a runner with `workers` workers.
fn start(states: usize, workers: usize, capacity: usize) -> (Fixture, ActionQueue, ScriptRunner) {
    let fx = fixture(states);
    let queue = ActionQueue::new(capacity);
    let runner =
        ScriptRunner::new(RunnerConfig { workers }, fx.pool.clone(), queue.clone()).unwrap();
    (fx, queue, runner)
}

fn job_of(action: &Action) -> Option<u64> {
    match action {
        Action::ScriptResult { job, .. } => Some(job.0),
        _ => None,
    }
}

#[test]
fn ten_thousand_scripts_on_four_workers_are_all_accounted_for() {
    const SCRIPTS: usize = 10_000;
    let (fx, queue, runner) = start(5, 4, 256);

    let callbacks: Arc<Vec<AtomicU32>> =
        Arc::new((0..SCRIPTS).map(|_| AtomicU32::new(0)).collect());
    let mut handles = Vec::with_capacity(SCRIPTS);
    for i in 0..SCRIPTS {
        // Every seventh script fails; the others return their index.
        let source = if i % 7 == 0 {
            format!("enter() leave() error('fail {i}')")
        } else {
            format!("enter() local x = {i} leave() return x")
        };
        let counts = callbacks.clone();
        let job = Job::new(source).on_complete(move |_| {
            counts[i].fetch_add(1, Ordering::SeqCst);
        });
        handles.push(runner.enqueue(job).unwrap());
    }

    // The main thread drains results while the workers run.
    let mut results = vec![0u32; SCRIPTS];
    let mut received = 0;
    while received < SCRIPTS {
        if let Some(action) = queue.pop_timeout(Duration::from_secs(20)) {
            let job = job_of(&action).expect("only results: these scripts write nothing");
            results[job as usize] += 1;
            received += 1;
        } else {
            panic!("results stopped arriving after {received}");
        }
    }
    for (i, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.job().0, i as u64, "ids follow enqueue order");
        let outcome = handle.wait();
        if i % 7 == 0 {
            let error = outcome.error().expect("failed script");
            assert!(error.message.contains(&format!("fail {i}")), "{error}");
        } else {
            assert_eq!(outcome.to_string(), i.to_string());
        }
    }
    assert!(
        results.iter().all(|&n| n == 1),
        "exactly one ScriptResult per script"
    );
    assert!(
        callbacks.iter().all(|n| n.load(Ordering::SeqCst) == 1),
        "exactly one callback per script"
    );
    assert!(queue.is_empty());
    assert!(
        fx.max_running.load(Ordering::SeqCst) <= 4,
        "at most one script per worker"
    );
    assert_eq!(fx.running.load(Ordering::SeqCst), 0);
    let stats = runner.stats();
    assert_eq!(
        (stats.enqueued, stats.completed, stats.cancelled),
        (SCRIPTS as u64, SCRIPTS as u64, 0)
    );
    drop(runner);
    assert_eq!(fx.pool.available(), 5, "every lease came back");
}

#[test]
fn outcome_text_follows_the_reference() {
    let fx = fixture(1);
    let queue = ActionQueue::new(16);
    let runner = ScriptRunner::new(RunnerConfig { workers: 1 }, fx.pool.clone(), queue).unwrap();
    let cases = [
        ("print('Hello from worker')", "OK"),
        ("return 2 + 2", "4"),
        ("return 1.5, 'two', nil, true", "1.5\ttwo\tnil\ttrue"),
        ("return 10 / 2", "5.0"),
    ];
    for (source, expected) in cases {
        let outcome = runner.enqueue_script(source, None).unwrap().wait();
        assert_eq!(outcome.to_string(), expected, "{source}");
    }
    let outcome = runner
        .enqueue(Job::new("local t = nil\nt.x = 1").chunk_name("broken.lua"))
        .unwrap()
        .wait();
    let error = outcome.error().unwrap();
    assert_eq!((error.chunk.as_str(), error.line), ("broken.lua", Some(2)));
    assert!(
        outcome
            .to_string()
            .starts_with("ERROR: broken.lua:2: attempt to index a nil value")
    );
    assert!(error.traceback.is_some());
}

#[test]
fn a_panicking_callback_is_an_error_outcome_and_the_worker_lives_on() {
    let (fx, queue, runner) = start(1, 1, 16);
    let outcome = runner
        .enqueue(Job::new("return 1").on_complete(|_| panic!("callback bug")))
        .unwrap()
        .wait();
    let error = outcome.error().expect("panic reported as an error");
    assert_eq!(error.kind, ScriptErrorKind::Panic);
    assert!(error.message.contains("callback bug"), "{}", error.message);
    match queue.pop_timeout(Duration::from_secs(5)) {
        Some(Action::ScriptResult { outcome, .. }) => assert!(!outcome.is_ok()),
        other => panic!("expected the failed ScriptResult, got {other:?}"),
    }
    // Same worker, same single state: still working.
    assert_eq!(
        runner
            .enqueue_script("return 3", None)
            .unwrap()
            .wait()
            .to_string(),
        "3"
    );
    assert_eq!(fx.pool.available(), 1);
}

#[test]
fn results_are_queued_before_the_handle_completes() {
    let (_fx, queue, runner) = start(2, 2, 64);
    for i in 0..50 {
        let handle = runner.enqueue_script(&format!("return {i}"), None).unwrap();
        let job = handle.job().0;
        handle.wait();
        let mut found = false;
        while let Some(action) = queue.try_pop() {
            found |= job_of(&action) == Some(job);
        }
        assert!(
            found,
            "ScriptResult of job {job} must be queued once its handle completes"
        );
    }
}

#[test]
fn handles_can_be_polled() {
    let (fx, _queue, runner) = start(1, 1, 8);
    let mut handle = runner.enqueue_script("gate() return 'done'", None).unwrap();
    assert!(handle.try_outcome().is_none());
    assert!(handle.wait_timeout(Duration::from_millis(20)).is_none());
    fx.open_gate.send(()).unwrap();
    let outcome = handle.wait_timeout(Duration::from_secs(10)).cloned();
    assert_eq!(outcome.map(|o| o.to_string()).as_deref(), Some("done"));
    assert_eq!(handle.wait().to_string(), "done");
}

#[test]
fn dropping_the_runner_cancels_queued_scripts_and_accounts_for_each() {
    const QUEUED: usize = 50;
    let (fx, queue, runner) = start(1, 1, 256);
    let cancelled = Arc::new(AtomicUsize::new(0));
    let first = runner
        .enqueue_script("enter() gate() leave() return 'first'", None)
        .unwrap();
    while fx.running.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    let handles: Vec<_> = (0..QUEUED)
        .map(|i| {
            let cancelled = cancelled.clone();
            runner
                .enqueue(Job::new(format!("return {i}")).on_complete(move |o| {
                    if *o == Outcome::Cancelled {
                        cancelled.fetch_add(1, Ordering::SeqCst);
                    }
                }))
                .unwrap()
        })
        .collect();
    let opener = {
        let open = fx.open_gate.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            open.send(()).unwrap();
        })
    };
    drop(runner); // blocks until the running script finishes
    opener.join().unwrap();
    assert_eq!(
        first.wait().to_string(),
        "first",
        "a running script finishes"
    );
    for handle in handles {
        assert_eq!(handle.wait(), Outcome::Cancelled);
    }
    assert_eq!(cancelled.load(Ordering::SeqCst), QUEUED);
    let results = std::iter::from_fn(|| queue.try_pop())
        .filter_map(|a| job_of(&a))
        .count();
    assert_eq!(
        results,
        QUEUED + 1,
        "one ScriptResult per job, cancelled ones included"
    );
    assert_eq!(fx.pool.available(), 1);
}

#[test]
fn drain_shutdown_runs_every_queued_script() {
    let (_fx, queue, runner) = start(2, 2, 256);
    let handles: Vec<_> = (0..100)
        .map(|i| runner.enqueue_script(&format!("return {i}"), None).unwrap())
        .collect();
    runner.shutdown(Shutdown::Drain);
    for (i, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.wait().to_string(), i.to_string());
    }
    assert_eq!(queue.len(), 100);
}

#[test]
fn shutdown_with_a_full_queue_and_no_consumer_does_not_hang() {
    let (_fx, queue, runner) = start(2, 2, 2);
    let handles: Vec<_> = (0..20)
        .map(|i| runner.enqueue_script(&format!("return {i}"), None).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    runner.shutdown(Shutdown::Drain);
    for (i, handle) in handles.into_iter().enumerate() {
        // Every script still reaches its handle, even when its action could
        // not be queued.
        assert_eq!(handle.wait().to_string(), i.to_string());
    }
    assert_eq!(queue.len(), 2);
}

#[test]
fn zero_workers_is_refused() {
    let fx = fixture(1);
    assert!(
        ScriptRunner::new(
            RunnerConfig { workers: 0 },
            fx.pool.clone(),
            ActionQueue::new(1)
        )
        .is_err()
    );
}

#[test]
fn a_global_set_by_one_job_is_invisible_to_the_next_on_the_same_state() {
    let (_fx, _queue, runner) = start(1, 1, 8);
    let first = runner
        .enqueue_script(
            "secret = 'leaked'; function helper() end; return secret",
            None,
        )
        .unwrap();
    assert_eq!(first.wait().to_string(), "leaked");
    let second = runner
        .enqueue_script("return secret, helper, rawget(_G, 'secret')", None)
        .unwrap();
    assert_eq!(second.wait().to_string(), "nil\tnil\tnil");
}
