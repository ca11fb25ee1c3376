//! Reproducible randomness: `math.random` and `math.randomseed` with Lua
//! 5.4's own generator (xoshiro256**) and semantics, but one stream per
//! behaviour instance and per job, each seeded from the host's seed and its
//! identity (its attach or enqueue order). A run's numbers then depend on
//! the seed alone, not on the worker count or on which thread ran what.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mlua::{Lua, MultiValue, Table, Value};
use parking_lot::Mutex;

/// The seed a state gets when its host names none.
pub const DEFAULT_SEED: u64 = 0x5eed;

/// Lua 5.4's `math.random` generator: xoshiro256**.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Xoshiro([u64; 4]);

impl Xoshiro {
    /// Lua's `setseed(n1, n2)`: the state, then 16 values discarded.
    pub(crate) fn seeded(n1: u64, n2: u64) -> Self {
        let mut g = Xoshiro([n1, 0xff, n2, 0]);
        for _ in 0..16 {
            g.next();
        }
        g
    }

    /// The stream of one identity (`kind`, `id`) under `seed`: the same
    /// inputs, the same numbers.
    pub(crate) fn derived(seed: u64, kind: u64, id: u64) -> Self {
        Xoshiro::seeded(splitmix(seed ^ splitmix(kind)), id)
    }

    fn next(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Lua's `project`: a uniform integer in `[0, n]`.
    fn project(&mut self, mut ran: u64, n: u64) -> u64 {
        if n & n.wrapping_add(1) == 0 {
            return ran & n;
        }
        let mut lim = n;
        lim |= lim >> 1;
        lim |= lim >> 2;
        lim |= lim >> 4;
        lim |= lim >> 8;
        lim |= lim >> 16;
        lim |= lim >> 32;
        loop {
            ran &= lim;
            if ran <= n {
                return ran;
            }
            ran = self.next();
        }
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Identity kinds of streams.
const STATE: u64 = 1;
const BEHAVIOUR: u64 = 2;
const JOB: u64 = 3;

/// Whose stream it is: with the seed and a number, it fixes the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamKind {
    /// A behaviour instance's, numbered in attach order.
    Behaviour,
    /// A job's, numbered in enqueue order.
    Job,
}

/// One random stream (an instance's, a job's): what `math.random` draws
/// from while [`enter`]ed. Clones share the stream.
///
/// ```
/// use zephyr_lua::random::{Stream, StreamKind};
/// let a = Stream::derived(7, StreamKind::Behaviour, 1);
/// let b = Stream::derived(7, StreamKind::Behaviour, 1);
/// assert_eq!(a.peek(), b.peek()); // the same seed and identity, the same numbers
/// assert_ne!(a.peek(), Stream::derived(7, StreamKind::Job, 1).peek());
/// ```
#[derive(Debug, Clone)]
pub struct Stream(Arc<Generator>);

/// A stream's generator while no execution has it entered. Relaxed atomics,
/// not a lock: one thread at a time enters a stream (the thread running the
/// instance or job), and the host's hand-offs between threads (a lane's
/// end, a job's outcome) order the uses.
#[derive(Debug)]
struct Generator([AtomicU64; 4]);

impl Generator {
    fn load(&self) -> Xoshiro {
        Xoshiro(std::array::from_fn(|i| self.0[i].load(Ordering::Relaxed)))
    }

    fn store(&self, generator: Xoshiro) {
        for (word, value) in self.0.iter().zip(generator.0) {
            word.store(value, Ordering::Relaxed);
        }
    }
}

impl Stream {
    fn new(generator: Xoshiro) -> Self {
        Stream(Arc::new(Generator(generator.0.map(AtomicU64::new))))
    }

    /// The stream of one identity under `seed` (a state's
    /// [`seed`](crate::StateConfig::seed)).
    pub fn derived(seed: u64, kind: StreamKind, id: u64) -> Self {
        Stream::new(Self::generator(seed, kind, id))
    }

    fn generator(seed: u64, kind: StreamKind, id: u64) -> Xoshiro {
        let kind = match kind {
            StreamKind::Behaviour => BEHAVIOUR,
            StreamKind::Job => JOB,
        };
        Xoshiro::derived(seed, kind, id)
    }

    /// Starts this stream over, in place, as [`derived`](Self::derived)
    /// would make it (a state's job stream, reused job after job: one
    /// allocation less per job). The caller holds the stream: nothing has
    /// it entered.
    pub(crate) fn start_over(&self, seed: u64, kind: StreamKind, id: u64) {
        self.0.store(Self::generator(seed, kind, id));
    }

    /// The next raw 64-bit value the stream would give, without taking it.
    pub fn peek(&self) -> u64 {
        ENTERED.with_borrow(|entered| entered.current(self)).next()
    }

    /// What tells this stream (and its clones) from every other one alive.
    fn key(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
}

/// A state's own stream (what runs outside any instance or job draws from
/// it), in its app data and held by its
/// [`ScriptState`](crate::ScriptState); also the state's key among the
/// entered streams of a thread.
#[derive(Debug, Clone)]
pub(crate) struct StreamSlot(Stream);

impl StreamSlot {
    /// Makes `stream` the one `math.random` draws from on this state, on
    /// this thread, until the guard drops (callbacks nest).
    #[must_use = "the stream is the current one only while the guard lives"]
    pub(crate) fn enter<'s>(&self, stream: &'s Stream) -> Entered<'s> {
        Entered::push(self.0.key(), stream)
    }
}

/// One entered stream on a thread: whose state, which stream, and the
/// stream's generator while entered (draws change this copy; it goes back
/// when the guard drops).
#[derive(Debug)]
struct Frame {
    token: u64,
    state: usize,
    stream: usize,
    generator: Xoshiro,
}

/// The streams entered on this thread, innermost last. Entering a stream
/// is the one thing every callback does, so it takes no lock and touches
/// no reference count: a push here and four loads from the stream, and the
/// reverse when the guard drops.
#[derive(Debug)]
struct Entries {
    frames: Vec<Frame>,
    next_token: u64,
}

impl Entries {
    /// Where `stream` is now: its innermost entry's copy, else its own.
    fn current(&self, stream: &Stream) -> Xoshiro {
        let key = stream.key();
        self.frames
            .iter()
            .rev()
            .find(|frame| frame.stream == key)
            .map_or_else(|| stream.0.load(), |frame| frame.generator)
    }
}

thread_local! {
    static ENTERED: RefCell<Entries> = const {
        RefCell::new(Entries { frames: Vec::new(), next_token: 0 })
    };
}

/// Makes `stream` the one `math.random` draws from on `lua`, for the
/// executions this thread runs, until the guard drops (callbacks nest).
/// With the state at hand,
/// [`ScriptState::enter_stream`](crate::ScriptState::enter_stream) does the
/// same without looking the state's slot up.
#[must_use = "the stream is the current one only while the guard lives"]
pub fn enter<'s>(lua: &Lua, stream: &'s Stream) -> Entered<'s> {
    match lua.app_data_ref::<StreamSlot>() {
        Some(slot) => slot.enter(stream),
        None => Entered {
            stream,
            token: None,
            _thread: PhantomData,
        },
    }
}

