//! The ScriptRunner: runs scripts on worker threads with leased Lua states
//! and delivers exactly one outcome per script.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use zephyr_world::{SharedWorld, WorkerWorld, WorldView};

use crate::action::{Action, Callback, Completion, JobId, MainThreadJob};
use crate::error::{Error, Result};
use crate::outcome::Outcome;
use crate::pool::StatePool;
use crate::queue::ActionQueue;
use crate::recording::{MainOnly, Recorder, begin_recording};
use zephyr_lua::ScriptValue;

/// A script to run: its source, its chunk name, its arguments and an
/// optional callback.
///
/// The source is compiled once per worker state: a later job with the same
/// source and chunk name runs the cached chunk (see
/// [`RunnerStats::compile_cache_hits`]), so a script enqueued many times
/// with different arguments compiles once per worker.
///
/// ```
/// use zephyr_runtime::Job;
/// let job = Job::new("local a, b = ... return a + b")
///     .chunk_name("add.lua")
///     .args([2.into(), 2.into()])
///     .on_complete(|outcome| assert_eq!(outcome.to_string(), "4"));
/// # drop(job);
/// ```
#[must_use = "a Job does nothing until it is enqueued"]
pub struct Job {
    source: Vec<u8>,
    chunk_name: Option<String>,
    args: Vec<ScriptValue>,
    on_complete: Option<Callback>,
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("chunk_name", &self.chunk_name)
            .field("args", &self.args)
            .field("source_len", &self.source.len())
            .field("has_callback", &self.on_complete.is_some())
            .finish()
    }
}

impl Job {
    /// A job running `source` (copied; Lua source is bytes, as in a file)
    /// under the chunk name `job` (errors read `job:1: ...`; the job's id is
    /// in its outcome's action). One name for every unnamed job, so that
    /// the compile cache, keyed by name and text, compiles a repeated
    /// source once per state.
    pub fn new(source: impl Into<Vec<u8>>) -> Self {
        Job {
            source: source.into(),
            chunk_name: None,
            args: Vec::new(),
            on_complete: None,
        }
    }

    /// Sets the arguments the chunk sees as `...`: plain values (nil,
    /// booleans, numbers, strings), copied.
    pub fn args(mut self, args: impl IntoIterator<Item = ScriptValue>) -> Self {
        self.args = args.into_iter().collect();
        self
    }

    /// Sets the chunk name shown in error messages (such as a file name).
    pub fn chunk_name(mut self, name: impl Into<String>) -> Self {
        self.chunk_name = Some(name.into());
        self
    }

    /// Sets the completion callback (see [`Callback`] for where it runs).
    pub fn on_complete(mut self, callback: impl FnOnce(&Outcome) + Send + 'static) -> Self {
        self.on_complete = Some(Box::new(callback));
        self
    }
}

/// A handle to a job's outcome: wait for it or poll it.
#[derive(Debug)]
#[must_use = "a handle is how you learn a job's outcome; drop it if you do not need it"]
pub struct ScriptHandle {
    job: JobId,
    rx: oneshot::Receiver<Outcome>,
    outcome: Option<Outcome>,
}

impl ScriptHandle {
    /// The job's id (its place in enqueue order).
    pub fn job(&self) -> JobId {
        self.job
    }

    /// Blocks until the outcome is known.
    ///
    /// On the main thread of a `ScriptingSystem`, prefer
    /// `ScriptingSystem::wait`: outcomes reach handles after the job's actions
    /// are queued, and with the queue full only the main thread can make room.
    pub fn wait(mut self) -> Outcome {
        if let Some(outcome) = self.outcome.take() {
            return outcome;
        }
        self.rx.recv().unwrap_or(Outcome::Cancelled)
    }

    /// Waits at most `timeout` for the outcome.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<&Outcome> {
        if self.outcome.is_none() {
            self.outcome = self.rx.recv_timeout(timeout).ok();
        }
        self.outcome.as_ref()
    }

    /// The outcome, if it is known yet.
    pub fn try_outcome(&mut self) -> Option<&Outcome> {
        if self.outcome.is_none() {
            self.outcome = self.rx.try_recv().ok();
        }
        self.outcome.as_ref()
    }
}

