//! A Debug Adapter Protocol client that drives `zephyr dap` over stdio the
//! way an editor does, for the binary's tests and the debugger's bench.
#![allow(dead_code)] // each user uses its own part

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long any one answer may take before the test fails (not hangs).
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// An editor's side of a session with `zephyr dap`.
pub(crate) struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    /// Events read while waiting for something else, in order.
    pub(crate) events: VecDeque<Value>,
    pub(crate) seq: u64,
}

impl Client {
    /// `zephyr dap` (the binary at `zephyr`) started in `dir`.
    pub(crate) fn start_with(zephyr: &Path, dir: &Path) -> Client {
        let mut child = Command::new(zephyr)
            .arg("dap")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("zephyr dap");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (send, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if send.send(message).is_err() {
                    break;
                }
            }
        });
        Client {
            child,
            stdin,
            messages,
            events: VecDeque::new(),
            seq: 0,
        }
    }

    pub(crate) fn next(&mut self) -> Value {
        match self.messages.recv_timeout(PATIENCE) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no message in {PATIENCE:?}; events: {:#?}", self.events)
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the adapter ended; events: {:#?}", self.events)
            }
        }
    }

    /// Writes one message as it is.
    pub(crate) fn send_raw(&mut self, message: Value) {
        let body = serde_json::to_vec(&message).unwrap();
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.stdin.write_all(&body).unwrap();
        self.stdin.flush().unwrap();
    }

    /// Sends a request; its response (success or not).
    pub(crate) fn request(&mut self, command: &str, arguments: Value) -> Value {
        self.seq += 1;
        let seq = self.seq;
        self.send_raw(json!({
            "seq": seq, "type": "request", "command": command, "arguments": arguments,
        }));
        let message = self.response(seq);
        assert_eq!(message["command"], command, "{message}");
        message
    }

    /// Waits for the response to request `seq` (events read meanwhile are
    /// kept; so is a response to another request).
    pub(crate) fn response(&mut self, seq: u64) -> Value {
        if let Some(at) = self
            .events
            .iter()
            .position(|m| m["type"] == "response" && m["request_seq"] == seq)
        {
            return self.events.remove(at).unwrap();
        }
        loop {
            let message = self.next();
            if message["type"] == "response" && message["request_seq"] == seq {
                return message;
            }
            self.events.push_back(message);
        }
    }

    /// A request that must succeed: its body.
    pub(crate) fn ok(&mut self, command: &str, arguments: Value) -> Value {
        let response = self.request(command, arguments);
        assert_eq!(response["success"], true, "{command}: {response}");
        response["body"].clone()
    }

    /// Waits for the event `name` (earlier events are kept); its body.
    pub(crate) fn event(&mut self, name: &str) -> Value {
        if let Some(at) = self.events.iter().position(|e| e["event"] == name) {
            return self.events.remove(at).unwrap()["body"].clone();
        }
        let started = Instant::now();
        loop {
            assert!(started.elapsed() < PATIENCE, "no {name} event");
            let message = self.next();
            if message["type"] == "event" && message["event"] == name {
                return message["body"].clone();
            }
            self.events.push_back(message);
        }
    }

    /// Everything the run printed so far, in `category`.
    pub(crate) fn output(&self, category: &str) -> String {
        self.events
            .iter()
            .filter(|e| e["event"] == "output" && e["body"]["category"] == category)
            .map(|e| e["body"]["output"].as_str().unwrap_or_default())
            .collect()
    }

    /// initialize and launch; the capabilities.
    pub(crate) fn launch(&mut self, arguments: Value) -> Value {
        let capabilities = self.ok(
            "initialize",
            json!({ "adapterID": "zephyr", "linesStartAt1": true, "columnsStartAt1": true }),
        );
        self.ok("launch", arguments);
        self.event("initialized");
        capabilities
    }

    /// Stack frames of thread `thread`: (name, line, path's file name).
    pub(crate) fn stack(&mut self, thread: &Value) -> Vec<(String, u64, String)> {
        let body = self.ok("stackTrace", json!({ "threadId": thread }));
        body["stackFrames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let file = f["source"]["path"]
                    .as_str()
                    .map(|p| {
                        Path::new(p)
                            .file_name()
                            .unwrap()
                            .to_string_lossy()
                            .into_owned()
                    })
                    .unwrap_or_default();
                (
                    f["name"].as_str().unwrap().to_owned(),
                    f["line"].as_u64().unwrap(),
                    file,
                )
            })
            .collect()
    }

    /// `name = value` of the variables under `reference`.
    pub(crate) fn variables(&mut self, reference: &Value) -> Vec<String> {
        let body = self.ok("variables", json!({ "variablesReference": reference }));
        body["variables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                format!(
                    "{} = {}",
                    v["name"].as_str().unwrap(),
                    v["value"].as_str().unwrap()
                )
            })
            .collect()
    }

    /// The scope `name` of frame `frame_id`.
    pub(crate) fn scope(&mut self, frame_id: &Value, name: &str) -> Value {
        let body = self.ok("scopes", json!({ "frameId": frame_id }));
        body["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no scope {name}: {body}"))["variablesReference"]
            .clone()
    }

    /// The value `expression` evaluates to in frame `frame_id`, as shown.
    pub(crate) fn evaluate(&mut self, frame_id: &Value, expression: &str) -> Value {
        self.ok(
            "evaluate",
            json!({ "expression": expression, "frameId": frame_id }),
        )["result"]
            .clone()
    }

    pub(crate) fn frame_id(&mut self, thread: &Value, index: usize) -> Value {
        let body = self.ok("stackTrace", json!({ "threadId": thread }));
        body["stackFrames"][index]["id"].clone()
    }

    /// Waits for the run to end: its exit status.
    pub(crate) fn finish(mut self) -> (i64, Client) {
        let exited = self.event("exited");
        self.event("terminated");
        let code = exited["exitCode"].as_i64().unwrap();
        (code, self)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length:") {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}
