//! The parallel phase: each lane (a worker-side state with its instances)
//! runs its updates on its own thread over the live world; the recorded
//! writes are then applied in attach order.

use std::sync::Arc;
use std::time::Instant;

use zephyr_world::{EntityId, LiveWorld, SharedWorld, WorkerWorld};

use super::Behaviours;
use super::instance::{Callback, Home, Instance, callback_error};
use super::types::FrameReport;
use crate::action::Command;
use crate::recording::{MainOnly, begin_recording, context as worker_context, take_recording};
use crate::system::ScriptingSystem;
use zephyr_lua::ScriptError;
use zephyr_lua::ScriptState;

impl Behaviours {
    /// Step 4 of a frame, the parallel phase: `on_update(self, dt)` of every
    /// started parallel behaviour, each lane's instances on its own thread.
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
            stop_on_error,
            ..
        } = self;
        // Every lane starts empty: one with no members this frame does not
        // run, and must not hand back last frame's results.
        for lane in lanes.iter_mut() {
            lane.members.clear();
            lane.results.clear();
            lane.commands.clear();
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
        if lanes.iter().all(|l| l.members.is_empty()) {
            return;
        }
        let started = Instant::now();
        let world = system.world().clone();
        {
            let _span =
                tracing::info_span!(target: "zephyr::behaviour", "parallel phase").entered();
            let instances = &*instances;
            let world = &world;
            // Lane 0 runs on the calling thread, which would wait anyway.
            let (first, others) = lanes.split_at_mut(1);
            std::thread::scope(|scope| {
                let handles: Vec<_> = others
                    .iter_mut()
                    .enumerate()
                    .filter(|(_, lane)| !lane.members.is_empty())
                    .map(|(n, lane)| scope.spawn(move || lane.run(n + 2, instances, world, dt)))
                    .collect();
                first[0].run(1, instances, world, dt);
                for handle in handles {
                    if handle.join().is_err() {
                        tracing::error!(target: "zephyr::behaviour", "a parallel lane panicked; its writes are lost");
                    }
                }
            });
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
                None => system.apply_commands(commands, &mut report.update),
                Some(error) => {
                    commands.for_each(drop);
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
        drop(cursors);
        report.script_time += started.elapsed();
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
}

impl Lane {
    pub(super) fn new(state: ScriptState) -> Self {
        Lane {
            state,
            members: Vec::new(),
            results: Vec::new(),
            commands: Vec::new(),
        }
    }

    /// Runs this lane's parallel updates in order on the calling thread,
    /// with one recording (and one read lock on the world) for all of them.
    /// Runs this lane's part of the phase; `worker` numbers it in traces
    /// (from 1).
    pub(super) fn run(
        &mut self,
        worker: usize,
        instances: &[Instance],
        world: &SharedWorld,
        dt: f64,
    ) {
        let _span = tracing::info_span!(
            target: "zephyr::behaviour",
            "parallel worker",
            label = %format_args!("parallel phase worker {worker}"),
            instances = self.members.len(),
        )
        .entered();
        self.results.clear();
        let lua = self.state.lua();
        let guard: LiveWorld = Arc::new(world.read_arc());
        begin_recording(
            lua,
            Some(WorkerWorld::over_live(guard, world.clone())),
            MainOnly::Refuse,
        );
        let Some(context) = worker_context(lua) else {
            return;
        };
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
        if let Some(recording) = take_recording(lua) {
            self.commands = recording.commands;
        }
    }
}
