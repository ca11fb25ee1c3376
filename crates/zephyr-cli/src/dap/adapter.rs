//! `zephyr dap`'s editor side: the Debug Adapter Protocol on stdin and
//! stdout. It answers `initialize`, starts the program on `launch` (a
//! `zephyr run` child process, which connects back over a local socket and
//! answers the debugging requests itself), relays every other request to it
//! and its messages back, sends the run's stdout and stderr as `output`
//! events, and `exited` (with the run's exit status) and `terminated` when
//! the run ends.

use std::io::{BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{Value, json};

use super::wire::{self, Outbox};
use crate::error::{Error, Result};

/// How long a launched run has to connect back.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// What the adapter tells the editor it can do.
fn capabilities() -> Value {
    json!({
        "supportsConfigurationDoneRequest": true,
        "supportsConditionalBreakpoints": true,
        "supportsHitConditionalBreakpoints": true,
        "supportsLogPoints": true,
        "supportsEvaluateForHovers": true,
        "supportsSetVariable": true,
        "supportsTerminateRequest": true,
        "supportsExceptionInfoRequest": true,
        "exceptionBreakpointFilters": super::EXCEPTION_FILTERS.iter().map(|(filter, label, default)| json!({
            "filter": filter, "label": label, "default": default,
        })).collect::<Vec<_>>(),
    })
}

/// Serves one debugging session on stdin and stdout, until the editor
/// disconnects or its input ends.
pub(crate) fn serve() -> Result<()> {
    let client = Arc::new(Outbox::new(std::io::stdout()));
    let mut input = BufReader::new(std::io::stdin());
    let mut run: Option<Run> = None;
    loop {
        let request = match wire::read(&mut input) {
            Ok(Some(request)) => request,
            Ok(None) => break,
            Err(e) => return Err(Error::Usage(format!("zephyr dap: bad input: {e}"))),
        };
        let command = request["command"].as_str().unwrap_or_default().to_owned();
        match command.as_str() {
            "initialize" => client.respond(&request, Ok(capabilities())),
            "launch" if run.is_some() => {
                client.respond(&request, Err("the program is already running".into()))
            }
            "launch" => match Run::launch(&request["arguments"], &client) {
                Ok(started) => {
                    run = Some(started);
                    client.respond(&request, Ok(json!({})));
                    client.event("initialized", json!({}));
                }
                Err(message) => client.respond(&request, Err(message)),
            },
            "disconnect" | "terminate" => {
                if let Some(run) = &run {
                    run.kill();
                }
                client.respond(&request, Ok(json!({})));
                if command == "disconnect" {
                    break;
                }
            }
            _ => match &run {
                Some(run) => run.forward(&request),
                None => client.respond(
                    &request,
                    Err(format!(
                        "{command}: no program is running (send launch first)"
                    )),
                ),
            },
        }
    }
    if let Some(run) = run {
        run.kill();
        run.wait();
    }
    Ok(())
}

/// A launched `zephyr run` and the threads that relay its messages.
struct Run {
    child: Arc<Mutex<Child>>,
    socket: Mutex<TcpStream>,
    relays: Vec<std::thread::JoinHandle<()>>,
}

impl Run {
    /// Starts the program the launch request names and waits for it to
    /// connect back; the failure's message (the run's own, when it ended
    /// first: a missing file, a bad scene) otherwise.
    fn launch(arguments: &Value, client: &Arc<Outbox>) -> std::result::Result<Run, String> {
        let program = arguments["program"]
            .as_str()
            .filter(|p| !p.is_empty())
            .ok_or("launch: `program` (a .lua script or a .toml scene) is required")?;
        let args: Vec<String> = match &arguments["args"] {
            Value::Null => Vec::new(),
            Value::Array(items) => items
                .iter()
                .map(|a| {
                    a.as_str()
                        .map(str::to_owned)
                        .ok_or("launch: `args` must be an array of strings")
                })
                .collect::<std::result::Result<_, _>>()?,
            _ => return Err("launch: `args` must be an array of strings".into()),
        };
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("launch: cannot open a local socket: {e}"))?;
        let address = listener
            .local_addr()
            .map_err(|e| format!("launch: {e}"))?
            .to_string();
        let token = token();
        let exe = std::env::current_exe().map_err(|e| format!("launch: {e}"))?;
        let mut command = Command::new(exe);
        command
            .arg("run")
            .arg(program)
            .args(&args)
            .arg("--no-console")
            .arg("--debug-connect")
            .arg(&address)
            .env(super::TOKEN_VARIABLE, &token)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if arguments["stopOnEntry"].as_bool() == Some(true) {
            command.arg("--debug-stop-on-entry");
        }
        if let Some(cwd) = arguments["cwd"].as_str().filter(|c| !c.is_empty()) {
            let cwd = PathBuf::from(cwd);
            if !cwd.is_dir() {
                return Err(format!("launch: cwd {}: not a folder", cwd.display()));
            }
            command.current_dir(cwd);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("launch: cannot start zephyr run: {e}"))?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let socket = match accept(&listener, &token, &mut child) {
            Ok(socket) => socket,
            Err(message) => {
                let mut text = String::new();
                if let Some(mut stderr) = stderr {
                    let _ = stderr.read_to_string(&mut text);
                }
                let _ = child.kill();
                let _ = child.wait();
                return Err(if text.trim().is_empty() {
                    message
                } else {
                    text.trim().to_owned()
                });
            }
        };
        let mut waits = Vec::new();
        for (pipe, category) in [
            (
                stdout.map(|p| Box::new(p) as Box<dyn Read + Send>),
                "stdout",
            ),
            (
                stderr.map(|p| Box::new(p) as Box<dyn Read + Send>),
                "stderr",
            ),
        ] {
            if let Some(pipe) = pipe {
                let client = client.clone();
                waits.push(std::thread::spawn(move || output(pipe, category, &client)));
            }
        }
        let reader = socket.try_clone().map_err(|e| format!("launch: {e}"))?;
        let messages = {
            let client = client.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(reader);
                while let Ok(Some(message)) = wire::read(&mut reader) {
                    client.send(message);
                }
            })
        };
        let child = Arc::new(Mutex::new(child));
        // The end: once the run's output and messages are all relayed, its
        // exit status, then the end of the session.
        let ending = {
            let (client, child) = (client.clone(), child.clone());
            waits.push(messages);
            std::thread::spawn(move || {
                for relay in waits {
                    let _ = relay.join();
                }
                let status = loop {
                    if let Ok(Some(status)) = child.lock().try_wait() {
                        break status;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                };
                client.event("exited", json!({ "exitCode": status.code().unwrap_or(-1) }));
                client.event("terminated", json!({}));
            })
        };
        Ok(Run {
            child,
            socket: Mutex::new(socket),
            relays: vec![ending],
        })
    }

    fn forward(&self, request: &Value) {
        let _ = wire::write(&mut *self.socket.lock(), request);
    }

    fn kill(&self) {
        let mut child = self.child.lock();
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
        }
    }

    fn wait(self) {
        for relay in self.relays {
            let _ = relay.join();
        }
    }
}

