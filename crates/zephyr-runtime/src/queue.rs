//! The bounded, thread-safe queue that carries actions from workers to the
//! main thread.

use std::fmt;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError, select};

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
}

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
        ActionQueue { tx, rx, capacity }
    }

    /// Pushes, blocking while the queue is full.
    pub fn push(&self, action: Action) {
        // The queue owns a receiver, so the channel cannot be disconnected.
        if let Err(e) = self.tx.send(action) {
            unreachable!("action queue disconnected while it owns its receiver: {e:?}");
        }
    }

    /// Pushes if there is room, or hands the action back.
    pub fn try_push(&self, action: Action) -> Result<(), QueueFull> {
        self.tx.try_send(action).map_err(|e| match e {
            TrySendError::Full(a) | TrySendError::Disconnected(a) => QueueFull(a),
        })
    }

    /// Pushes, waiting at most `timeout` for room, or hands the action back.
    pub fn push_timeout(&self, action: Action, timeout: Duration) -> Result<(), QueueFull> {
        self.tx
            .send_timeout(action, timeout)
            .map_err(|e| QueueFull(e.into_inner()))
    }

    /// Pushes, blocking while full, unless `stop` becomes ready (disconnected)
    /// first; then the action is handed back.
    pub(crate) fn push_unless(&self, action: Action, stop: &Receiver<()>) -> Result<(), Action> {
        let action = match self.tx.try_send(action) {
            Ok(()) => return Ok(()),
            Err(e) => e.into_inner(),
        };
        select! {
            send(self.tx, action) -> res => res.map_err(|e| e.into_inner()),
            recv(stop) -> _ => Err(action),
        }
    }

    /// Pops, blocking until an action is available.
    pub fn pop(&self) -> Action {
        match self.rx.recv() {
            Ok(a) => a,
            Err(e) => unreachable!("action queue disconnected while it owns its sender: {e}"),
        }
    }

    /// Pops, waiting at most `timeout`.
    pub fn pop_timeout(&self, timeout: Duration) -> Option<Action> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Pops if an action is available.
    pub fn try_pop(&self) -> Option<Action> {
        self.rx.try_recv().ok()
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
    fn push_unless_gives_up_when_stopped() {
        let q = ActionQueue::new(1);
        q.push(result(0));
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        drop(stop_tx);
        let back = q.push_unless(result(1), &stop_rx).unwrap_err();
        assert_eq!(job_of(&back), 1);
    }
}
