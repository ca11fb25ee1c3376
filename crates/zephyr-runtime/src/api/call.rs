//! One call of a package's function: its arguments checked against the
//! declaration, read by position, and the world it reads and writes (the
//! live world on the main thread; a worker's view and recording
//! elsewhere). The main thread and the workers differ in this one place.

use std::fmt;

use glam::DVec3;
use mlua::{Lua, Value};
use zephyr_world::{EngineWorld, EntityId, Key, WorldCommand, WorldRead, WorldWrite};

use super::Host;
use super::package::{Function, Number, Param, Type};
use crate::action::Command;
use crate::recording::WorkerContext;
use zephyr_lua::binding::lua_number_text;

/// Lua's own rule for number arguments (as `luaL_checknumber` applies it):
/// a string that reads as a number is that number. The typed path gets this
/// from mlua's conversions; the general path applies it here, so both
/// accept the same arguments.
pub(crate) fn coerce_numbers(lua: &Lua, spec: &Function, args: &mut [Value]) {
    for (param, arg) in spec.params.iter().zip(args.iter_mut()) {
        if !matches!(arg, Value::String(_)) {
            continue;
        }
        let coerced = match param.ty {
            Type::Number => lua
                .coerce_number(arg.clone())
                .ok()
                .flatten()
                .map(Value::Number),
            Type::Integer | Type::Entity => lua
                .coerce_integer(arg.clone())
                .ok()
                .flatten()
                .map(Value::Integer),
            _ => None,
        };
        if let Some(number) = coerced {
            *arg = number;
        }
    }
}

/// Builds a Lua error prefixed with the calling script's `chunk:line:`, as
/// `luaL_error` does.
pub(crate) use zephyr_lua::binding::lua_error;

/// Where a binding runs: the Lua state, the host, which binding, and
/// whether the state is running a worker job. Reads and writes of the world
/// go through here, so the main thread and workers differ in one place.
#[derive(Clone, Copy)]
pub(crate) struct Site<'a> {
    pub(crate) lua: &'a Lua,
    pub(crate) host: &'a Host,
    pub(crate) spec: &'a Function,
    /// The state's worker side: whether a worker job is running, and its
    /// recording.
    worker: &'a WorkerContext,
}

/// One call of a package's function, its arguments already checked
/// against the declaration: what an implementation reads its arguments
/// from (by position, from 1, as Lua counts), and where it reads and
/// writes the world.
///
/// Arguments are read by position with the getter of their declared type
/// (`number`, `string`, `entity`, ...): the declaration has checked them,
/// so a getter never fails (a left-out optional argument reads as its
/// type's zero; test it with [`is_given`](Self::is_given)).
pub struct Call<'a> {
    pub(crate) lua: &'a Lua,
    pub(crate) host: &'a Host,
    site: Site<'a>,
    args: &'a [Value],
}

impl fmt::Debug for Call<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("function", &self.site.spec.path())
            .field("args", &self.args.len())
            .field("worker", &self.site.worker.is_set())
            .finish()
    }
}

impl<'a> Site<'a> {
    #[inline]
    pub(crate) fn new(
        lua: &'a Lua,
        host: &'a Host,
        spec: &'a Function,
        worker: &'a WorkerContext,
    ) -> Self {
        Site {
            lua,
            host,
            spec,
            worker,
        }
    }

