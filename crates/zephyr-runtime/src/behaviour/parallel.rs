//! The parallel phase: each lane (a worker-side state with its instances)
//! runs its updates over the live world, on a thread of its own when the
//! phase's work pays for the hand-off and one after the other on the
//! calling thread when it does not; the recorded writes are then applied in
//! attach order, so the result is the same either way.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zephyr_world::{EntityId, LiveWorld, SharedWorld, WorkerWorld};

use super::Behaviours;
use super::instance::{Callback, Home, Instance, callback_error};
use super::types::FrameReport;
use crate::action::Command;
use crate::recording::{MainOnly, begin_recording};
use crate::system::ScriptingSystem;
use zephyr_lua::ScriptError;
use zephyr_lua::ScriptState;

impl Behaviours {
    /// Step 4 of a frame, the parallel phase: `on_update(self, dt)` of every
    /// started parallel behaviour, lane by lane, the lanes taken by the
    /// calling thread and the lane threads as each comes free (or all on the
    /// calling thread when the phase is small: see
    /// [`set_parallel_threshold`](Self::set_parallel_threshold)).
    /// Nothing writes the world meanwhile: each callback reads the live
    /// world (under one read lock per lane, nothing copied) plus its own
    /// writes, and its writes are recorded. After the phase, the writes are
    /// applied instance by instance in attach order, so the world that
    /// results does not depend on the number of workers or on timing.
    pub fn parallel_update(
        &mut self,
        system: &mut ScriptingSystem,
        dt: f64,
        report: &mut FrameReport,
    ) {
        let Behaviours {
            instances,
            lanes,
            threads,
            handoff,
            stop_on_error,
            ..
        } = self;
        // Every lane starts empty: one with no members this frame does not
        // run, and must not hand back last frame's results.
        for lane in lanes.iter_mut() {
            lane.members.clear();
            lane.results.clear();
            lane.commands.clear();
            lane.elapsed = Duration::ZERO;
        }
        for (index, instance) in instances.iter().enumerate() {
            if let Home::Lane(lane) = instance.home
                && instance.started
                && !instance.removed
                && instance.callbacks[Callback::Update as usize].is_some()
            {
                lanes[lane].members.push(index);
            }
        }
        let callbacks: usize = lanes.iter().map(|l| l.members.len()).sum();
        if callbacks == 0 {
            return;
        }
        let busy = lanes.iter().filter(|l| !l.members.is_empty()).count();
        let started = Instant::now();
        let world = system.world().clone();
        {
            let _span =
                tracing::info_span!(target: "zephyr::behaviour", "parallel phase").entered();
            let instances = &*instances;
            let world = &world;
            match threads
                .as_ref()
                .filter(|_| handoff.hands_off(callbacks, busy))
            {
                Some(threads) => {
                    // Each thread takes the next lane as it comes free.
                    report.parallel_threads = (threads.current_num_threads() + 1).min(busy);
                    let queue = parking_lot::Mutex::new(
                        lanes
                            .iter_mut()
                            .enumerate()
                            .filter(|(_, l)| !l.members.is_empty()),
                    );
                    let drain = || {
                        let worker = rayon::current_thread_index().map_or(1, |n| n + 2);
                        loop {
                            // (The lock is held for the taking only.)
                            let next = queue.lock().next();
                            let Some((n, lane)) = next else { break };
                            lane.run_guarded(worker, n, instances, world, dt);
                        }
                    };
                    threads.in_place_scope(|scope| {
                        for _ in 0..threads.current_num_threads() {
                            scope.spawn(|_| drain());
                        }
                        drain();
                    });
                }
                None => {
                    report.parallel_threads = 1;
                    for (n, lane) in lanes.iter_mut().enumerate() {
                        if !lane.members.is_empty() {
                            lane.run_guarded(1, n, instances, world, dt);
                        }
                    }
                }
            }
            handoff.measured(lanes.iter().map(|l| l.elapsed).sum(), callbacks);
        }
        // Every callback's writes, in attach order: a merge of the lanes,
        // each of which holds its callbacks in attach order.
        let mut cursors: Vec<_> = lanes
            .iter_mut()
            .map(|lane| {
                let Lane {
                    results, commands, ..
                } = &mut **lane;
                (results.iter(), commands.drain(..))
            })
            .collect();
        let mut heads: Vec<Option<&LaneResult>> = cursors
            .iter_mut()
            .map(|(results, _)| results.next())
            .collect();
        // The world's write lock, held across callbacks while their writes
        // are world writes.
        let mut held = None;
        while let Some(lane) = heads
            .iter()
            .enumerate()
            .filter_map(|(lane, head)| head.map(|r| (r.index, lane)))
            .min()
            .map(|(_, lane)| lane)
        {
            let Some(result) = heads[lane] else { break };
            heads[lane] = cursors[lane].0.next();
            let commands = cursors[lane].1.by_ref().take(result.commands);
            report.updated += 1;
            report.updated_in_parallel += 1;
            match &result.error {
                None => system.apply_commands(&mut held, commands, &mut report.update),
                Some(error) => {
                    commands.for_each(drop);
                    held = None;
                    {
                        let mut world = system.world().write();
                        for id in &result.reserved {
                            world.release_reserved(*id);
                        }
                    }
                    let instance = &instances[result.index];
                    let error = callback_error(system, instance, Callback::Update, error.clone());
                    if report.fail(error, *stop_on_error) {
                        break;
                    }
                }
            }
        }
        drop(held);
        drop(cursors);
        report.script_time += started.elapsed();
    }
}