/// How a runner stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Run every script already queued, then stop.
    Drain,
    /// Finish the scripts already running; every script still queued gets
    /// [`Outcome::Cancelled`] through its callback, its handle and a
    /// `ScriptResult` action. This is what dropping the runner does.
    Cancel,
}

/// Runner settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerConfig {
    /// Worker threads. Default: the machine's available parallelism.
    pub workers: usize,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Counters of a runner's work since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunnerStats {
    /// Jobs accepted by `enqueue`.
    pub enqueued: u64,
    /// Jobs that ran to an outcome on a worker.
    pub completed: u64,
    /// Jobs cancelled by shutdown before they ran.
    pub cancelled: u64,
    /// Jobs moved to the main thread.
    pub moved_to_main: u64,
    /// Jobs whose compiled chunk came from their worker state's compile
    /// cache (the same source and chunk name ran on that state before).
    pub compile_cache_hits: u64,
}

#[derive(Default)]
struct Counters {
    enqueued: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
    moved_to_main: AtomicU64,
    compile_cache_hits: AtomicU64,
}

struct QueuedJob {
    id: JobId,
    source: Vec<u8>,
    /// The job's own name, or `job` (not copied for each unnamed job).
    chunk_name: Cow<'static, str>,
    args: Vec<ScriptValue>,
    completion: Completion,
    view: Option<Arc<dyn WorldView>>,
}

pub(crate) struct RunnerShared {
    jobs: Mutex<Option<(Sender<QueuedJob>, u64)>>,
    cancel: AtomicBool,
    counters: Counters,
    /// The live world: a job reads its [`view`](zephyr_world::EngineWorld::view)
    /// taken when the job is queued, and reserves new ids in it.
    world: Option<SharedWorld>,
}

impl RunnerShared {
    pub(crate) fn enqueue(&self, job: Job) -> Result<ScriptHandle> {
        let (handle_tx, handle_rx) = oneshot::channel();
        // Worker scripts read the world as it is when they are enqueued.
        let view = self.world.as_ref().map(|world| world.read().view());
        let mut jobs = self.jobs.lock();
        let (sender, next_id) = jobs.as_mut().ok_or(Error::ShutDown)?;
        let id = JobId(*next_id);
        let queued = QueuedJob {
            id,
            chunk_name: job.chunk_name.map_or(Cow::Borrowed("job"), Cow::Owned),
            source: job.source,
            args: job.args,
            completion: Completion {
                callback: job.on_complete,
                handle: handle_tx,
            },
            view,
        };
        sender.send(queued).map_err(|_| Error::ShutDown)?;
        *next_id += 1;
        self.counters.enqueued.fetch_add(1, Ordering::Relaxed);
        Ok(ScriptHandle {
            job: id,
            rx: handle_rx,
            outcome: None,
        })
    }
}

/// Runs scripts asynchronously on a pool of worker threads, each script with
/// a Lua state leased from a [`StatePool`] (the reference's `ScriptRunner`).
///
/// Every enqueued script produces exactly one [`Outcome`], delivered in this
/// order: to its callback (on the worker), as a `ScriptResult` action on the
/// [`ActionQueue`] (preceded by a `Commands` action with its recorded writes,
/// if it made any), and to its [`ScriptHandle`]. So once a handle has its
/// outcome, the next `ScriptingSystem::update()` sees the job's actions.
///
/// A script that calls a main-thread-only function (`cvar.on_change`,
/// `console.register`) is halted, its recorded writes are dropped, and a
/// `RunOnMain` action carries it to the main thread, where
/// `ScriptingSystem::update()` re-runs it; its outcome is delivered there.
///
/// Dropping the runner is [`Shutdown::Cancel`]; see [`shutdown`](Self::shutdown).
///
/// # Thread safety
///
/// `Send + Sync`; `enqueue` may be called from any thread.
pub struct ScriptRunner {
    shared: Arc<RunnerShared>,
    workers: Vec<JoinHandle<()>>,
    stop: Option<Sender<()>>,
    worker_count: usize,
}

