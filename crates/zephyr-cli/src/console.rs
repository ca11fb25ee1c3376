//! The live console of a running `zephyr run` or `zephyr console`.
//!
//! A thread reads lines from stdin and hands them to the game loop, which
//! runs them between frames on the main thread ([`LiveConsole::take_lines`]).
//! On a terminal the lines are edited with rustyline: history in
//! `~/.zephyr_history`, Tab completion of command names, cvar names and
//! values and, after `lua` or `=`, of the Lua API's names; an unfinished
//! Lua chunk continues on the next line. From a pipe or a file, lines are
//! read plainly (so tests and tools can drive a run), and an unfinished
//! chunk takes the following lines the same way.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, RwLock};

use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use zephyr_runtime::cvar::{CVarKind, Console};

/// Prints above the prompt while a line is being edited.
type Printer = Box<dyn rustyline::ExternalPrinter + Send>;

/// The line editor's printer, while one edits lines: output printed
/// meanwhile goes above the prompt instead of through it.
static PRINTER: Mutex<Option<Printer>> = Mutex::new(None);

/// Output written while the line editor is active, waiting for the end of
/// its line (the editor prints whole lines above the prompt).
static PARTIAL: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Writes the run's output on stdout, byte for byte (above the console's
/// prompt, as whole lines, when one is being edited).
pub(crate) fn write_output(bytes: &[u8]) {
    if let Ok(mut printer) = PRINTER.lock()
        && let Some(printer) = printer.as_mut()
    {
        let mut partial = PARTIAL.lock().unwrap_or_else(|e| e.into_inner());
        partial.extend_from_slice(bytes);
        if let Some(end) = partial.iter().rposition(|&b| b == b'\n') {
            let lines: Vec<u8> = partial.drain(..=end).collect();
            if printer
                .print(String::from_utf8_lossy(&lines).into_owned())
                .is_ok()
            {
                return;
            }
            let mut out = std::io::stdout().lock();
            let _ = std::io::Write::write_all(&mut out, &lines);
        }
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = std::io::Write::write_all(&mut out, bytes);
}

/// How the console reads stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Line editing, history and completion (stdin is a terminal).
    Terminal,
    /// Plain lines (a pipe or a file).
    Lines,
}

impl Reading {
    /// How to read this process's stdin; `None` for a run in the
    /// background of a terminal (`zephyr run ... &`), which would be
    /// stopped by the terminal (SIGTTIN) the moment it read a line.
    pub(crate) fn of_stdin() -> Option<Self> {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Some(Reading::Lines);
        }
        #[cfg(unix)]
        {
            let foreground = nix::unistd::tcgetpgrp(std::io::stdin());
            if foreground.is_ok_and(|group| group != nix::unistd::getpgrp()) {
                return None;
            }
        }
        Some(Reading::Terminal)
    }
}

/// What Tab completes: refreshed by the game loop between frames.
#[derive(Debug, Default, Clone)]
pub(crate) struct Words {
    commands: Vec<String>,
    /// Each cvar with the values worth offering (its value, its default,
    /// `true`/`false` for a boolean).
    cvars: Vec<(String, Vec<String>)>,
    /// `zephyr.transform.get_position`, `cvar.get`, `Key.W`, ...
    lua: Vec<String>,
}

impl Words {
    /// The words of `console` and its cvars now.
    pub(crate) fn of(console: &Console) -> Self {
        let commands = console.commands().into_iter().map(|c| c.name).collect();
        let cvars = console
            .cvars()
            .list("")
            .into_iter()
            .map(|info| {
                let mut values = vec![info.value.to_string(), info.default.to_string()];
                if info.kind == CVarKind::Bool {
                    values = vec!["true".into(), "false".into()];
                }
                values.dedup();
                (info.name, values)
            })
            .collect();
        Words {
            commands,
            cvars,
            lua: lua_words(),
        }
    }
}

fn lua_words() -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for package in zephyr_runtime::api::builtin_packages() {
        words.push(format!("{}.", package.name));
        for f in &package.functions {
            words.push(f.path());
        }
        for c in &package.constants {
            words.push(format!("{}.{}", package.name, c.name));
        }
    }
    for name in [
        "zephyr.task.spawn",
        "zephyr.task.wait",
        "zephyr.task.wait_frames",
        "zephyr.task.delay",
        "zephyr.task.every",
        "zephyr.task.cancel",
        "zephyr.events.on",
        "zephyr.events.off",
    ] {
        words.push(name.to_owned());
    }
    words.sort();
    words.dedup();
    words
}