/// The run's connection, checked by its token; an error if the run ends
/// or does not connect in time.
fn accept(
    listener: &TcpListener,
    token: &str,
    child: &mut Child,
) -> std::result::Result<TcpStream, String> {
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("launch: {e}"))?;
    let started = Instant::now();
    loop {
        match listener.accept() {
            Ok((socket, _)) => {
                socket
                    .set_nonblocking(false)
                    .map_err(|e| format!("launch: {e}"))?;
                socket
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .map_err(|e| format!("launch: {e}"))?;
                let mut reader =
                    BufReader::new(socket.try_clone().map_err(|e| format!("launch: {e}"))?);
                let hello = wire::read(&mut reader).ok().flatten();
                if hello.as_ref().and_then(|h| h["token"].as_str()) == Some(token) {
                    socket
                        .set_read_timeout(None)
                        .map_err(|e| format!("launch: {e}"))?;
                    return Ok(socket);
                }
                // Not our run: keep waiting for it.
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(format!("launch: {e}")),
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("launch: zephyr run ended first ({status})"));
        }
        if started.elapsed() > CONNECT_TIMEOUT {
            return Err("launch: zephyr run did not connect back in time".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Relays a pipe of the run as `output` events of `category`.
fn output(mut pipe: Box<dyn Read + Send>, category: &str, client: &Outbox) {
    let mut buffer = [0u8; 8192];
    let mut pending = Vec::new();
    loop {
        let n = match pipe.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buffer[..n]);
        // Whole UTF-8 characters only; the rest waits for the next read.
        let valid = match std::str::from_utf8(&pending) {
            Ok(_) => pending.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => pending.len(),
        };
        let text = String::from_utf8_lossy(&pending[..valid]).into_owned();
        pending.drain(..valid);
        if !text.is_empty() {
            client.event("output", json!({ "category": category, "output": text }));
        }
    }
    if !pending.is_empty() {
        let text = String::from_utf8_lossy(&pending).into_owned();
        client.event("output", json!({ "category": category, "output": text }));
    }
}

/// A secret the run proves it is ours with (another local program could
/// connect to the socket first).
fn token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}
