//! A fixed-size pool of reusable resources (Lua states) leased through guards.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::error::{Error, Result};
use zephyr_lua::ScriptState;

type Teardown<T> = Box<dyn Fn(T) + Send + Sync>;

/// The free resources travel boxed: a lease moves a pointer through the
/// channel, where a `ScriptState` by value was some 400 bytes copied in and
/// out of the channel's slot on every lease (`perf` of a tiny job: 5% of a
/// worker's time in those copies).
struct Inner<T> {
    free_tx: Sender<Box<T>>,
    free_rx: Receiver<Box<T>>,
    capacity: usize,
    teardown: Option<Teardown<T>>,
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        while let Ok(resource) = self.free_rx.try_recv() {
            match &self.teardown {
                Some(teardown) => teardown(*resource),
                None => drop(resource),
            }
        }
    }
}

/// A pool of `capacity` resources, built once by a factory closure and leased
/// out one at a time (the reference's `StatePool`).
///
/// [`acquire`](Self::acquire) blocks until a resource is free;
/// [`try_acquire`](Self::try_acquire) and [`acquire_timeout`](Self::acquire_timeout)
/// return [`Error::StatePoolExhausted`] instead. The [`Lease`] guard gives the
/// resource back when it is dropped, also while unwinding from a panic.
///
/// ```
/// use zephyr_runtime::{StateConfig, StatePool, ScriptState};
/// let config = StateConfig::default();
/// let pool = StatePool::new(StatePool::<ScriptState>::recommended_size(2), |_index| {
///     Ok(ScriptState::new(&config, |_lua, _api| Ok(()))?)
/// })?;
/// assert_eq!((pool.capacity(), pool.available()), (3, 3));
/// {
///     let state = pool.acquire();
///     assert_eq!(state.execute("return 2 + 2", "demo")?[0].to_string(), "4");
///     assert_eq!(pool.available(), 2);
/// }
/// assert_eq!(pool.available(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Thread safety
///
/// `Clone + Send + Sync` when `T: Send`; clones share the same resources. A
/// lease may be dropped on any thread.
pub struct StatePool<T = ScriptState> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for StatePool<T> {
    fn clone(&self) -> Self {
        StatePool {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for StatePool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatePool")
            .field("capacity", &self.capacity())
            .field("available", &self.available())
            .finish()
    }
}

impl<T> StatePool<T> {
    /// How many resources are free right now.
    pub fn available(&self) -> usize {
        self.inner.free_rx.len()
    }

    /// How many resources the pool has in all.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }
}

impl<T: Send + 'static> StatePool<T> {
    /// The reference's sizing rule: one state per worker thread plus one for
    /// the main thread's handlers.
    pub fn recommended_size(workers: usize) -> usize {
        workers + 1
    }

    /// Builds `capacity` resources with `factory(index)`; they are dropped
    /// when the pool and every lease are gone.
    pub fn new(capacity: usize, factory: impl FnMut(usize) -> Result<T>) -> Result<Self> {
        Self::build(capacity, factory, None)
    }

    /// Like [`new`](Self::new), with a teardown closure called on each
    /// resource when the pool is dropped (the reference's `destroy_fn`).
    pub fn with_teardown(
        capacity: usize,
        factory: impl FnMut(usize) -> Result<T>,
        teardown: impl Fn(T) + Send + Sync + 'static,
    ) -> Result<Self> {
        Self::build(capacity, factory, Some(Box::new(teardown)))
    }

    fn build(
        capacity: usize,
        mut factory: impl FnMut(usize) -> Result<T>,
        teardown: Option<Teardown<T>>,
    ) -> Result<Self> {
        if capacity == 0 {
            return Err(Error::Config(
                "a state pool needs at least one state".into(),
            ));
        }
        let (free_tx, free_rx) = crossbeam_channel::bounded(capacity);
        let inner = Arc::new(Inner {
            free_tx,
            free_rx,
            capacity,
            teardown,
        });
        for index in 0..capacity {
            let resource = factory(index)?;
            if inner.free_tx.try_send(Box::new(resource)).is_err() {
                unreachable!("a fresh pool has room for all of its resources");
            }
        }
        Ok(StatePool { inner })
    }

    /// Leases a resource, blocking until one is free.
    pub fn acquire(&self) -> Lease<T> {
        match self.inner.free_rx.recv() {
            Ok(resource) => self.lease(resource),
            Err(_) => unreachable!("the pool owns a sender, so it cannot disconnect"),
        }
    }

    /// Leases a resource if one is free now.
    pub fn try_acquire(&self) -> Result<Lease<T>> {
        self.inner
            .free_rx
            .try_recv()
            .map(|r| self.lease(r))
            .map_err(|_| self.exhausted())
    }