/// Candidates for the word that ends at `pos` in `line`: where it starts,
/// and the words that complete it.
pub(crate) fn complete(words: &Words, line: &str, pos: usize) -> (usize, Vec<String>) {
    let before = &line[..pos];
    let trimmed = before.trim_start();
    let lua = trimmed.starts_with('=') || trimmed.starts_with("lua ");
    let start = before
        .rfind(|c: char| {
            if lua {
                !(c.is_alphanumeric() || c == '_' || c == '.')
            } else {
                c.is_whitespace() || c == ';'
            }
        })
        .map_or(0, |i| {
            i + before[i..].chars().next().map_or(1, char::len_utf8)
        });
    let word = &before[start..];
    let starting = |list: &mut dyn Iterator<Item = &String>| -> Vec<String> {
        list.filter(|w| w.starts_with(word)).cloned().collect()
    };
    if lua {
        return (start, starting(&mut words.lua.iter()));
    }
    // Which word of the command this is.
    let command_start = before.rfind(';').map_or(0, |i| i + 1);
    let earlier: Vec<&str> = before[command_start..start].split_whitespace().collect();
    let cvar_names = || words.cvars.iter().map(|(name, _)| name);
    let mut found = match earlier.as_slice() {
        [] => {
            let mut all: Vec<String> = starting(&mut words.commands.iter());
            all.extend(starting(&mut cvar_names()));
            all
        }
        ["set" | "get" | "reset" | "toggle"] => starting(&mut cvar_names()),
        ["help"] => {
            let mut all = starting(&mut words.commands.iter());
            all.extend(starting(&mut cvar_names()));
            all
        }
        ["set", name] | [name] => match words.cvars.iter().find(|(n, _)| n == name) {
            Some((_, values)) => starting(&mut values.iter()),
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    found.sort();
    found.dedup();
    (start, found)
}

/// The rustyline helper: completion from [`Words`], and an unfinished Lua
/// chunk (after `lua` or `=`) continues on the next line.
struct Helper {
    words: Arc<RwLock<Words>>,
    console: Arc<Console>,
}

impl Completer for Helper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let words = self.words.read().map(|w| w.clone()).unwrap_or_default();
        Ok(complete(&words, line, pos))
    }
}

impl Hinter for Helper {
    type Hint = String;
}

impl Highlighter for Helper {}

impl Validator for Helper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if is_incomplete(&self.console, ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

impl rustyline::Helper for Helper {}

/// Whether `text` is a Lua chunk (`lua ...` or `= ...`) that needs more
/// lines.
pub(crate) fn is_incomplete(console: &Console, text: &str) -> bool {
    match text.trim_start().strip_prefix('=') {
        Some(expr) => console.is_incomplete(&format!("lua return {expr}")),
        None => console.is_incomplete(text),
    }
}

/// The reading thread and what it has read.
pub(crate) struct LiveConsole {
    lines: Receiver<String>,
    words: Arc<RwLock<Words>>,
    /// The terminal's settings before line editing changed them, put back
    /// when the run ends while a line is being read.
    #[cfg(unix)]
    terminal: Option<nix::sys::termios::Termios>,
}

impl std::fmt::Debug for LiveConsole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveConsole").finish_non_exhaustive()
    }
}

impl LiveConsole {
    /// Starts reading stdin on its own thread.
    pub(crate) fn start(reading: Reading, console: Arc<Console>) -> Self {
        let words = Arc::new(RwLock::new(Words::of(&console)));
        let (tx, lines) = std::sync::mpsc::channel();
        #[cfg(unix)]
        let terminal = match reading {
            Reading::Terminal => nix::sys::termios::tcgetattr(std::io::stdin()).ok(),
            Reading::Lines => None,
        };
        let helper = Helper {
            words: words.clone(),
            console,
        };
        let spawned = std::thread::Builder::new()
            .name("zephyr-console".into())
            .spawn(move || match reading {
                Reading::Terminal => read_terminal(helper, &tx),
                Reading::Lines => read_lines(&helper.console, &tx),
            });
        if let Err(e) = spawned {
            tracing::warn!("the console cannot read input: {e}");
        }
        LiveConsole {
            lines,
            words,
            #[cfg(unix)]
            terminal,
        }
    }

    /// The lines read since the last call (each a whole command, a
    /// multi-line chunk in one piece), and whether input has ended.
    pub(crate) fn take_lines(&self) -> (Vec<String>, bool) {
        let mut lines = Vec::new();
        loop {
            match self.lines.try_recv() {
                Ok(line) => lines.push(line),
                Err(std::sync::mpsc::TryRecvError::Empty) => return (lines, false),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return (lines, true),
            }
        }
    }

    /// Refreshes what Tab completes (cvars and commands come and go).
    pub(crate) fn refresh(&self, console: &Console) {
        if let Ok(mut words) = self.words.write() {
            *words = Words::of(console);
        }
    }
}

impl Drop for LiveConsole {
    fn drop(&mut self) {
        if let Ok(mut printer) = PRINTER.lock() {
            *printer = None;
        }
        #[cfg(unix)]
        if let Some(saved) = &self.terminal {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                saved,
            );
        }
    }
}

fn history_file() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".zephyr_history"))
}

