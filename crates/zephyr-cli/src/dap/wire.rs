//! The Debug Adapter Protocol's framing: each message is a JSON object
//! after a `Content-Length: N` header and an empty line.

use std::io::{self, BufRead, Write};

use parking_lot::Mutex;
use serde_json::{Value, json};

/// Reads one message; `None` at the end of the input.
pub(crate) fn read(input: &mut impl BufRead) -> io::Result<Option<Value>> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if length.is_some() {
                break;
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = Some(value.trim().parse::<usize>().map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, format!("bad header: {line}"))
            })?);
        }
    }
    let mut body = vec![0; length.unwrap_or(0)];
    input.read_exact(&mut body)?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Writes one message.
pub(crate) fn write(output: &mut impl Write, message: &Value) -> io::Result<()> {
    let body = serde_json::to_vec(message)?;
    write!(output, "Content-Length: {}\r\n\r\n", body.len())?;
    output.write_all(&body)?;
    output.flush()
}

/// Where one side's messages go, numbered in the order they are sent
/// (`seq`), from any thread.
pub(crate) struct Outbox {
    out: Mutex<(Box<dyn Write + Send>, u64)>,
}

impl Outbox {
    pub(crate) fn new(out: impl Write + Send + 'static) -> Self {
        Outbox {
            out: Mutex::new((Box::new(out), 0)),
        }
    }

    /// Sends `message` with the next `seq`. A peer that is gone is not an
    /// error here: the reader sees it end.
    pub(crate) fn send(&self, mut message: Value) {
        let mut out = self.out.lock();
        out.1 += 1;
        message["seq"] = json!(out.1);
        let _ = write(&mut out.0, &message);
    }

    pub(crate) fn event(&self, event: &str, body: Value) {
        self.send(json!({ "type": "event", "event": event, "body": body }));
    }

    /// The response to `request`: success with `body`, or the failure's
    /// message.
    pub(crate) fn respond(&self, request: &Value, result: Result<Value, String>) {
        let mut response = json!({
            "type": "response",
            "request_seq": request["seq"],
            "command": request["command"],
            "success": result.is_ok(),
        });
        match result {
            Ok(body) => response["body"] = body,
            Err(message) => {
                response["message"] = json!(message);
                response["body"] = json!({ "error": { "id": 1, "format": message } });
            }
        }
        self.send(response);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_their_framing() {
        let mut bytes = Vec::new();
        write(
            &mut bytes,
            &json!({"seq": 1, "type": "request", "command": "threads"}),
        )
        .unwrap();
        write(&mut bytes, &json!({"seq": 2, "text": "naïve ✓"})).unwrap();
        let mut input = io::Cursor::new(bytes);
        assert_eq!(read(&mut input).unwrap().unwrap()["command"], "threads");
        assert_eq!(read(&mut input).unwrap().unwrap()["text"], "naïve ✓");
        assert!(read(&mut input).unwrap().is_none());
        // A header that is not a length is an error, not a hang.
        let mut bad = io::Cursor::new(b"Content-Length: many\r\n\r\n{}".to_vec());
        assert!(read(&mut bad).is_err());
    }
}