    /// Checks `args` against the declaration: the call, or the error that
    /// names the function and the argument.
    #[inline]
    pub(crate) fn call(self, args: &'a [Value]) -> mlua::Result<Call<'a>> {
        let call = Call {
            lua: self.lua,
            host: self.host,
            site: self,
            args,
        };
        if self.spec.access == super::package::Access::MainThread && self.worker.is_set() {
            return Err(crate::recording::require_main_thread(
                self.lua,
                &self.spec.path(),
            ));
        }
        for (index, param) in self.spec.params.iter().enumerate() {
            let valid = match args.get(index) {
                None | Some(Value::Nil) => param.optional,
                Some(value) => param.ty.accepts(value),
            };
            if !valid {
                return Err(call.argument_error(index, param));
            }
        }
        Ok(call)
    }

    /// The same checks for the typed path, on the numbers mlua has read
    /// (a value that is not a number fails in mlua's conversion already,
    /// see `api/fast.rs`). `types` is the typed implementation's signature,
    /// which registration matched against the declaration; a constant, so
    /// the checks compile to a few compares.
    #[inline]
    pub(crate) fn check<const N: usize>(
        self,
        types: [Type; N],
        args: [Number; N],
    ) -> mlua::Result<()> {
        if types
            .iter()
            .zip(&args)
            .all(|(ty, arg)| ty.accepts_number(*arg))
        {
            Ok(())
        } else {
            Err(self.refuse(args))
        }
    }

    /// The error [`call`](Self::call) gives for numbers the typed path
    /// refused, so both paths say the same.
    #[cold]
    #[inline(never)]
    fn refuse<const N: usize>(self, args: [Number; N]) -> mlua::Error {
        let values = args.map(Number::into_value);
        match self.call(&values) {
            Err(error) => error,
            Ok(_) => self.error("invalid arguments"),
        }
    }

    /// The error [`call`](Self::call) gives for the arguments a typed
    /// function's rule refused, so that both paths say the same.
    #[cold]
    #[inline(never)]
    pub(crate) fn refuse_values(self, values: &[Value]) -> mlua::Error {
        match self.call(values) {
            Err(error) => error,
            Ok(_) => self.error("invalid arguments"),
        }
    }

    /// The call of a typed function: its arguments are the closure's.
    #[inline]
    pub(crate) fn typed_call(self) -> Call<'a> {
        Call {
            lua: self.lua,
            host: self.host,
            site: self,
            args: &[],
        }
    }

    /// An error about this call, naming the function.
    #[cold]
    pub(crate) fn error(&self, message: impl fmt::Display) -> mlua::Error {
        lua_error(self.lua, format!("{}: {message}", self.spec.path()))
    }

    /// Reads the world: the live one on the main thread, the job's view on
    /// a worker.
    #[inline]
    pub(crate) fn read<R>(
        &self,
        f: impl FnOnce(&dyn WorldRead) -> zephyr_world::Result<R>,
    ) -> mlua::Result<R> {
        if self.worker.is_set() {
            return self.read_view(f);
        }
        f(&*self.host.world.read()).map_err(|e| self.error(e))
    }

    /// [`read`](Self::read) on a worker: the job's view. Out of line, so
    /// the main-thread path inlined into every binding stays small.
    #[inline(never)]
    fn read_view<R>(
        &self,
        f: impl FnOnce(&dyn WorldRead) -> zephyr_world::Result<R>,
    ) -> mlua::Result<R> {
        self.worker
            .with(|recording| match &recording.world {
                Some(view) => f(view).map_err(|e| self.error(e)),
                None => Err(self.no_world()),
            })
            .unwrap_or_else(|| Err(self.no_world()))
    }

    /// Writes the world: at once on the main thread; on a worker, to the
    /// job's view and its recorded commands.
    #[inline]
    pub(crate) fn write(&self, command: WorldCommand) -> mlua::Result<()> {
        if self.worker.is_set() {
            return self.record(command);
        }
        self.host
            .world
            .write()
            .apply(&command)
            .map_err(|e| self.error(e))
    }

    /// [`write`](Self::write) on a worker: applied to the job's view (so
    /// its later reads see it) and recorded for `update()`. Out of line,
    /// like [`read_view`](Self::read_view).
    #[inline(never)]
    fn record(&self, command: WorldCommand) -> mlua::Result<()> {
        self.worker
            .with(|recording| {
                let Some(view) = &mut recording.world else {
                    return Err(self.no_world());
                };
                command.apply(view).map_err(|e| self.error(e))?;
                recording.commands.push(Command::World(command));
                Ok(())
            })
            .unwrap_or_else(|| Err(self.no_world()))
    }

    /// Creates an entity (its id is usable at once, also on a worker).
    pub(crate) fn create_entity(&self) -> mlua::Result<EntityId> {
        let id = if self.worker.is_set() {
            match self
                .worker
                .with(|r| r.world.as_mut().map(WorldWrite::reserve))
            {
                Some(Some(id)) => id,
                _ => return Err(self.no_world()),
            }
        } else {
            self.host.world.write().reserve()
        };
        self.write(WorldCommand::Spawn(id))?;
        Ok(id)
    }

