//! `zephyr run`'s side of a debugging session (`--debug-connect`, given by
//! `zephyr dap`): it connects back to the adapter, answers the requests
//! that need the run (breakpoints, threads, the stack and variables of a
//! stopped thread, evaluation, stepping), and sends `stopped` and logpoints'
//! `output` events. The run starts once the editor has sent
//! `configurationDone`, so breakpoints set before are in place for the
//! first line.

use std::collections::HashMap;
use std::io::{BufReader, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use parking_lot::{Condvar, Mutex};
use serde_json::{Value, json};
use zephyr_lua::debugger::{Breakpoint, Controller, Debugger, Resume, Stop, StopReason};
use zephyr_world::{EntityId, SharedWorld};

use super::lines;
use super::wire::{self, Outbox};
use crate::error::{Error, Result};

/// A run being debugged.
pub(crate) struct Debuggee {
    debugger: Debugger,
    shared: Arc<Shared>,
}

struct Shared {
    adapter: Outbox,
    /// Folders chunk names are relative to (the working directory, the
    /// program's folder, the roots), for breakpoints set by path.
    folders: Vec<PathBuf>,
    configured: Mutex<bool>,
    configured_signal: Condvar,
    /// The stopped thread's requests, while one is stopped.
    stopped: Mutex<Option<Sender<Value>>>,
    /// Thread ids for the protocol: the main thread is 1.
    threads: Mutex<HashMap<std::thread::ThreadId, (u64, String)>>,
    world: Mutex<Option<SharedWorld>>,
    /// The debug console's lines typed while the run is running (`evaluate`
    /// in the `repl` context), for the run loop to run between frames.
    console: Mutex<Vec<Value>>,
}

impl Debuggee {
    /// Connects to the adapter at `address` and proves it with the token the
    /// adapter put in the environment.
    pub(crate) fn connect(
        address: &str,
        stop_on_entry: bool,
        folders: Vec<PathBuf>,
    ) -> Result<Self> {
        let socket = TcpStream::connect(address)
            .map_err(|e| Error::Usage(format!("--debug-connect {address}: {e}")))?;
        let reader = socket
            .try_clone()
            .map_err(|e| Error::Usage(format!("--debug-connect {address}: {e}")))?;
        let token = std::env::var(super::TOKEN_VARIABLE).unwrap_or_default();
        let mut writer = socket;
        wire::write(&mut writer, &json!({ "type": "hello", "token": token }))
            .map_err(|e| Error::Usage(format!("--debug-connect {address}: {e}")))?;
        let mut threads = HashMap::new();
        threads.insert(std::thread::current().id(), (1, "main".to_owned()));
        let shared = Arc::new(Shared {
            adapter: Outbox::new(writer),
            folders,
            configured: Mutex::new(false),
            configured_signal: Condvar::new(),
            stopped: Mutex::new(None),
            threads: Mutex::new(threads),
            world: Mutex::new(None),
            console: Mutex::new(Vec::new()),
        });
        let resolver = shared.clone();
        let debugger = Debugger::new(shared.clone(), move |chunk| resolver.resolve(chunk));
        if stop_on_entry {
            debugger.stop_on_entry();
        }
        {
            let (shared, debugger) = (shared.clone(), debugger.clone());
            std::thread::Builder::new()
                .name("debug requests".into())
                .spawn(move || shared.serve(reader, &debugger))
                .map_err(|e| Error::Usage(format!("--debug-connect: {e}")))?;
        }
        Ok(Debuggee { debugger, shared })
    }

    /// Waits for the editor's `configurationDone` (or its going away).
    pub(crate) fn wait_configured(&self) {
        let mut configured = self.shared.configured.lock();
        while !*configured {
            self.shared.configured_signal.wait(&mut configured);
        }
    }

    /// The debugger for the run's states.
    pub(crate) fn debugger(&self) -> Debugger {
        self.debugger.clone()
    }

    /// The run's world, for naming entities in the stack.
    pub(crate) fn set_world(&self, world: SharedWorld) {
        *self.shared.world.lock() = Some(world);
    }

    /// The debug console's lines typed since the last call, each with the
    /// request to answer once it ran (see [`answer`](Self::answer)).
    pub(crate) fn console_lines(&self) -> Vec<(Value, String)> {
        std::mem::take(&mut *self.shared.console.lock())
            .into_iter()
            .map(|request| {
                let line = request["arguments"]["expression"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                (request, line)
            })
            .collect()
    }

    /// Answers a debug console line: what it printed or returned, or its
    /// error.
    pub(crate) fn answer(&self, request: &Value, result: std::result::Result<String, String>) {
        self.shared.adapter.respond(
            request,
            result.map(|text| json!({ "result": text, "variablesReference": 0 })),
        );
    }
}

impl Shared {
    /// The file a chunk was read from, as a canonical path (how the
    /// editor's paths and the debugger's breakpoints compare).
    fn resolve(&self, chunk: &str) -> Option<PathBuf> {
        let path = Path::new(chunk);
        let file = if path.is_absolute() {
            path.is_file().then(|| path.to_path_buf())
        } else {
            self.folders
                .iter()
                .map(|folder| folder.join(path))
                .find(|candidate| candidate.is_file())
        }?;
        Some(std::fs::canonicalize(&file).unwrap_or(file))
    }

    /// Answers the adapter's requests until it goes away.
    fn serve(&self, reader: TcpStream, debugger: &Debugger) {
        let mut reader = BufReader::new(reader);
        while let Ok(Some(request)) = wire::read(&mut reader) {
            self.request(&request, debugger);
        }
        // The editor is gone: nothing may wait for it any more.
        self.configure();
        if let Some(stopped) = self.stopped.lock().take() {
            let _ = stopped.send(json!({ "command": "continue", "seq": 0 }));
        }
    }

    fn configure(&self) {
        *self.configured.lock() = true;
        self.configured_signal.notify_all();
    }

    fn request(&self, request: &Value, debugger: &Debugger) {
        let arguments = &request["arguments"];
        let answer = match request["command"].as_str().unwrap_or_default() {
            "setBreakpoints" => Ok(self.set_breakpoints(arguments, debugger)),
            "setExceptionBreakpoints" => {
                let filters: Vec<&str> = arguments["filters"]
                    .as_array()
                    .map(|f| f.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                debugger.stop_on_errors(filters.contains(&"uncaught"), filters.contains(&"caught"));
                if !filters.is_empty() && !zephyr_lua::debugger::errors_supported() {
                    // Loud, not silent: a build whose Lua lacks the patch.
                    let message =
                        "this zephyr's Lua lacks vendor/lua-src's patch: it cannot stop on errors";
                    Ok(
                        json!({ "breakpoints": filters.iter().map(|_| json!({ "verified": false, "message": message })).collect::<Vec<_>>() }),
                    )
                } else {
                    Ok(json!({}))
                }
            }
            "configurationDone" => {
                self.configure();
                Ok(json!({}))
            }
            "threads" => {
                let mut threads: Vec<(u64, String)> =
                    self.threads.lock().values().cloned().collect();
                threads.sort();
                Ok(
                    json!({ "threads": threads.iter().map(|(id, name)| json!({ "id": id, "name": name })).collect::<Vec<_>>() }),
                )
            }
            "pause" => {
                debugger.pause();
                Ok(json!({}))
            }
            "stackTrace" | "scopes" | "variables" | "setVariable" | "evaluate" | "continue"
            | "next" | "stepIn" | "stepOut" | "exceptionInfo" => {
                let stopped = self.stopped.lock();
                match &*stopped {
                    Some(inbox) => {
                        let _ = inbox.send(request.clone());
                        return;
                    }
                    None if request["command"] == "continue" => Ok(json!({})),
                    // The debug console while the game runs: the run loop
                    // takes the line between frames, as the live console's.
                    None if request["command"] == "evaluate"
                        && request["arguments"]["context"] == "repl" =>
                    {
                        self.console.lock().push(request.clone());
                        return;
                    }
                    None => Err("the program is running (pause it first)".to_owned()),
                }
            }
            other => Err(format!("{other}: not supported")),
        };
        self.adapter.respond(request, answer);
    }

    /// Sets one file's breakpoints, each moved to the line with code at or
    /// after the one asked for.
    fn set_breakpoints(&self, arguments: &Value, debugger: &Debugger) -> Value {
        let path = PathBuf::from(arguments["source"]["path"].as_str().unwrap_or_default());
        let asked = arguments["breakpoints"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let code = std::fs::read(&path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|bytes| lines::code_lines(&String::from_utf8_lossy(&bytes)));
        let mut set = Vec::new();
        let answers: Vec<Value> = asked
            .iter()
            .map(|b| {
                let line = b["line"].as_u64().unwrap_or(0) as u32;
                let placed = match &code {
                    Ok(code) => lines::place(code, line)
                        .ok_or_else(|| format!("no code at or after line {line}")),
                    Err(why) => Err(why.clone()),
                };
                match placed {
                    Ok(at) => {
                        let text = |key: &str| {
                            b[key]
                                .as_str()
                                .filter(|s| !s.trim().is_empty())
                                .map(str::to_owned)
                        };
                        set.push(Breakpoint {
                            line: at,
                            condition: text("condition"),
                            hit_condition: text("hitCondition"),
                            log_message: text("logMessage"),
                        });
                        json!({ "verified": true, "line": at })
                    }
                    Err(message) => json!({ "verified": false, "line": line, "message": message }),
                }
            })
            .collect();
        debugger.set_breakpoints(&path, set);
        json!({ "breakpoints": answers })
    }

    /// The protocol's id of the calling thread (the main thread is 1).
    fn thread_id(&self) -> u64 {
        let mut threads = self.threads.lock();
        let next = threads.len() as u64 + 1;
        let current = std::thread::current();
        threads
            .entry(current.id())
            .or_insert_with(|| (next, current.name().unwrap_or("worker").to_owned()))
            .0
    }

    /// A frame's name as the editor shows it: as Lua names it, or as its
    /// definition does (`function on_update(self, dt)`: the engine calls
    /// callbacks from Rust, where Lua knows no name), and a behaviour's
    /// callback with its entity (`on_update (Player)`).
    fn frame_name(
        &self,
        stop: &Stop<'_>,
        index: usize,
        frame: &zephyr_lua::debugger::Frame,
    ) -> String {
        // The definition's line is read only when Lua has no name.
        let name = frame
            .name
            .clone()
            .or_else(|| {
                let (line, path) = frame.defined.zip(self.resolve(&frame.source))?;
                defined_name(&path, line)
            })
            .unwrap_or_else(|| "function".into());
        if name.starts_with("on_")
            && let Some(zephyr_lua::ScriptValue::Integer(id)) = stop.local(index, "self")
            && let Some(entity) = EntityId::from_lua(id)
            && let Some(world) = self.world.lock().as_ref()
            && let Some(world) = world.try_read()
        {
            let label = match world.name(entity) {
                Ok(Some(entity_name)) => entity_name,
                _ => world.label(entity),
            };
            return format!("{name} ({label})");
        }
        name
    }

    /// One request to the stopped thread: its answer, or how it goes on.
    fn stopped_request(&self, stop: &mut Stop<'_>, request: &Value) -> Option<Resume> {
        let arguments = &request["arguments"];
        let answer = match request["command"].as_str().unwrap_or_default() {
            "continue" => return self.resume(request, Resume::Continue),
            "next" => return self.resume(request, Resume::StepOver),
            "stepIn" => return self.resume(request, Resume::StepIn),
            "stepOut" => return self.resume(request, Resume::StepOut),
            "stackTrace" => {
                let frames = stop.frames();
                let shown: Vec<Value> = frames
                    .iter()
                    .enumerate()
                    .map(|(index, frame)| {
                        let mut shown = json!({
                            "id": index + 1,
                            "name": if frame.native {
                                format!("[C] {}", frame.name.as_deref().unwrap_or("function"))
                            } else {
                                self.frame_name(stop, index, frame)
                            },
                            "line": frame.line.unwrap_or(0),
                            "column": if frame.native { 0 } else { 1 },
                        });
                        if !frame.native {
                            let mut source = json!({ "name": frame.source });
                            if let Some(path) = self.resolve(&frame.source) {
                                source["path"] = json!(path.display().to_string());
                            } else {
                                source["presentationHint"] = json!("deemphasize");
                            }
                            shown["source"] = source;
                        } else {
                            shown["presentationHint"] = json!("subtle");
                        }
                        shown
                    })
                    .collect();
                Ok(json!({ "stackFrames": shown, "totalFrames": frames.len() }))
            }
            "scopes" => {
                let frame = frame_index(arguments["frameId"].as_u64());
                let scopes: Vec<Value> = stop
                    .scopes(frame)
                    .into_iter()
                    .map(|scope| {
                        json!({
                            "name": scope.name,
                            "variablesReference": scope.reference,
                            "namedVariables": scope.count,
                            "expensive": false,
                            "presentationHint": if scope.name == "Locals" { "locals" } else { "" },
                        })
                    })
                    .collect();
                Ok(json!({ "scopes": scopes }))
            }
            "variables" => {
                let variables: Vec<Value> = stop
                    .variables(arguments["variablesReference"].as_u64().unwrap_or(0))
                    .into_iter()
                    .map(|v| {
                        json!({
                            "name": v.name,
                            "value": v.value,
                            "type": v.kind,
                            "variablesReference": v.reference,
                        })
                    })
                    .collect();
                Ok(json!({ "variables": variables }))
            }
            "setVariable" => stop
                .set_variable(
                    arguments["variablesReference"].as_u64().unwrap_or(0),
                    arguments["name"].as_str().unwrap_or_default(),
                    arguments["value"].as_str().unwrap_or_default(),
                )
                .map(|v| {
                    json!({
                        "value": v.value,
                        "type": v.kind,
                        "variablesReference": v.reference,
                    })
                }),
            "evaluate" => {
                let frame = frame_index(arguments["frameId"].as_u64());
                let expression = arguments["expression"].as_str().unwrap_or_default();
                stop.evaluate(frame, expression).map(|v| {
                    json!({
                        "result": v.value,
                        "type": v.kind,
                        "variablesReference": v.reference,
                    })
                })
            }
            "exceptionInfo" => match stop.reason() {
                StopReason::Exception(message) => Ok(json!({
                    "exceptionId": "error",
                    "description": message,
                    "breakMode": "always",
                })),
                _ => Err("the thread did not stop for an error".to_owned()),
            },
            other => Err(format!("{other}: not supported while stopped")),
        };
        self.adapter.respond(request, answer);
        None
    }

    fn resume(&self, request: &Value, resume: Resume) -> Option<Resume> {
        if request["seq"] != 0 {
            let body = if resume == Resume::Continue {
                json!({ "allThreadsContinued": true })
            } else {
                json!({})
            };
            self.adapter.respond(request, Ok(body));
        }
        Some(resume)
    }
}

/// The name a function's definition on `line` of `path` gives it
/// (`function on_update(`, `local function step(`, `function M.move(`).
fn defined_name(path: &Path, line: u32) -> Option<String> {
    let text = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&text);
    let source_line = text.lines().nth(line.checked_sub(1)? as usize)?;
    let after = &source_line[source_line.find("function")? + "function".len()..];
    let name: String = after
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ':'))
        .collect();
    let name = name
        .rsplit(['.', ':'])
        .next()
        .unwrap_or_default()
        .to_owned();
    (!name.is_empty()).then_some(name)
}

/// A frame id of ours (1-based index) as the stack index.
fn frame_index(id: Option<u64>) -> usize {
    id.unwrap_or(1).saturating_sub(1) as usize
}

impl Controller for Shared {
    fn stopped(&self, stop: &mut Stop<'_>) -> Resume {
        let (inbox, requests): (Sender<Value>, Receiver<Value>) = channel();
        let thread = self.thread_id();
        // What the run printed before the stop reaches the editor first.
        let _ = std::io::stdout().flush();
        *self.stopped.lock() = Some(inbox);
        let (reason, description, text) = match stop.reason() {
            StopReason::Entry => ("entry", None, None),
            StopReason::Breakpoint(_) => ("breakpoint", None, None),
            StopReason::Step => ("step", None, None),
            StopReason::Pause => ("pause", None, None),
            StopReason::Exception(message) => (
                "exception",
                Some("Paused on an error"),
                Some(message.clone()),
            ),
        };
        let mut body = json!({ "reason": reason, "threadId": thread, "allThreadsStopped": true });
        if let Some(description) = description {
            body["description"] = json!(description);
        }
        if let Some(text) = text {
            body["text"] = json!(text);
        }
        self.adapter.event("stopped", body);
        let resume = loop {
            let Ok(request) = requests.recv() else {
                break Resume::Continue;
            };
            if let Some(resume) = self.stopped_request(stop, &request) {
                break resume;
            }
        };
        *self.stopped.lock() = None;
        resume
    }

    fn log(&self, message: &str, place: &str) {
        let mut body = json!({ "category": "console", "output": format!("{message}\n") });
        // Where the logpoint is, for the editor to link the line to.
        if let Some((chunk, line)) = place.rsplit_once(':')
            && let Some(path) = self.resolve(chunk)
        {
            body["source"] = json!({ "path": path.display().to_string() });
            body["line"] = json!(line.parse::<u64>().unwrap_or(0));
        }
        self.adapter.event("output", body);
    }
}
