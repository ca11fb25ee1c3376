//! The console: a table of named commands, the built-in ones, command
//! execution, and the ring buffer of output lines that a UI can show.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, RwLock};

use crate::error::{Error, Result, suggest};
use crate::parse::Invocation;
use crate::registry::CVarRegistry;
use crate::value::{CVarValue, check_name};

/// A command handler: gets the console (to print, read cvars or run more
/// commands) and the command's arguments.
pub type CommandFn = Arc<dyn Fn(&Console, &[String]) -> Result<()> + Send + Sync>;

/// Where a console's output goes when a host sets one (see
/// [`Console::set_output`]): bytes as written, each line ending in a
/// newline (a command's output line, or a script's `print`); a script's
/// `io.write` may end without one.
pub type OutputFn = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// How many output lines a console keeps by default.
pub const DEFAULT_HISTORY: usize = 512;

/// The console's kept output lines.
#[derive(Debug, Default)]
struct History {
    lines: VecDeque<String>,
    /// Whether the last line has not ended yet (output without a newline).
    open: bool,
}

impl History {
    /// Appends output, split into lines, keeping at most `capacity`.
    fn write(&mut self, bytes: &[u8], capacity: usize) {
        if capacity == 0 || bytes.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        let ends_open = !text.ends_with('\n');
        let text = text.strip_suffix('\n').unwrap_or(&text);
        for (i, line) in text.split('\n').enumerate() {
            if i == 0
                && self.open
                && let Some(last) = self.lines.back_mut()
            {
                last.push_str(line);
                continue;
            }
            if self.lines.len() == capacity {
                self.lines.pop_front();
            }
            self.lines.push_back(line.to_owned());
        }
        self.open = ends_open;
    }
}

struct Command {
    help: String,
    handler: CommandFn,
    builtin: bool,
    rest_of_line: bool,
    /// For a rest-of-line command: whether its argument so far needs the
    /// next line too.
    continues: Option<Continues>,
}