    /// Leases a resource, waiting at most `timeout`.
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Lease<T>> {
        self.inner
            .free_rx
            .recv_timeout(timeout)
            .map(|r| self.lease(r))
            .map_err(|_| self.exhausted())
    }

    fn lease(&self, resource: Box<T>) -> Lease<T> {
        Lease {
            resource: Some(resource),
            pool: self.inner.clone(),
        }
    }

    fn exhausted(&self) -> Error {
        Error::StatePoolExhausted {
            capacity: self.inner.capacity,
        }
    }
}

/// A leased resource; derefs to it and returns it to its pool on drop.
#[must_use = "dropping a lease returns the state to the pool at once"]
pub struct Lease<T = ScriptState> {
    resource: Option<Box<T>>,
    pool: Arc<Inner<T>>,
}

impl<T> fmt::Debug for Lease<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease").finish_non_exhaustive()
    }
}

impl<T> Deref for Lease<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.resource {
            Some(r) => r,
            None => unreachable!("a lease holds its resource until dropped"),
        }
    }
}

impl<T> DerefMut for Lease<T> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.resource {
            Some(r) => r,
            None => unreachable!("a lease holds its resource until dropped"),
        }
    }
}

impl<T> Drop for Lease<T> {
    fn drop(&mut self) {
        if let Some(resource) = self.resource.take() {
            // Never full: at most `capacity` resources exist.
            let _ = self.pool.free_tx.try_send(resource);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static_assertions::assert_impl_all!(StatePool<ScriptState>: Send, Sync, Clone);
    static_assertions::assert_impl_all!(Lease<ScriptState>: Send);

    fn numbers(n: usize) -> StatePool<usize> {
        StatePool::new(n, Ok).unwrap()
    }

    #[test]
    fn try_and_timeout_report_exhaustion() {
        let pool = numbers(2);
        let a = pool.try_acquire().unwrap();
        let b = pool.acquire_timeout(Duration::from_millis(1)).unwrap();
        assert_eq!(pool.available(), 0);
        assert!(matches!(
            pool.try_acquire(),
            Err(Error::StatePoolExhausted { capacity: 2 })
        ));
        assert!(pool.acquire_timeout(Duration::from_millis(5)).is_err());
        let mut seen = [*a, *b];
        seen.sort();
        assert_eq!(seen, [0, 1]);
        drop(a);
        assert_eq!(pool.available(), 1);
        drop(b);
        assert_eq!(pool.available(), 2);
    }

    #[test]
    fn acquire_blocks_until_a_lease_returns() {
        let pool = numbers(1);
        let lease = pool.acquire();
        let waiter = {
            let pool = pool.clone();
            std::thread::spawn(move || *pool.acquire())
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(!waiter.is_finished());
        drop(lease);
        assert_eq!(waiter.join().unwrap(), 0);
    }

    #[test]
    fn a_panic_while_leased_still_returns_the_state() {
        let pool = numbers(1);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _lease = pool.acquire();
            panic!("script host blew up");
        }));
        assert!(result.is_err());
        assert_eq!(pool.available(), 1);
    }

    #[test]
    fn teardown_runs_once_per_resource_after_the_last_lease() {
        let torn = Arc::new(AtomicUsize::new(0));
        let pool = {
            let torn = torn.clone();
            StatePool::with_teardown(3, Ok, move |_| {
                torn.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
        };
        let lease = pool.acquire();
        drop(pool);
        assert_eq!(
            torn.load(Ordering::SeqCst),
            0,
            "a lease keeps the pool alive"
        );
        drop(lease);
        assert_eq!(torn.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn zero_capacity_and_factory_errors_are_reported() {
        assert!(StatePool::<usize>::new(0, Ok).is_err());
        let err = StatePool::<usize>::new(2, |i| {
            if i == 1 {
                Err(Error::Config("boom".into()))
            } else {
                Ok(i)
            }
        });
        assert!(err.is_err());
    }

    #[test]
    fn many_threads_never_exceed_capacity() {
        const CAP: usize = 3;
        let pool = numbers(CAP);
        let in_use = Arc::new(AtomicUsize::new(0));
        let max_seen = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (pool, in_use, max_seen) = (pool.clone(), in_use.clone(), max_seen.clone());
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        let _lease = pool.acquire();
                        let now = in_use.fetch_add(1, Ordering::SeqCst) + 1;
                        max_seen.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        in_use.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(max_seen.load(Ordering::SeqCst) <= CAP);
        assert_eq!(pool.available(), CAP);
    }
}