/// The guard of an [`enter`]ed stream: dropping it puts the previous one
/// back. It stays on the thread that entered the stream.
#[derive(Debug)]
pub struct Entered<'s> {
    stream: &'s Stream,
    token: Option<u64>,
    _thread: PhantomData<*const ()>,
}

impl<'s> Entered<'s> {
    fn push(state: usize, stream: &'s Stream) -> Self {
        let key = stream.key();
        let token = ENTERED.with_borrow_mut(|entered| {
            // Entered already (an instance's callback that reached its
            // own again): go on from where the outer entry has got to.
            let generator = entered.current(stream);
            let token = entered.next_token;
            entered.next_token += 1;
            entered.frames.push(Frame {
                token,
                state,
                stream: key,
                generator,
            });
            token
        });
        Entered {
            stream,
            token: Some(token),
            _thread: PhantomData,
        }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let Some(token) = self.token else {
            return;
        };
        ENTERED.with_borrow_mut(|entered| {
            // The innermost frame, unless guards were dropped out of order.
            let Some(at) = entered.frames.iter().rposition(|f| f.token == token) else {
                return;
            };
            let frame = entered.frames.remove(at);
            // Its numbers go where the next draw from the stream looks: an
            // outer entry of the same stream, or the stream itself.
            match entered.frames[..at]
                .iter_mut()
                .rev()
                .find(|outer| outer.stream == frame.stream)
            {
                Some(outer) => outer.generator = frame.generator,
                None => self.stream.0.store(frame.generator),
            }
        });
    }
}