impl fmt::Debug for ScriptRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptRunner")
            .field("workers", &self.worker_count)
            .field("stats", &self.stats())
            .finish()
    }
}

impl ScriptRunner {
    /// Starts `config.workers` worker threads that run jobs with states from
    /// `pool` and push their actions to `queue`. Scripts get no world view
    /// (see [`with_world`](Self::with_world)).
    pub fn new(config: RunnerConfig, pool: StatePool, queue: ActionQueue) -> Result<Self> {
        Self::start(config, pool, queue, None)
    }

    /// Like [`new`](Self::new), and every script reads a snapshot of `world`
    /// taken when it is enqueued (plus its own writes).
    pub fn with_world(
        config: RunnerConfig,
        pool: StatePool,
        queue: ActionQueue,
        world: SharedWorld,
    ) -> Result<Self> {
        Self::start(config, pool, queue, Some(world))
    }

    fn start(
        config: RunnerConfig,
        pool: StatePool,
        queue: ActionQueue,
        world: Option<SharedWorld>,
    ) -> Result<Self> {
        if config.workers == 0 {
            return Err(Error::Config(
                "a script runner needs at least one worker".into(),
            ));
        }
        let (job_tx, job_rx) = crossbeam_channel::unbounded::<QueuedJob>();
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        let shared = Arc::new(RunnerShared {
            jobs: Mutex::new(Some((job_tx, 0))),
            cancel: AtomicBool::new(false),
            counters: Counters::default(),
            world,
        });
        let mut workers = Vec::with_capacity(config.workers);
        for index in 0..config.workers {
            let worker = Worker {
                shared: shared.clone(),
                jobs: job_rx.clone(),
                pool: pool.clone(),
                queue: queue.clone(),
                stop: stop_rx.clone(),
            };
            let handle = std::thread::Builder::new()
                .name(format!("zephyr-worker-{index}"))
                .spawn(move || worker.run())
                .map_err(|e| Error::Config(format!("cannot start worker thread: {e}")))?;
            workers.push(handle);
        }
        Ok(ScriptRunner {
            shared,
            workers,
            stop: Some(stop_tx),
            worker_count: config.workers,
        })
    }

    /// Enqueues a script with an optional callback (the reference's
    /// `enqueueScript`). The script is copied.
    pub fn enqueue_script(
        &self,
        script: &str,
        on_complete: Option<Callback>,
    ) -> Result<ScriptHandle> {
        self.shared.enqueue(Job {
            on_complete,
            ..Job::new(script)
        })
    }

    /// Enqueues a [`Job`].
    pub fn enqueue(&self, job: Job) -> Result<ScriptHandle> {
        self.shared.enqueue(job)
    }

    /// The number of worker threads.
    pub fn workers(&self) -> usize {
        self.worker_count
    }

