//! The bounded, thread-safe queue that carries actions from workers to the
//! main thread.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering, fence};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};
use parking_lot::{Condvar, Mutex};

use crate::action::Action;

/// The reference's recommended capacity: enough for 60 FPS x 4 actions a frame.
pub const DEFAULT_QUEUE_CAPACITY: usize = 256;

/// A full queue refused this action; it is handed back so nothing is dropped
/// silently (crossbeam's `TrySendError::Full` pattern).
pub struct QueueFull(pub Action);

impl QueueFull {
    /// The action that did not fit.
    pub fn into_inner(self) -> Action {
        self.0
    }
}

impl fmt::Debug for QueueFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("QueueFull").field(&self.0).finish()
    }
}

impl fmt::Display for QueueFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("action queue full")
    }
}

impl std::error::Error for QueueFull {}

/// A bounded multi-producer queue of [`Action`]s with one consumer, the main
/// thread. Built on `crossbeam-channel`.
///
/// `push` blocks while the queue is full; `try_push` and `push_timeout`
/// return [`QueueFull`] with the action instead. `pop` blocks until an action
/// arrives; `try_pop` returns `None` when the queue is empty.
///
/// ```
/// use zephyr_runtime::{Action, ActionQueue, JobId, Outcome};
/// let queue = ActionQueue::new(1);
/// queue.try_push(Action::ScriptResult { job: JobId(0), outcome: Outcome::Returned(vec![]) }).unwrap();
/// let full = queue.try_push(Action::ScriptResult { job: JobId(1), outcome: Outcome::Cancelled });
/// assert!(matches!(full.unwrap_err().into_inner(), Action::ScriptResult { job: JobId(1), .. }));
/// assert!(queue.try_pop().is_some());
/// assert!(queue.try_pop().is_none());
/// ```
///
/// # Thread safety
///
/// `Clone + Send + Sync`; clones share one queue. Any thread may push. By the
/// engine's rule only the main thread pops (`ScriptingSystem::update`).
#[derive(Clone)]
pub struct ActionQueue {
    tx: Sender<Action>,
    rx: Receiver<Action>,
    capacity: usize,
    room: Arc<Room>,
    arrivals: Arc<Arrivals>,
}

/// Where the runner's workers wait for room in a full queue: asleep until
/// the main thread has taken it down to half full (or a short while has
/// passed), so that a burst of jobs costs one wake-up per half a queue. A
/// worker blocked in the channel's own `send` spun, then was woken for each
/// action taken (`perf` of 4,000 tiny jobs enqueued at once: a fifth of
/// all samples in the workers' waits, spinning against the main thread on
/// two cores).
#[derive(Default)]
struct Room {
    waiters: AtomicUsize,
    lock: Mutex<()>,
    freed: Condvar,
}

/// Where the main thread waits for a batch of the runner's actions
/// ([`wait_for`](ActionQueue::wait_for)): asleep until the batch has
/// arrived, woken by the worker whose push completes it. Waiting in the
/// channel's `recv` spins between actions that come every half microsecond
/// (`perf` of tiny jobs: a quarter of the main thread's samples in the
/// channel's `recv`), on two cores beside two busy workers.
#[derive(Default)]
struct Arrivals {
    /// How many queued actions wake the main thread (0: it is not waiting).
    wake_at: AtomicUsize,
    lock: Mutex<()>,
    arrived: Condvar,
}

/// How long a worker waiting for room sleeps before it looks again (and
/// checks whether the runner is stopping), whatever the main thread does.
const ROOM_RECHECK: Duration = Duration::from_millis(2);

impl fmt::Debug for ActionQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionQueue")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Default for ActionQueue {
    fn default() -> Self {
        Self::new(DEFAULT_QUEUE_CAPACITY)
    }
}

