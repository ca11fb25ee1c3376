//! Input replay files: one event per line, `FRAME event args`, `#` comments.
//!
//! ```text
//! # walk forward for a second, then jump
//! 1 key_down W
//! 61 key_up W
//! 61 key_down Space
//! 62 key_up Space
//! 70 mouse_move 320 200
//! 71 button_down 0
//! 72 button_up 0
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use zephyr_world::glam::DVec2;
use zephyr_world::{Input, Key};

use crate::error::{Error, Result};

/// One input event.
#[derive(Debug, Clone, PartialEq)]
pub enum InputEvent {
    /// A key goes down.
    KeyDown(Key),
    /// A key comes up.
    KeyUp(Key),
    /// The cursor moves to (x, y).
    MouseMove(f64, f64),
    /// Mouse button 0, 1 or 2 goes down.
    ButtonDown(u8),
    /// Mouse button 0, 1 or 2 comes up.
    ButtonUp(u8),
}

impl InputEvent {
    /// Applies the event to the input state.
    pub fn apply(&self, input: &mut Input) {
        // Every value was checked when the file was parsed.
        let _ = match self {
            InputEvent::KeyDown(k) => {
                input.set_key(*k, true);
                Ok(())
            }
            InputEvent::KeyUp(k) => {
                input.set_key(*k, false);
                Ok(())
            }
            InputEvent::MouseMove(x, y) => input.set_mouse_position(DVec2::new(*x, *y)),
            InputEvent::ButtonDown(b) => input.set_mouse_button(*b, true),
            InputEvent::ButtonUp(b) => input.set_mouse_button(*b, false),
        };
    }
}

/// Events by frame, in file order within a frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replay {
    events: BTreeMap<u64, Vec<InputEvent>>,
}

impl Replay {
    /// The events of frame `frame`.
    pub fn frame(&self, frame: u64) -> &[InputEvent] {
        self.events.get(&frame).map_or(&[], Vec::as_slice)
    }

    /// Reads a replay file.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::bad_file(path, e.to_string()))?;
        Self::parse(&text).map_err(|message| Error::bad_file(path, message))
    }

    /// Parses replay text; the error names the line and why.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut replay = Replay::default();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fail = |why: String| format!("line {}: {why}: '{}'", index + 1, raw.trim());
            let words: Vec<&str> = line.split_whitespace().collect();
            let frame: u64 = words[0]
                .parse()
                .map_err(|_| fail("the first word must be a frame number".into()))?;
            if frame == 0 {
                return Err(fail("frames start at 1".into()));
            }
            let key = |w: &str| w.parse::<Key>().map_err(|e| fail(e.to_string()));
            let button = |w: &str| match w.parse::<u8>() {
                Ok(b) if b < zephyr_world::MOUSE_BUTTONS => Ok(b),
                _ => Err(fail(
                    "mouse buttons are 0 (left), 1 (right) and 2 (middle)".into(),
                )),
            };
            let coord = |w: &str| match w.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(fail(format!("'{w}' is not a finite number"))),
            };
            let event = match words[1..] {
                ["key_down", k] => InputEvent::KeyDown(key(k)?),
                ["key_up", k] => InputEvent::KeyUp(key(k)?),
                ["mouse_move", x, y] => InputEvent::MouseMove(coord(x)?, coord(y)?),
                ["button_down", b] => InputEvent::ButtonDown(button(b)?),
                ["button_up", b] => InputEvent::ButtonUp(button(b)?),
                _ => {
                    return Err(fail(
                        "expected 'key_down KEY', 'key_up KEY', 'mouse_move X Y', 'button_down N' or 'button_up N'"
                            .into(),
                    ));
                }
            };
            replay.events.entry(frame).or_default().push(event);
        }
        Ok(replay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_event_kind_and_comments() {
        let replay = Replay::parse(
            "# header\n1 key_down W\n1 mouse_move 10 20.5 # trailing\n\n3 button_down 2\n3 key_up W\n4 button_up 2\n",
        )
        .unwrap();
        assert_eq!(
            replay.frame(1),
            [
                InputEvent::KeyDown(Key::W),
                InputEvent::MouseMove(10.0, 20.5)
            ]
        );
        assert_eq!(replay.frame(2), []);
        assert_eq!(
            replay.frame(3),
            [InputEvent::ButtonDown(2), InputEvent::KeyUp(Key::W)]
        );
    }

    #[test]
    fn malformed_lines_name_the_line_and_why() {
        let cases = [
            (
                "x key_down W",
                "line 1: the first word must be a frame number",
            ),
            ("1 key_down Banana", "line 1: unknown key 'Banana'"),
            ("\n2 jump", "line 2: expected"),
            ("1 button_down 5", "mouse buttons are 0"),
            ("1 mouse_move 1 nan", "is not a finite number"),
            ("0 key_down W", "frames start at 1"),
            ("1 key_down", "line 1: expected"),
        ];
        for (text, expected) in cases {
            let err = Replay::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }
}