    /// Counters of the work done so far.
    pub fn stats(&self) -> RunnerStats {
        let c = &self.shared.counters;
        RunnerStats {
            enqueued: c.enqueued.load(Ordering::Relaxed),
            completed: c.completed.load(Ordering::Relaxed),
            cancelled: c.cancelled.load(Ordering::Relaxed),
            moved_to_main: c.moved_to_main.load(Ordering::Relaxed),
            compile_cache_hits: c.compile_cache_hits.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<RunnerShared> {
        &self.shared
    }

    /// Stops the runner and joins its workers. Scripts already running always
    /// finish (their instruction budget bounds how long that takes); queued
    /// scripts run ([`Shutdown::Drain`]) or are cancelled ([`Shutdown::Cancel`]).
    /// Once shutdown starts, an action that does not fit in a full queue is
    /// dropped with a warning, since nobody will drain it; callbacks and
    /// handles still get every outcome.
    pub fn shutdown(mut self, mode: Shutdown) {
        self.stop_workers(mode);
    }

    fn stop_workers(&mut self, mode: Shutdown) {
        if mode == Shutdown::Cancel {
            self.shared.cancel.store(true, Ordering::SeqCst);
        }
        self.shared.jobs.lock().take();
        self.stop.take();
        for worker in self.workers.drain(..) {
            if worker.join().is_err() {
                tracing::error!(target: "zephyr::runner", "a worker thread panicked");
            }
        }
    }
}

impl Drop for ScriptRunner {
    fn drop(&mut self) {
        self.stop_workers(Shutdown::Cancel);
    }
}

struct Worker {
    shared: Arc<RunnerShared>,
    jobs: Receiver<QueuedJob>,
    pool: StatePool,
    queue: ActionQueue,
    stop: Receiver<()>,
}

impl Worker {
    fn run(self) {
        for job in self.jobs.iter() {
            if self.shared.cancel.load(Ordering::SeqCst) {
                self.cancel(job);
            } else {
                self.execute(job);
            }
        }
    }

    fn push(&self, action: Action) {
        match self.queue.push_unless(action, &self.stop) {
            Ok(()) => {}
            // A script that could not move to the main thread never ran.
            Err(Action::RunOnMain(moved)) => moved.cancel(),
            Err(action) => {
                tracing::warn!(target: "zephyr::runner", ?action, "action dropped: the runner is shutting down and the queue is full");
            }
        }
    }

    fn cancel(&self, mut job: QueuedJob) {
        self.shared
            .counters
            .cancelled
            .fetch_add(1, Ordering::Relaxed);
        let outcome = job
            .completion
            .run_callback(Outcome::Cancelled, &job.chunk_name);
        self.push(Action::ScriptResult {
            job: job.id,
            outcome: outcome.clone(),
        });
        job.completion.fulfil(outcome);
    }

    fn execute(&self, mut job: QueuedJob) {
        let _span = tracing::info_span!(
            "job",
            label = %format_args!("job {}", job.chunk_name),
            job = job.id.0,
            file = %job.chunk_name,
        )
        .entered();
        let view = match (&job.view, &self.shared.world) {
            (Some(view), Some(world)) => Some(WorkerWorld::new(view.clone(), world.clone())),
            _ => None,
        };
        let state = self.pool.acquire();
        let recorder = begin_recording(state.lua(), view, MainOnly::Move);
        let (result, hit) = state.execute_job(job.id.0, &job.source, &job.chunk_name, &job.args);
        if hit {
            self.shared
                .counters
                .compile_cache_hits
                .fetch_add(1, Ordering::Relaxed);
        }
        let recording = recorder.map(Recorder::finish).unwrap_or_default();
        let moved = crate::recording::main_thread_required(&state);
        drop(state);

        if let Some(reason) = moved {
            self.shared
                .counters
                .moved_to_main
                .fetch_add(1, Ordering::Relaxed);
            self.push(Action::RunOnMain(Box::new(MainThreadJob {
                job: job.id,
                chunk_name: job.chunk_name,
                source: job.source,
                args: job.args,
                reason,
                completion: job.completion,
                reserved: recording
                    .world
                    .map(|w| w.reserved().to_vec())
                    .unwrap_or_default(),
            })));
            return;
        }
        self.shared
            .counters
            .completed
            .fetch_add(1, Ordering::Relaxed);
        let outcome = match result {
            Ok(values) => Outcome::Returned(values),
            Err(error) => Outcome::Failed(error),
        };
        let outcome = job.completion.run_callback(outcome, &job.chunk_name);
        if !recording.commands.is_empty() {
            self.push(Action::Commands {
                job: job.id,
                commands: recording.commands,
            });
        }
        self.push(Action::ScriptResult {
            job: job.id,
            outcome: outcome.clone(),
        });
        job.completion.fulfil(outcome);
    }
}