    /// Leaves a spawned entity's behaviour for the next start phase: at
    /// once on the main thread; recorded on a worker (applied in order with
    /// the spawn's writes).
    pub(crate) fn attach_later(
        &self,
        behaviour: crate::prefab::PendingBehaviour,
    ) -> mlua::Result<()> {
        if !self.worker.is_set() {
            self.host.spawns.push_pending(behaviour);
            return Ok(());
        }
        let mut behaviour = Some(behaviour);
        self.worker.with(|recording| {
            if let Some(behaviour) = behaviour.take() {
                recording.commands.push(Command::Attach(behaviour));
            }
        });
        match behaviour {
            // Set but not recording: the job has ended.
            Some(_) => Err(self.no_world()),
            None => Ok(()),
        }
    }

    fn no_world(&self) -> mlua::Error {
        self.error("this script has no world view (enqueue it through a ScriptingSystem)")
    }
}

impl<'a> Call<'a> {
    /// The Lua state the call runs in.
    pub fn lua(&self) -> &'a Lua {
        self.lua
    }

    /// The engine's cvars.
    pub fn cvars(&self) -> &'a std::sync::Arc<zephyr_cvar::CVarRegistry> {
        &self.host.cvars
    }

    /// The engine's console.
    pub fn console(&self) -> &'a std::sync::Arc<zephyr_cvar::Console> {
        &self.host.console
    }

    /// Whether the call runs off the main thread (a worker job, or a
    /// parallel behaviour's update): its writes are recorded, not applied.
    pub fn is_worker(&self) -> bool {
        self.site.worker.is_set()
    }

    /// An error about this call, naming the function, at the calling
    /// script's line (`game.lua:4: audio.play: no sound 'boom'`).
    #[cold]
    pub fn error(&self, message: impl fmt::Display) -> mlua::Error {
        self.site.error(message)
    }

    /// Reads the world: the live one on the main thread, the call's view
    /// on a worker (a job's snapshot, or the parallel phase's live world,
    /// with the call's own writes on top).
    #[inline]
    pub fn read<R>(
        &self,
        f: impl FnOnce(&dyn WorldRead) -> zephyr_world::Result<R>,
    ) -> mlua::Result<R> {
        self.site.read(f)
    }

    /// Writes the world: at once on the main thread; on a worker, to the
    /// call's view (so its later reads see it) and its recorded writes,
    /// applied on the main thread in order. Only a function declared
    /// [`writes`](super::Function::writes) (or main-thread only) may write.
    #[inline]
    pub fn write(&self, command: WorldCommand) -> mlua::Result<()> {
        self.check_writes()?;
        self.site.write(command)
    }

    /// Runs an engine write that cannot fail; see
    /// [`try_command`](Self::try_command).
    pub fn command<W: EngineWorld>(
        &self,
        command: impl FnOnce(&mut W) + Send + 'static,
    ) -> mlua::Result<()> {
        self.try_command(move |world: &mut W| {
            command(world);
            Ok::<(), std::convert::Infallible>(())
        })
    }

    /// Runs an engine write: at once on the main thread; on a worker,
    /// recorded and run on the main thread in order with the other writes
    /// (after those recorded before it, before those after). What it
    /// returns as an error is reported where the write is applied.
    ///
    /// `W` is the system's world type (see
    /// [`EngineWorld`](zephyr_world::EngineWorld)); a command for another
    /// type is refused with a message naming both.
    pub fn try_command<W: EngineWorld, E: fmt::Display>(
        &self,
        command: impl FnOnce(&mut W) -> Result<(), E> + Send + 'static,
    ) -> mlua::Result<()> {
        self.check_writes()?;
        let command = move |world: &mut W| command(world).map_err(|e| e.to_string());
        if self.site.worker.is_set() {
            let mut command = Some(crate::action::EngineCommand::new(
                self.site.spec.path(),
                move |world: &mut dyn EngineWorld| command(downcast_world(world)?),
            ));
            self.site.worker.with(|recording| {
                if let Some(command) = command.take() {
                    recording.commands.push(Command::Engine(command));
                }
            });
            return match command {
                // Set but not recording: the job has ended; run it here.
                Some(command) => command
                    .run(&mut *self.host.world.write())
                    .map_err(|message| self.error(message)),
                None => Ok(()),
            };
        }
        // On the main thread: at once, with nothing recorded.
        let mut world = self.host.world.write();
        downcast_world(&mut *world)
            .and_then(command)
            .map_err(|message| self.error(message))
    }

    /// Creates an entity (its id is usable at once, also on a worker).
    pub fn create_entity(&self) -> mlua::Result<EntityId> {
        self.check_writes()?;
        self.site.create_entity()
    }

    /// See [`Site::attach_later`].
    pub(crate) fn attach_later(
        &self,
        behaviour: crate::prefab::PendingBehaviour,
    ) -> mlua::Result<()> {
        self.check_writes()?;
        self.site.attach_later(behaviour)
    }

    fn check_writes(&self) -> mlua::Result<()> {
        if self.site.spec.access == super::package::Access::Reads {
            return Err(self.error(
                "it is declared as only reading, and writes: declare it .writes() (or \
                 .main_thread())",
            ));
        }
        Ok(())
    }

    /// Whether argument `index` (from 1) was given (and is not `nil`).
    pub fn is_given(&self, index: usize) -> bool {
        !matches!(self.args.get(index - 1), None | Some(Value::Nil))
    }

    #[cold]
    #[inline(never)]
    fn argument_error(&self, index: usize, param: &Param) -> mlua::Error {
        let got = match self.args.get(index) {
            None => "nil".to_owned(),
            Some(Value::Number(n)) if !n.is_finite() => lua_number_text(*n),
            Some(Value::String(s)) if param.ty == Type::Key => {
                format!("'{}'", s.to_string_lossy())
            }
            Some(v) => zephyr_lua::binding::type_name(v).to_owned(),
        };
        let nil = if param.optional { " or nil" } else { "" };
        self.error(format!(
            "argument {} ({}) must be {}{nil}, got {got}",
            index + 1,
            param.name,
            param.ty.expected()
        ))
    }

    /// Argument `index` (1-based), `nil` when absent.
    pub fn value(&self, index: usize) -> Value {
        self.args.get(index - 1).cloned().unwrap_or(Value::Nil)
    }

    /// Argument `index` as a number (a declared `number`).
    pub fn number(&self, index: usize) -> f64 {
        match self.args.get(index - 1) {
            Some(Value::Integer(i)) => *i as f64,
            Some(Value::Number(n)) => *n,
            _ => 0.0,
        }
    }

    /// Arguments `index` to `index + 2` as a vector (three declared `number`s).
    pub fn vec3(&self, index: usize) -> DVec3 {
        DVec3::new(
            self.number(index),
            self.number(index + 1),
            self.number(index + 2),
        )
    }

    /// Argument `index` as an integer (a declared `integer`).
    pub fn integer(&self, index: usize) -> i64 {
        match self.args.get(index - 1) {
            Some(Value::Integer(i)) => *i,
            Some(Value::Number(n)) => *n as i64,
            _ => 0,
        }
    }

    /// Argument `index` as an entity id (a declared `entity`).
    pub fn entity(&self, index: usize) -> EntityId {
        EntityId::from_lua(self.integer(index))
            .unwrap_or_else(|| unreachable!("checked as an entity"))
    }

    /// Argument `index` as a string (a declared `string`; empty when left out).
    pub fn string(&self, index: usize) -> String {
        self.opt_string(index).unwrap_or_default()
    }

    /// Argument `index` as a string, if given.
    pub fn opt_string(&self, index: usize) -> Option<String> {
        match self.args.get(index - 1) {
            Some(Value::String(s)) => Some(s.to_string_lossy()),
            _ => None,
        }
    }

    /// Argument `index` as a boolean (a declared `boolean`; false when left out).
    pub fn boolean(&self, index: usize) -> bool {
        matches!(self.args.get(index - 1), Some(Value::Boolean(true)))
    }

    /// Argument `index` as a key (a declared `key`).
    pub fn key(&self, index: usize) -> Key {
        self.string(index).parse().unwrap_or(Key::Space)
    }

    /// A string, number or boolean as text (`90`, `90.0`, `true`).
    pub fn scalar_text(&self, index: usize) -> String {
        match self.value(index) {
            Value::String(s) => s.to_string_lossy(),
            Value::Integer(i) => i.to_string(),
            Value::Number(n) => lua_number_text(n),
            Value::Boolean(b) => b.to_string(),
            _ => String::new(),
        }
    }
}

/// The world as the type an engine command was written for.
fn downcast_world<W: EngineWorld>(world: &mut dyn EngineWorld) -> Result<&mut W, String> {
    let actual = world.type_name();
    world.downcast_mut::<W>().ok_or_else(|| {
        format!(
            "the command is written for a world of type {}, and the system's world is a {actual}",
            std::any::type_name::<W>()
        )
    })
}