impl ActionQueue {
    /// A queue holding at most `capacity` actions (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        ActionQueue {
            tx,
            rx,
            capacity,
            room: Arc::default(),
            arrivals: Arc::default(),
        }
    }

    /// Pushes, blocking while the queue is full.
    pub fn push(&self, action: Action) {
        // The queue owns a receiver, so the channel cannot be disconnected.
        if let Err(e) = self.tx.send(action) {
            unreachable!("action queue disconnected while it owns its receiver: {e:?}");
        }
        self.pushed();
    }

    /// Pushes if there is room, or hands the action back.
    pub fn try_push(&self, action: Action) -> Result<(), QueueFull> {
        self.tx.try_send(action).map_err(|e| match e {
            TrySendError::Full(a) | TrySendError::Disconnected(a) => QueueFull(a),
        })?;
        self.pushed();
        Ok(())
    }

    /// Pushes, waiting at most `timeout` for room, or hands the action back.
    pub fn push_timeout(&self, action: Action, timeout: Duration) -> Result<(), QueueFull> {
        self.tx
            .send_timeout(action, timeout)
            .map_err(|e| QueueFull(e.into_inner()))?;
        self.pushed();
        Ok(())
    }

    /// Pushes, blocking while full, unless `stop` becomes ready (disconnected)
    /// first; then the action is handed back.
    /// (The runner's workers push through here: see [`Room`].)
    pub(crate) fn push_unless(&self, action: Action, stop: &Receiver<()>) -> Result<(), Action> {
        let mut action = match self.try_push(action) {
            Ok(()) => return Ok(()),
            Err(full) => full.into_inner(),
        };
        loop {
            {
                let mut guard = self.room.lock.lock();
                self.room.waiters.fetch_add(1, Ordering::SeqCst);
                // Registered before this try, under the lock the main
                // thread takes to wake us: room made after it is signalled.
                match self.try_push(action) {
                    Ok(()) => {
                        self.room.waiters.fetch_sub(1, Ordering::SeqCst);
                        return Ok(());
                    }
                    Err(full) => {
                        action = full.into_inner();
                        self.room.freed.wait_for(&mut guard, ROOM_RECHECK);
                        self.room.waiters.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            }
            if matches!(stop.try_recv(), Err(TryRecvError::Disconnected)) {
                return Err(action);
            }
        }
    }

    /// After an action was pushed: wakes the main thread if it waits for
    /// as many as are queued now.
    fn pushed(&self) {
        fence(Ordering::SeqCst);
        let wake_at = self.arrivals.wake_at.load(Ordering::SeqCst);
        if wake_at != 0 && self.rx.len() >= wake_at {
            let _guard = self.arrivals.lock.lock();
            self.arrivals.arrived.notify_one();
        }
    }

    /// Waits, asleep, until at least `count` actions are queued (at most
    /// the capacity), or `timeout` has passed. For the one consumer, which
    /// then takes them in a batch: one wake-up for `count` actions.
    pub(crate) fn wait_for(&self, count: usize, timeout: Duration) {
        let count = count.clamp(1, self.capacity);
        let mut guard = self.arrivals.lock.lock();
        self.arrivals.wake_at.store(count, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        // A push after the store sees it; one before is counted here.
        if self.rx.len() < count {
            self.arrivals.arrived.wait_for(&mut guard, timeout);
        }
        self.arrivals.wake_at.store(0, Ordering::SeqCst);
    }

    /// After an action was taken: wakes the workers waiting for room once
    /// the queue is down to half full.
    fn took(&self, action: Action) -> Action {
        fence(Ordering::SeqCst);
        if self.room.waiters.load(Ordering::SeqCst) > 0 && self.rx.len() <= self.capacity / 2 {
            let _guard = self.room.lock.lock();
            self.room.freed.notify_all();
        }
        action
    }

    /// Pops, blocking until an action is available.
    pub fn pop(&self) -> Action {
        match self.rx.recv() {
            Ok(a) => self.took(a),
            Err(e) => unreachable!("action queue disconnected while it owns its sender: {e}"),
        }
    }

    /// Pops, waiting at most `timeout`.
    pub fn pop_timeout(&self, timeout: Duration) -> Option<Action> {
        self.rx.recv_timeout(timeout).ok().map(|a| self.took(a))
    }

    /// Pops if an action is available.
    pub fn try_pop(&self) -> Option<Action> {
        self.rx.try_recv().ok().map(|a| self.took(a))
    }

    /// How many actions are waiting.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether no action is waiting.
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// The most actions the queue holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::JobId;
    use crate::outcome::Outcome;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static_assertions::assert_impl_all!(ActionQueue: Send, Sync, Clone);

    fn result(n: u64) -> Action {
        Action::ScriptResult {
            job: JobId(n),
            outcome: Outcome::Returned(vec![]),
        }
    }

    fn job_of(a: &Action) -> u64 {
        match a {
            Action::ScriptResult { job, .. } => job.0,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn full_queue_hands_the_action_back() {
        let q = ActionQueue::new(2);
        q.push(result(0));
        q.try_push(result(1)).unwrap();
        let back = q.try_push(result(2)).unwrap_err().into_inner();
        assert_eq!(job_of(&back), 2);
        let back = q
            .push_timeout(result(3), Duration::from_millis(5))
            .unwrap_err();
        assert_eq!(job_of(&back.0), 3);
        assert_eq!(q.len(), 2);
        assert_eq!(job_of(&q.pop()), 0);
        assert_eq!(job_of(&q.try_pop().unwrap()), 1);
        assert!(q.try_pop().is_none());
        assert!(q.pop_timeout(Duration::from_millis(1)).is_none());
    }

    #[test]
    fn push_blocks_until_the_consumer_makes_room() {
        let q = ActionQueue::new(1);
        q.push(result(0));
        let pushed = Arc::new(AtomicUsize::new(0));
        let producer = {
            let (q, pushed) = (q.clone(), pushed.clone());
            std::thread::spawn(move || {
                q.push(result(1));
                pushed.store(1, Ordering::SeqCst);
            })
        };
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(
            pushed.load(Ordering::SeqCst),
            0,
            "push must block while full"
        );
        assert_eq!(job_of(&q.pop()), 0);
        producer.join().unwrap();
        assert_eq!(job_of(&q.pop()), 1);
    }

    #[test]
    fn many_producers_one_consumer_lose_nothing() {
        const PRODUCERS: u64 = 4;
        const EACH: u64 = 5_000;
        let q = ActionQueue::new(16);
        let handles: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let q = q.clone();
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        q.push(result(p * EACH + i));
                    }
                })
            })
            .collect();
        let mut seen = vec![false; (PRODUCERS * EACH) as usize];
        let mut last_per_producer = vec![None::<u64>; PRODUCERS as usize];
        for _ in 0..PRODUCERS * EACH {
            let n = job_of(&q.pop());
            assert!(!seen[n as usize], "duplicate {n}");
            seen[n as usize] = true;
            let p = (n / EACH) as usize;
            assert!(last_per_producer[p] < Some(n), "per-producer FIFO order");
            last_per_producer[p] = Some(n);
        }
        for h in handles {
            h.join().unwrap();
        }
        assert!(seen.iter().all(|s| *s));
        assert!(q.is_empty());
    }

    #[test]
    fn workers_waiting_for_room_lose_nothing_and_keep_their_order() {
        // Producers on the runner's path (asleep while the queue is full)
        // against a consumer that takes one action at a time, sometimes
        // pausing: every action arrives once, each producer's in order.
        const PRODUCERS: u64 = 3;
        const EACH: u64 = 3_000;
        let q = ActionQueue::new(8);
        let (_stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        let handles: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (q, stop) = (q.clone(), stop_rx.clone());
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        assert!(q.push_unless(result(p * EACH + i), &stop).is_ok());
                    }
                })
            })
            .collect();
        let mut last_per_producer = vec![None::<u64>; PRODUCERS as usize];
        let mut taken = 0;
        while taken < PRODUCERS * EACH {
            let Some(action) = q.pop_timeout(Duration::from_secs(5)) else {
                panic!("a producer waits for room forever ({taken} taken)");
            };
            let n = job_of(&action);
            let p = (n / EACH) as usize;
            assert!(last_per_producer[p] < Some(n), "per-producer FIFO order");
            last_per_producer[p] = Some(n);
            taken += 1;
            if taken % 500 == 0 {
                std::thread::sleep(Duration::from_millis(3));
            }
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(
            last_per_producer,
            (0..PRODUCERS)
                .map(|p| Some(p * EACH + EACH - 1))
                .collect::<Vec<_>>()
        );
        assert!(q.is_empty());
    }

    #[test]
    fn a_worker_waiting_for_room_gives_up_when_the_runner_stops() {
        let q = ActionQueue::new(1);
        q.push(result(0));
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        let waiting = {
            let q = q.clone();
            std::thread::spawn(move || q.push_unless(result(1), &stop_rx))
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(!waiting.is_finished(), "it waits while the queue is full");
        drop(stop_tx);
        let back = waiting.join().unwrap().unwrap_err();
        assert_eq!(job_of(&back), 1);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn a_consumer_waiting_for_a_batch_wakes_when_it_is_complete() {
        let q = ActionQueue::new(64);
        let (_stop_tx, stop) = crossbeam_channel::bounded::<()>(0);
        let producer = {
            let (q, stop) = (q.clone(), stop.clone());
            std::thread::spawn(move || {
                for n in 0..10 {
                    std::thread::sleep(Duration::from_millis(1));
                    assert!(q.push_unless(result(n), &stop).is_ok());
                }
            })
        };
        // Woken by the tenth push, long before the timeout.
        let started = std::time::Instant::now();
        q.wait_for(10, Duration::from_secs(30));
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "woken by the push, not by the timeout"
        );
        assert_eq!(q.len(), 10);
        producer.join().unwrap();
        // Fewer than asked for: back at the timeout, with what there is.
        for n in 0..10 {
            assert_eq!(job_of(&q.try_pop().unwrap()), n);
        }
        q.try_push(result(10)).unwrap();
        q.wait_for(5, Duration::from_millis(10));
        assert_eq!(q.len(), 1);
        // Already there: no wait.
        q.wait_for(1, Duration::from_secs(30));
    }

    #[test]
    fn push_unless_gives_up_when_stopped() {
        let q = ActionQueue::new(1);
        q.push(result(0));
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        drop(stop_tx);
        let back = q.push_unless(result(1), &stop_rx).unwrap_err();
        assert_eq!(job_of(&back), 1);
    }
}