fn read_terminal(helper: Helper, tx: &Sender<String>) {
    let config = rustyline::Config::builder()
        .auto_add_history(true)
        .max_history_size(1000)
        .map(rustyline::config::Builder::build)
        .unwrap_or_default();
    let mut editor = match rustyline::Editor::<Helper, _>::with_config(config) {
        Ok(editor) => editor,
        Err(e) => {
            tracing::warn!("the console cannot edit lines ({e}); reading them plainly");
            return read_lines(&helper.console, tx);
        }
    };
    editor.set_helper(Some(helper));
    if let (Ok(printer), Ok(mut slot)) = (editor.create_external_printer(), PRINTER.lock()) {
        *slot = Some(Box::new(printer));
    }
    let history = history_file();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    loop {
        match editor.readline("] ") {
            Ok(line) => {
                let quit = line.trim() == "quit";
                if let Some(path) = &history {
                    let _ = editor.save_history(path);
                }
                if tx.send(line).is_err() || quit {
                    return;
                }
            }
            // Ctrl-C and Ctrl-D end the run, as they would without a console.
            Err(
                rustyline::error::ReadlineError::Interrupted | rustyline::error::ReadlineError::Eof,
            ) => {
                let _ = tx.send("quit".into());
                return;
            }
            Err(e) => {
                tracing::warn!("the console stopped reading: {e}");
                return;
            }
        }
    }
}

/// Joins lines into whole commands: an unfinished Lua chunk (after `lua`
/// or `=`) takes the following lines, as Lua's own REPL does.
#[derive(Debug, Default)]
pub(crate) struct Commands {
    pending: String,
    first_line: usize,
    lines: usize,
}

impl Commands {
    /// Adds a line; a command once it is complete, with the number of its
    /// first line (from 1).
    pub(crate) fn push(&mut self, console: &Console, line: &str) -> Option<(usize, String)> {
        self.lines += 1;
        if self.pending.is_empty() {
            self.first_line = self.lines;
        } else {
            self.pending.push('\n');
        }
        self.pending.push_str(line);
        (!is_incomplete(console, &self.pending))
            .then(|| (self.first_line, std::mem::take(&mut self.pending)))
    }

    /// What is left when the input ends (an unfinished chunk, run as it is
    /// so that its error is told).
    pub(crate) fn finish(self) -> Option<(usize, String)> {
        (!self.pending.is_empty()).then_some((self.first_line, self.pending))
    }
}

fn read_lines(console: &Console, tx: &Sender<String>) {
    let stdin = std::io::stdin();
    let mut commands = Commands::default();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return };
        if let Some((_, command)) = commands.push(console, &line)
            && tx.send(command).is_err()
        {
            return;
        }
    }
    if let Some((_, command)) = commands.finish() {
        let _ = tx.send(command);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Words {
        Words {
            commands: vec![
                "cvarlist".into(),
                "echo".into(),
                "set".into(),
                "quit".into(),
            ],
            cvars: vec![
                ("sv_cheats".into(), vec!["true".into(), "false".into()]),
                ("phys_gravity".into(), vec!["-9.81".into()]),
            ],
            lua: lua_words(),
        }
    }

    #[test]
    fn an_unfinished_chunk_takes_the_following_lines() {
        let cvars = std::sync::Arc::new(zephyr_runtime::cvar::CVarRegistry::new());
        let console = Console::new(cvars);
        console
            .register_multiline_command(
                "lua",
                "lua <code>",
                |code| code.matches("do").count() > code.matches("end").count(),
                |_, _| Ok(()),
            )
            .unwrap();
        let mut commands = Commands::default();
        let lines = [
            "echo a",
            "lua for i = 1, 2 do",
            "print(i)",
            "end",
            "echo b",
            "lua do",
        ];
        let complete: Vec<_> = lines
            .iter()
            .filter_map(|line| commands.push(&console, line))
            .collect();
        assert_eq!(
            complete,
            [
                (1, "echo a".to_owned()),
                (2, "lua for i = 1, 2 do\nprint(i)\nend".to_owned()),
                (5, "echo b".to_owned()),
            ]
        );
        assert_eq!(commands.finish(), Some((6, "lua do".to_owned())));
    }

    #[test]
    fn tab_completes_commands_cvars_values_and_api_names() {
        let w = words();
        assert_eq!(complete(&w, "cv", 2), (0, vec!["cvarlist".to_owned()]));
        assert_eq!(
            complete(&w, "set ph", 6),
            (4, vec!["phys_gravity".to_owned()])
        );
        assert_eq!(
            complete(&w, "set sv_cheats t", 15),
            (14, vec!["true".to_owned()])
        );
        assert_eq!(complete(&w, "sv_cheats f", 11).1, vec!["false".to_owned()]);
        let (start, found) = complete(&w, "lua zephyr.transform.get_p", 26);
        assert_eq!(start, 4);
        assert_eq!(found, vec!["zephyr.transform.get_position".to_owned()]);
        let (start, found) = complete(&w, "= Key.Spa", 9);
        assert_eq!((start, found), (2, vec!["Key.Space".to_owned()]));
        assert!(
            complete(&w, "echo x; qu", 10)
                .1
                .contains(&"quit".to_owned())
        );
    }
}