/// Runs `f` on the generator `math.random` draws from on `lua`: the stream
/// entered last on this thread for this state, else the state's own.
fn with_current<T>(lua: &Lua, f: impl FnOnce(&mut Xoshiro) -> T) -> T {
    let slot = lua.app_data_ref::<StreamSlot>();
    let fallback;
    let own = match &slot {
        Some(slot) => &slot.0,
        None => {
            fallback = Stream::new(Xoshiro::seeded(DEFAULT_SEED, 0));
            &fallback
        }
    };
    let state = own.key();
    ENTERED.with_borrow_mut(|entered| {
        match entered.frames.iter_mut().rev().find(|f| f.state == state) {
            Some(frame) => f(&mut frame.generator),
            None => {
                let mut generator = own.0.load();
                let result = f(&mut generator);
                own.0.store(generator);
                result
            }
        }
    })
}

/// Replaces `math.random` and `math.randomseed` with the stream-aware ones;
/// the state's own stream (what runs outside any instance or job) comes
/// from `seed`.
pub(crate) fn install(lua: &Lua, math: &Table, seed: u64) -> mlua::Result<StreamSlot> {
    let slot = StreamSlot(Stream::new(Xoshiro::derived(seed, STATE, 0)));
    lua.set_app_data(slot.clone());
    math.raw_set("random", lua.create_function(random)?)?;
    let reseeds = Arc::new(Mutex::new(0u64));
    math.raw_set(
        "randomseed",
        lua.create_function(move |lua, args: MultiValue| {
            let (n1, n2) = match args.front() {
                // Lua seeds from the clock here; a reproducible run cannot,
                // so this counts reseeds under the host's seed instead.
                None => {
                    let mut count = reseeds.lock();
                    *count += 1;
                    (splitmix(seed ^ 0x7265_7365_6564), *count)
                }
                Some(first) => (
                    seed_part(lua, first, 1)?,
                    match args.get(1) {
                        None | Some(Value::Nil) => 0,
                        Some(v) => seed_part(lua, v, 2)?,
                    },
                ),
            };
            with_current(lua, |g| *g = Xoshiro::seeded(n1, n2));
            Ok((n1 as i64, n2 as i64))
        })?,
    )?;
    Ok(slot)
}

/// A seed argument: an integer, or a float's bits (as Lua 5.4.8 takes it).
fn seed_part(lua: &Lua, value: &Value, n: usize) -> mlua::Result<u64> {
    match value {
        Value::Integer(i) => Ok(*i as u64),
        Value::Number(f) => Ok(if f.fract() == 0.0 && f.abs() < 9.2e18 {
            *f as i64 as u64
        } else {
            f.to_bits()
        }),
        other => match lua.coerce_integer(other.clone())? {
            Some(i) => Ok(i as u64),
            None => Err(mlua::Error::runtime(format!(
                "bad argument #{n} to 'randomseed' (number expected, got {})",
                other.type_name()
            ))),
        },
    }
}

/// `math.random([m [, n]])`, as Lua 5.4's (which draws before it looks at
/// its arguments).
fn random(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    let integer = |v: &Value, n: usize| -> mlua::Result<i64> {
        match lua.coerce_integer(v.clone())? {
            Some(i) => Ok(i),
            None => Err(mlua::Error::runtime(format!(
                "bad argument #{n} to 'random' ({})",
                if matches!(v, Value::Number(_)) {
                    "number has no integer representation".to_owned()
                } else {
                    format!("number expected, got {}", v.type_name())
                }
            ))),
        }
    };
    // The arguments are read first (reading them can call into Lua, which
    // must not run while this thread's streams are borrowed), the number
    // drawn before they are judged, as Lua 5.4 does: a bad argument still
    // uses a number up.
    let range = match args.len() {
        0 => Ok(Range::Float),
        1 => integer(&args[0], 1).map(|up| match up {
            0 => Range::Raw,
            up => Range::Between(1, up),
        }),
        2 => integer(&args[0], 1).and_then(|low| Ok(Range::Between(low, integer(&args[1], 2)?))),
        _ => Err(mlua::Error::runtime("wrong number of arguments")),
    };
    with_current(lua, |g| {
        let rv = g.next();
        match range? {
            Range::Float => Ok(Value::Number((rv >> 11) as f64 * 0.5f64.powi(53))),
            Range::Raw => Ok(Value::Integer(rv as i64)),
            Range::Between(low, up) if low > up => Err(mlua::Error::runtime(format!(
                "bad argument #{} to 'random' (interval is empty)",
                args.len()
            ))),
            Range::Between(low, up) => {
                let p = g.project(rv, (up as u64).wrapping_sub(low as u64));
                Ok(Value::Integer(p.wrapping_add(low as u64) as i64))
            }
        }
    })
}

/// What `math.random`'s arguments ask for.
enum Range {
    /// No arguments: a float in `[0, 1)`.
    Float,
    /// `random(0)`: all 64 bits.
    Raw,
    /// An integer in `[low, up]`.
    Between(i64, i64),
}