/// The threads that run lanes beside the calling thread: `workers - 1` of
/// them. None for one worker, or if the threads cannot be started (the
/// phase then runs on the calling thread).
pub(super) fn lane_threads(workers: usize) -> Option<rayon::ThreadPool> {
    if workers < 2 {
        return None;
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(workers - 1)
        .thread_name(|n| format!("zephyr-lane-{}", n + 2))
        .build()
        .map_err(|e| {
            tracing::warn!(target: "zephyr::behaviour", "parallel lanes run on the calling thread: {e}");
        })
        .ok()
}

/// When the parallel phase hands its lanes to threads: when its work,
/// estimated from what a callback took in earlier phases, is at least the
/// threshold.
#[derive(Debug, Clone, Copy)]
pub(super) struct Handoff {
    pub(super) threshold: Duration,
    /// What one callback took, smoothed over the phases; none before the
    /// first.
    callback_cost: Option<Duration>,
}

impl Default for Handoff {
    fn default() -> Self {
        Handoff {
            threshold: Duration::from_micros(500),
            callback_cost: None,
        }
    }
}

impl Handoff {
    fn hands_off(&self, callbacks: usize, busy_lanes: usize) -> bool {
        if busy_lanes < 2 {
            return false;
        }
        if self.threshold.is_zero() {
            return true;
        }
        self.callback_cost.is_some_and(|cost| {
            cost.saturating_mul(u32::try_from(callbacks).unwrap_or(u32::MAX)) >= self.threshold
        })
    }

    /// Takes in a phase that ran `callbacks` callbacks in `work` (summed
    /// over its lanes).
    fn measured(&mut self, work: Duration, callbacks: usize) {
        let Ok(callbacks) = u32::try_from(callbacks) else {
            return;
        };
        if callbacks == 0 {
            return;
        }
        let cost = work / callbacks;
        self.callback_cost = Some(match self.callback_cost {
            None => cost,
            Some(old) => (old * 3 + cost) / 4,
        });
    }
}

/// One parallel callback's result: the instance (its index), how many
/// commands it recorded (the next ones in its lane's buffer), its error, and
/// the ids it reserved (released on error).
pub(super) struct LaneResult {
    index: usize,
    commands: usize,
    error: Option<ScriptError>,
    reserved: Vec<EntityId>,
}

/// A worker-side state for parallel behaviours, with the buffers of its
/// part of the parallel phase (kept across frames, so a phase allocates
/// nothing once they have grown).
pub(super) struct Lane {
    pub(super) state: ScriptState,
    /// This frame's instances (indices, attach order).
    pub(super) members: Vec<usize>,
    pub(super) results: Vec<LaneResult>,
    pub(super) commands: Vec<Command>,
    /// What this frame's part of the phase took on its thread.
    pub(super) elapsed: Duration,
}

impl Lane {
    pub(super) fn new(state: ScriptState) -> Self {
        Lane {
            state,
            members: Vec::new(),
            results: Vec::new(),
            commands: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }

    /// [`run`](Self::run), timed; a panic (a bug: callbacks catch their
    /// own) loses this lane's writes and is logged, never unwinds into the
    /// frame.
    fn run_guarded(
        &mut self,
        worker: usize,
        lane: usize,
        instances: &[Instance],
        world: &SharedWorld,
        dt: f64,
    ) {
        let started = Instant::now();
        if catch_unwind(AssertUnwindSafe(|| {
            self.run(worker, lane, instances, world, dt)
        }))
        .is_err()
        {
            self.results.clear();
            self.commands.clear();
            tracing::error!(target: "zephyr::behaviour", "a parallel lane panicked; its writes are lost");
        }
        self.elapsed = started.elapsed();
    }

    /// Runs this lane's parallel updates in order on the calling thread,
    /// with one recording (and one read lock on the world) for all of them.
    /// `worker` numbers the thread in traces (from 1, the thread that runs
    /// the frame), `lane` the lane.
    fn run(
        &mut self,
        worker: usize,
        lane: usize,
        instances: &[Instance],
        world: &SharedWorld,
        dt: f64,
    ) {
        let _span = tracing::info_span!(
            target: "zephyr::behaviour",
            "parallel worker",
            label = %format_args!("parallel phase worker {worker}"),
            lane,
            instances = self.members.len(),
        )
        .entered();
        self.results.clear();
        let lua = self.state.lua();
        let guard: LiveWorld = Arc::new(world.read_arc());
        let Some(recorder) = begin_recording(
            lua,
            Some(WorkerWorld::over_live(guard, world.clone())),
            MainOnly::Refuse,
        ) else {
            return;
        };
        let context = recorder.context();
        context.with(|r| {
            r.commands = std::mem::take(&mut self.commands);
            r.commands.clear();
        });
        for &index in &self.members {
            let instance = &instances[index];
            let (start, reserved_from) = context.with(|r| r.next_callback()).unwrap_or_default();
            let result = instance.call(&self.state, Callback::Update, Some(dt));
            let (end, reserved) = context
                .with(|r| {
                    let reserved = match (&result, &r.world) {
                        (Some(Err(_)), Some(world)) => world.reserved()[reserved_from..].to_vec(),
                        _ => Vec::new(),
                    };
                    (r.commands.len(), reserved)
                })
                .unwrap_or((start, Vec::new()));
            let error = match result {
                None | Some(Ok(())) => None,
                Some(Err(error)) => Some(error),
            };
            self.results.push(LaneResult {
                index,
                commands: end - start,
                error,
                reserved,
            });
        }
        self.commands = recorder.finish().commands;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phase_hands_off_when_its_estimated_work_reaches_the_threshold() {
        let mut handoff = Handoff::default();
        // Nothing measured yet: on the calling thread.
        assert!(!handoff.hands_off(10_000, 2));
        // 2 µs a callback: 200 of them are 400 µs, 300 are 600 µs.
        handoff.measured(Duration::from_micros(200), 100);
        assert!(!handoff.hands_off(200, 2));
        assert!(handoff.hands_off(300, 2));
        // One busy lane has nobody to hand off to.
        assert!(!handoff.hands_off(10_000, 1));
        // The estimate follows the callbacks' cost over a few phases.
        for _ in 0..20 {
            handoff.measured(Duration::from_micros(100), 100);
        }
        assert!(!handoff.hands_off(300, 2));
        assert!(handoff.hands_off(600, 2));
        handoff.threshold = Duration::ZERO;
        assert!(handoff.hands_off(1, 2));
        handoff.threshold = Duration::MAX;
        assert!(!handoff.hands_off(usize::MAX, 2));
    }
}