/// Says whether a multi-line command's argument so far is incomplete.
type Continues = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A registered command, as listed by [`Console::commands`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandInfo {
    /// Its name.
    pub name: String,
    /// Its one-line help.
    pub help: String,
    /// Whether it is one of the console's built-in commands.
    pub builtin: bool,
}

/// The engine console.
///
/// Built-in commands: `set <cvar> <value>`, `get <cvar>`, a bare cvar name (prints
/// it; with a value, sets it), `reset <cvar>`, `toggle <cvar>`, `cvarlist
/// [prefix]`, `help [command|cvar]`, `echo <text>` and `quit`. The scripting
/// runtime adds `exec` and `lua`; engines and scripts add their own with
/// [`register_command`](Self::register_command).
///
/// ```
/// use std::sync::Arc;
/// use zephyr_cvar::{CVarDef, CVarRegistry, Console};
///
/// let cvars = Arc::new(CVarRegistry::new());
/// cvars.register(CVarDef::new("r_vsync", true))?;
/// let console = Console::new(cvars.clone());
/// console.execute("toggle r_vsync; get r_vsync")?;
/// assert_eq!(console.history().last().map(String::as_str), Some("r_vsync = false"));
/// assert!(console.execute("tggle r_vsync").unwrap_err().to_string().contains("did you mean: toggle"));
/// # Ok::<(), zephyr_cvar::Error>(())
/// ```
///
/// # Thread safety
///
/// `Send + Sync`; commands run on the calling thread, and by the engine's rule
/// that is the main thread. No lock is held while a command runs, so a command
/// may execute further commands.
pub struct Console {
    cvars: Arc<CVarRegistry>,
    commands: RwLock<BTreeMap<String, Arc<Command>>>,
    history: Mutex<History>,
    capacity: usize,
    quit: AtomicBool,
    /// Where the commands running now came from (innermost last): see
    /// [`Console::execute_from`].
    origins: Mutex<Vec<String>>,
    /// The host's output, if it set one; else output is logged.
    output: RwLock<Option<OutputFn>>,
}

impl fmt::Debug for Console {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Console")
            .field("commands", &self.commands.read().keys().collect::<Vec<_>>())
            .field("history_len", &self.history.lock().lines.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Console {
    /// A console over `cvars` keeping the last [`DEFAULT_HISTORY`] output lines.
    pub fn new(cvars: Arc<CVarRegistry>) -> Self {
        Self::with_history(cvars, DEFAULT_HISTORY)
    }

    /// A console keeping the last `capacity` output lines.
    pub fn with_history(cvars: Arc<CVarRegistry>, capacity: usize) -> Self {
        let console = Console {
            cvars,
            commands: RwLock::new(BTreeMap::new()),
            history: Mutex::new(History {
                lines: VecDeque::with_capacity(capacity.min(4096)),
                open: false,
            }),
            capacity,
            quit: AtomicBool::new(false),
            origins: Mutex::new(Vec::new()),
            output: RwLock::new(None),
        };
        console.register_builtins();
        console
    }

    /// The cvars this console reads and writes.
    pub fn cvars(&self) -> &Arc<CVarRegistry> {
        &self.cvars
    }

    /// Registers (or replaces) a command. Built-in commands and names of
    /// registered cvars cannot be taken.
    pub fn register_command(
        &self,
        name: &str,
        help: &str,
        handler: impl Fn(&Console, &[String]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        self.insert(name, help, Arc::new(handler), false, None)
    }

    /// Registers a command whose single argument is the rest of its line,
    /// verbatim (`;` included), like the runtime's `lua <code>`.
    pub fn register_rest_of_line_command(
        &self,
        name: &str,
        help: &str,
        handler: impl Fn(&Console, &[String]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        self.insert(name, help, Arc::new(handler), false, Some(None))
    }

    /// Registers a rest-of-line command whose argument also takes the lines
    /// after its own while `continues(argument so far)` is true: how the
    /// runtime's `lua` takes a multi-line chunk whole (it continues while the
    /// chunk is incomplete, as Lua's REPL does).
    pub fn register_multiline_command(
        &self,
        name: &str,
        help: &str,
        continues: impl Fn(&str) -> bool + Send + Sync + 'static,
        handler: impl Fn(&Console, &[String]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        self.insert(
            name,
            help,
            Arc::new(handler),
            false,
            Some(Some(Arc::new(continues))),
        )
    }

    /// Runs `text` as [`execute`](Self::execute) does, telling the commands
    /// where it came from (`"cv2.lua:3"`): a command can ask with
    /// [`origin`](Self::origin), so that what it starts names its origin.
    pub fn execute_from(&self, text: &str, origin: &str) -> Result<()> {
        self.origins.lock().push(origin.to_owned());
        let result = self.execute(text);
        self.origins.lock().pop();
        result
    }

    /// Where the command running now came from, when the caller said
    /// (see [`execute_from`](Self::execute_from)).
    pub fn origin(&self) -> Option<String> {
        self.origins.lock().last().cloned()
    }

    /// Removes a command that is not built in; returns whether it existed.
    pub fn unregister_command(&self, name: &str) -> Result<bool> {
        let mut commands = self.commands.write();
        match commands.get(name) {
            Some(c) if c.builtin => Err(Error::BuiltinCommand {
                name: name.to_owned(),
            }),
            Some(_) => Ok(commands.remove(name).is_some()),
            None => Ok(false),
        }
    }

    /// Changes a command's one-line help (what `help` prints), keeping its
    /// handler: for a host that runs the command its own way where it reads
    /// lines itself (a live console that runs `lua` on the main thread).
    pub fn set_help(&self, name: &str, help: &str) -> Result<()> {
        let mut commands = self.commands.write();
        let Some(command) = commands.get(name) else {
            drop(commands);
            return Err(self.unknown_command(name));
        };
        let changed = Command {
            help: help.to_owned(),
            handler: command.handler.clone(),
            builtin: command.builtin,
            rest_of_line: command.rest_of_line,
            continues: command.continues.clone(),
        };
        commands.insert(name.to_owned(), Arc::new(changed));
        Ok(())
    }

    /// Whether a command of that name exists.
    pub fn has_command(&self, name: &str) -> bool {
        self.commands.read().contains_key(name)
    }

    /// All commands, sorted by name.
    pub fn commands(&self) -> Vec<CommandInfo> {
        self.commands
            .read()
            .iter()
            .map(|(name, c)| CommandInfo {
                name: name.clone(),
                help: c.help.clone(),
                builtin: c.builtin,
            })
            .collect()
    }

    /// Parses `text` with this console's grammar (see [`parse_line`](crate::parse_line)).
    pub fn parse(&self, text: &str) -> Result<Vec<Invocation>> {
        let raw: BTreeMap<String, Option<Continues>> = self
            .commands
            .read()
            .iter()
            .filter(|(_, c)| c.rest_of_line)
            .map(|(name, c)| (name.clone(), c.continues.clone()))
            .collect();
        crate::parse::parse_with(text, &|name| raw.contains_key(name), &|name, so_far| {
            raw.get(name)
                .and_then(Option::as_ref)
                .is_some_and(|continues| continues(so_far))
        })
    }

    /// Whether `text` ends inside a multi-line command whose argument needs
    /// more lines (an unfinished `lua` chunk): what an interactive console
    /// asks before it runs a line.
    pub fn is_incomplete(&self, text: &str) -> bool {
        let Ok(invocations) = self.parse(text) else {
            return false;
        };
        let Some(last) = invocations.last() else {
            return false;
        };
        let continues = self
            .commands
            .read()
            .get(last.name.as_str())
            .and_then(|c| c.continues.clone());
        match (continues, last.args.as_slice()) {
            (Some(continues), [argument]) => continues(argument),
            _ => false,
        }
    }

    /// Runs every command in `text`, in order, stopping at the first error,
    /// which is returned.
    pub fn execute(&self, text: &str) -> Result<()> {
        for invocation in self.parse(text)? {
            self.run(&invocation)?;
        }
        Ok(())
    }

    /// Checks `text` without running it: it parses, every command exists, and
    /// `set`, `reset` and `toggle` would be accepted by the cvar registry. The
    /// runtime uses this so a worker-thread script learns at once that a
    /// command it records for the main thread would fail.
    pub fn check(&self, text: &str) -> Result<()> {
        for inv in self.parse(text)? {
            match (inv.name.as_str(), inv.args.as_slice()) {
                ("set", [name, value]) => {
                    self.cvars.validate(name, value)?;
                }
                ("reset" | "toggle", [name]) => {
                    self.cvars.value(name)?;
                }
                (name, [value]) if self.cvars.contains(name) && !self.has_command(name) => {
                    self.cvars.validate(name, value)?;
                }
                (name, _) => {
                    if !self.has_command(name) && !self.cvars.contains(name) {
                        return Err(self.unknown_command(name));
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs a file's worth of commands: every command runs even when one
    /// fails; each failure is printed as `source:line: error`, and the
    /// result is an error counting them.
    pub fn execute_script_text(&self, text: &str, source: &str) -> Result<()> {
        let mut failures = Vec::new();
        for invocation in self.parse(text)? {
            if let Err(e) = self.run(&invocation) {
                let message = format!("{source}:{}: {e}", invocation.line);
                self.print(&message);
                failures.push(message);
            }
        }
        match failures.len() {
            0 => Ok(()),
            n => Err(Error::Command {
                command: "exec".into(),
                message: format!("{n} command(s) failed in {source}; first: {}", failures[0]),
            }),
        }
    }

    /// Prints a line of output: appends it (split at newlines) to the ring
    /// buffer and hands it, with a newline, to the host's output (see
    /// [`set_output`](Self::set_output)), or, when it set none, to the
    /// `zephyr::console` tracing target.
    pub fn print(&self, text: &str) {
        let output = self.output.read().clone();
        match output {
            Some(output) => output(format!("{text}\n").as_bytes()),
            None => tracing::info!(target: "zephyr::console", "{text}"),
        }
        self.record(text);
    }

    /// Writes output bytes as they are (a script's `print` with its
    /// newline, or an `io.write` without one): to the host's output
    /// unchanged, and to the ring buffer as lines (invalid UTF-8 shown as
    /// U+FFFD there; a line without its newline yet is continued by the
    /// next write).
    pub fn write(&self, bytes: &[u8]) {
        let output = self.output.read().clone();
        match output {
            Some(output) => output(bytes),
            None => tracing::info!(
                target: "zephyr::console",
                "{}",
                String::from_utf8_lossy(bytes.strip_suffix(b"\n").unwrap_or(bytes))
            ),
        }
        self.history.lock().write(bytes, self.capacity);
    }

    /// Sends the output of commands (`echo`, `get`, `cvarlist`, `help`, ...)
    /// to `output` instead of the log: a host with a terminal prints it on
    /// stdout, a game shows it in its console overlay. `None` logs it again.
    pub fn set_output(&self, output: Option<OutputFn>) {
        *self.output.write() = output;
    }

    /// Appends output lines (split at newlines) to the ring buffer only, for
    /// callers that log the text themselves.
    pub fn record(&self, text: &str) {
        let mut history = self.history.lock();
        history.open = false;
        history.write(format!("{text}\n").as_bytes(), self.capacity);
    }

    /// The kept output lines, oldest first.
    pub fn history(&self) -> Vec<String> {
        self.history.lock().lines.iter().cloned().collect()
    }

    /// Empties the output ring buffer.
    pub fn clear_history(&self) {
        let mut history = self.history.lock();
        history.lines.clear();
        history.open = false;
    }

    /// Whether `quit` was run since the console was made.
    pub fn quit_requested(&self) -> bool {
        self.quit.load(Ordering::Acquire)
    }

    /// Asks the host to stop (what the `quit` command does).
    pub fn request_quit(&self) {
        self.quit.store(true, Ordering::Release);
    }

    fn insert(
        &self,
        name: &str,
        help: &str,
        handler: CommandFn,
        builtin: bool,
        // `Some` for a rest-of-line command, with its continuation test.
        rest_of_line: Option<Option<Continues>>,
    ) -> Result<()> {
        check_name(name)?;
        if self.cvars.contains(name) {
            return Err(Error::Command {
                command: name.to_owned(),
                message: "a cvar already has this name".into(),
            });
        }
        let mut commands = self.commands.write();
        if commands.get(name).is_some_and(|c| c.builtin) {
            return Err(Error::BuiltinCommand {
                name: name.to_owned(),
            });
        }
        commands.insert(
            name.to_owned(),
            Arc::new(Command {
                help: help.to_owned(),
                handler,
                builtin,
                rest_of_line: rest_of_line.is_some(),
                continues: rest_of_line.flatten(),
            }),
        );
        Ok(())
    }

    fn run(&self, inv: &Invocation) -> Result<()> {
        let command = self.commands.read().get(&inv.name).cloned();
        if let Some(command) = command {
            return (command.handler)(self, &inv.args);
        }
        if self.cvars.contains(&inv.name) {
            return match inv.args.as_slice() {
                [] => self.print_cvar(&inv.name),
                [value] => self.cvars.set_from_string(&inv.name, value).map(drop),
                _ => Err(Error::Usage {
                    command: inv.name.clone(),
                    usage: format!("{} [value]", inv.name),
                }),
            };
        }
        Err(self.unknown_command(&inv.name))
    }

    fn unknown_command(&self, name: &str) -> Error {
        let commands = self.commands.read();
        let cvar_names = self.cvars.names();
        let candidates = commands
            .keys()
            .map(String::as_str)
            .chain(cvar_names.iter().map(String::as_str));
        Error::UnknownCommand {
            name: name.to_owned(),
            suggestions: suggest(name, candidates),
        }
    }

    fn print_cvar(&self, name: &str) -> Result<()> {
        let value = self.cvars.value(name)?;
        self.print(&format!("{name} = {value}"));
        Ok(())
    }

    fn register_builtins(&self) {
        let builtins: [(&str, &str, CommandFn); 8] = [
            ("set", "set <cvar> <value>: sets a cvar", Arc::new(cmd_set)),
            (
                "get",
                "get <cvar>: prints a cvar's value",
                Arc::new(cmd_get),
            ),
            (
                "reset",
                "reset <cvar>: restores a cvar's default",
                Arc::new(cmd_reset),
            ),
            (
                "toggle",
                "toggle <cvar>: flips a bool cvar",
                Arc::new(cmd_toggle),
            ),
            (
                "cvarlist",
                "cvarlist [prefix]: lists cvars",
                Arc::new(cmd_cvarlist),
            ),
            (
                "help",
                "help [command|cvar]: lists commands or describes one",
                Arc::new(cmd_help),
            ),
            (
                "echo",
                "echo <text>: prints its arguments",
                Arc::new(cmd_echo),
            ),
            (
                "quit",
                "quit: asks the host to stop after this frame",
                Arc::new(cmd_quit),
            ),
        ];
        for (name, help, handler) in builtins {
            self.insert(name, help, handler, true, None)
                .unwrap_or_else(|e| unreachable!("built-in command {name}: {e}"));
        }
    }
}

fn usage(command: &str, usage: &str) -> Error {
    Error::Usage {
        command: command.into(),
        usage: usage.into(),
    }
}

fn cmd_set(console: &Console, args: &[String]) -> Result<()> {
    match args {
        [name, value] => console.cvars.set_from_string(name, value).map(drop),
        _ => Err(usage("set", "set <cvar> <value>")),
    }
}

fn cmd_get(console: &Console, args: &[String]) -> Result<()> {
    match args {
        [name] => console.print_cvar(name),
        _ => Err(usage("get", "get <cvar>")),
    }
}

fn cmd_reset(console: &Console, args: &[String]) -> Result<()> {
    match args {
        [name] => console.cvars.reset(name).map(drop),
        _ => Err(usage("reset", "reset <cvar>")),
    }
}

fn cmd_toggle(console: &Console, args: &[String]) -> Result<()> {
    let [name] = args else {
        return Err(usage("toggle", "toggle <cvar>"));
    };
    match console.cvars.value(name)? {
        CVarValue::Bool(b) => console
            .cvars
            .set_from_string(name, if b { "false" } else { "true" })
            .map(drop),
        other => Err(Error::Command {
            command: "toggle".into(),
            message: format!("'{name}' is {}, toggle needs a bool cvar", other.kind()),
        }),
    }
}

fn cmd_cvarlist(console: &Console, args: &[String]) -> Result<()> {
    let prefix = match args {
        [] => "",
        [prefix] => prefix.as_str(),
        _ => return Err(usage("cvarlist", "cvarlist [prefix]")),
    };
    let list = console.cvars.list(prefix);
    for info in &list {
        let flags = info.flags.names();
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", flags.join(", "))
        };
        let help = if info.help.is_empty() {
            String::new()
        } else {
            format!(" - {}", info.help)
        };
        console.print(&format!(
            "{} = {} ({}, default {}){flags}{help}",
            info.name, info.value, info.kind, info.default
        ));
    }
    console.print(&format!("{} cvars", list.len()));
    Ok(())
}

fn cmd_help(console: &Console, args: &[String]) -> Result<()> {
    match args {
        [] => {
            // Every command by name: a registered command's help may not
            // start with its name.
            for info in console.commands() {
                if info.help.starts_with(&info.name) {
                    console.print(&info.help);
                } else {
                    console.print(&format!("{}: {}", info.name, info.help));
                }
            }
            Ok(())
        }
        [name] => {
            let help = console
                .commands
                .read()
                .get(name.as_str())
                .map(|c| c.help.clone());
            if let Some(help) = help {
                if help.starts_with(name.as_str()) {
                    console.print(&help);
                } else {
                    console.print(&format!("{name}: {help}"));
                }
                return Ok(());
            }
            if let Some(info) = console.cvars.info(name) {
                let range = match (info.min, info.max) {
                    (None, None) => String::new(),
                    (min, max) => format!(
                        ", range {}..{}",
                        min.unwrap_or(f64::NEG_INFINITY),
                        max.unwrap_or(f64::INFINITY)
                    ),
                };
                console.print(&format!(
                    "{} ({}, default {}{range}): {}",
                    info.name, info.kind, info.default, info.help
                ));
                return Ok(());
            }
            Err(console.unknown_command(name))
        }
        _ => Err(usage("help", "help [command|cvar]")),
    }
}

fn cmd_echo(console: &Console, args: &[String]) -> Result<()> {
    console.print(&args.join(" "));
    Ok(())
}

fn cmd_quit(console: &Console, _args: &[String]) -> Result<()> {
    console.request_quit();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CVarDef;

    #[test]
    fn a_command_s_help_can_change_and_its_handler_stays() {
        let console = Console::new(Arc::new(CVarRegistry::new()));
        console
            .register_command("ping", "ping: old", |c, _| {
                c.print("pong");
                Ok(())
            })
            .unwrap();
        console.set_help("ping", "ping: new words").unwrap();
        console.execute("help ping; ping").unwrap();
        let history = console.history();
        assert_eq!(history[history.len() - 2..], ["ping: new words", "pong"]);
        assert!(
            console
                .set_help("pnig", "x")
                .unwrap_err()
                .to_string()
                .contains("ping")
        );
    }

    #[test]
    fn an_unfinished_multiline_command_is_incomplete() {
        let console = Console::new(Arc::new(CVarRegistry::new()));
        console
            .register_multiline_command(
                "block",
                "block <text>: braces must balance",
                |text| text.matches('{').count() > text.matches('}').count(),
                |_, _| Ok(()),
            )
            .unwrap();
        assert!(console.is_incomplete("block x = {"));
        assert!(console.is_incomplete("echo a; block {\n{}"));
        assert!(!console.is_incomplete("block x = {\n}"));
        assert!(!console.is_incomplete("echo {"));
        assert!(!console.is_incomplete(""));
    }

    #[test]
    fn output_goes_to_the_host_when_it_sets_one_and_help_names_every_command() {
        let console = Console::new(Arc::new(CVarRegistry::new()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        console.set_output(Some(Arc::new(move |line: &[u8]| {
            let line = String::from_utf8_lossy(line);
            sink.lock()
                .push(line.strip_suffix('\n').unwrap_or(&line).to_owned())
        })));
        console
            .register_command("spawn_crate", "Spawns a crate", |_, _| Ok(()))
            .unwrap();
        console.execute("echo hi; help").unwrap();
        let seen = seen.lock();
        assert_eq!(seen[0], "hi");
        assert!(
            seen.iter().any(|l| l == "spawn_crate: Spawns a crate"),
            "{seen:?}"
        );
        assert!(seen.iter().any(|l| l.starts_with("quit")), "{seen:?}");
    }

    static_assertions::assert_impl_all!(Console: Send, Sync);

    fn console() -> Console {
        let cvars = Arc::new(CVarRegistry::new());
        cvars
            .register(CVarDef::new("r_fov", 75.0).help("Field of view"))
            .unwrap();
        cvars.register(CVarDef::new("r_vsync", true)).unwrap();
        cvars.register(CVarDef::new("name", "player")).unwrap();
        Console::new(cvars)
    }

    #[test]
    fn set_get_reset_toggle_and_bare_names() {
        let c = console();
        c.execute("set r_fov 90; get r_fov; r_fov; name \"Big Bob\"; name")
            .unwrap();
        assert_eq!(
            c.history(),
            ["r_fov = 90.0", "r_fov = 90.0", "name = Big Bob"]
        );
        c.execute("reset r_fov; toggle r_vsync").unwrap();
        assert_eq!(c.cvars().get_as_string("r_fov").as_deref(), Some("75.0"));
        assert_eq!(c.cvars().get_bool("r_vsync"), Some(false));
        assert!(c.execute("toggle r_fov").is_err());
    }

    #[test]
    fn execution_stops_at_the_first_error() {
        let c = console();
        let err = c.execute("echo one; set r_fov nope; echo two").unwrap_err();
        assert!(matches!(err, Error::InvalidValue { .. }));
        assert_eq!(c.history(), ["one"]);
    }

    #[test]
    fn unknown_commands_suggest_near_names() {
        let c = console();
        let err = c.execute("cvarlst").unwrap_err();
        assert!(
            matches!(&err, Error::UnknownCommand { suggestions, .. } if suggestions[0] == "cvarlist"),
            "{err}"
        );
        let err = c.execute("r_fob 3").unwrap_err();
        assert!(err.to_string().contains("r_fov"), "{err}");
    }

    #[test]
    fn registered_commands_get_their_arguments_and_can_nest() {
        let c = console();
        c.register_command("greet", "greet <who>", |console, args| {
            console.execute(&format!("echo hello {}", args.join(" ")))
        })
        .unwrap();
        c.execute("greet \"the world\"").unwrap();
        assert_eq!(c.history(), ["hello the world"]);
        assert!(matches!(
            c.register_command("set", "", |_, _| Ok(())),
            Err(Error::BuiltinCommand { .. })
        ));
        assert!(c.register_command("r_fov", "", |_, _| Ok(())).is_err());
        assert!(c.unregister_command("greet").unwrap());
        assert!(c.execute("greet x").is_err());
    }

    #[test]
    fn a_multiline_command_takes_lines_while_its_argument_is_incomplete() {
        let c = console();
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        c.register_multiline_command(
            "block",
            "block <text>",
            // Incomplete while a '{' is open.
            |text| text.matches('{').count() > text.matches('}').count(),
            move |_, args| {
                seen.lock().push(args.join("|"));
                Ok(())
            },
        )
        .unwrap();
        c.execute("block a {\n b;\n}\necho next\nblock c").unwrap();
        assert_eq!(*got.lock(), ["a {\n b;\n}", "c"]);
        assert_eq!(c.origin(), None);
        c.register_command("where", "where", |console, _| {
            assert_eq!(console.origin().as_deref(), Some("x.lua:3"));
            Ok(())
        })
        .unwrap();
        c.execute_from("where", "x.lua:3").unwrap();
        assert_eq!(c.origin(), None);
    }

    #[test]
    fn rest_of_line_commands_get_the_raw_text() {
        let c = console();
        c.register_rest_of_line_command("say", "say <text>", |console, args| {
            console.print(&format!("[{}]", args.join("|")));
            Ok(())
        })
        .unwrap();
        c.execute("say a; b \"c\"\necho d").unwrap();
        assert_eq!(c.history(), ["[a; b \"c\"]", "d"]);
    }

    #[test]
    fn history_is_a_ring() {
        let cvars = Arc::new(CVarRegistry::new());
        let c = Console::with_history(cvars, 3);
        for i in 0..5 {
            c.print(&format!("line {i}"));
        }
        assert_eq!(c.history(), ["line 2", "line 3", "line 4"]);
    }

    #[test]
    fn cvarlist_help_and_quit() {
        let c = console();
        c.execute("cvarlist r_").unwrap();
        let h = c.history();
        assert_eq!(h.len(), 3);
        assert!(h[0].starts_with("r_fov = 75.0 (float, default 75.0) - Field of view"));
        assert_eq!(h[2], "2 cvars");
        c.clear_history();
        c.execute("help r_fov; help echo").unwrap();
        assert_eq!(
            c.history(),
            [
                "r_fov (float, default 75.0): Field of view",
                "echo <text>: prints its arguments"
            ]
        );
        assert!(!c.quit_requested());
        c.execute("quit").unwrap();
        assert!(c.quit_requested());
    }

    #[test]
    fn file_text_runs_every_line_and_reports_failures_with_lines() {
        let c = console();
        let err = c
            .execute_script_text("echo a\nbogus\nset r_fov 80\n", "autoexec.cfg")
            .unwrap_err();
        assert!(err.to_string().contains("autoexec.cfg:2:"), "{err}");
        assert_eq!(c.cvars().get_as_string("r_fov").as_deref(), Some("80.0"));
    }

    #[test]
    fn check_validates_without_running() {
        let c = console();
        c.check("set r_fov 80; echo x").unwrap();
        assert!(c.check("set r_fov abc").is_err());
        assert!(c.check("nosuch").is_err());
        assert!(c.check("r_fov 999x").is_err());
        assert_eq!(c.cvars().get_as_string("r_fov").as_deref(), Some("75.0"));
        assert!(c.history().is_empty());
    }
}
