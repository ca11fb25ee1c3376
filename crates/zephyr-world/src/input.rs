//! Input state, set by the host: keys, mouse buttons and mouse position.

use std::collections::BTreeSet;

use glam::DVec2;

use crate::error::{Error, Result};

macro_rules! keys {
    ($($key:ident),* $(,)?) => {
        /// A keyboard key. Its name (`"W"`, `"Space"`, `"LeftShift"`) is its
        /// entry in the Lua `Key` table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[allow(missing_docs)]
        pub enum Key { $($key),* }

        impl Key {
            /// Every key, in declaration order.
            pub const ALL: &'static [Key] = &[$(Key::$key),*];

            /// The key's name.
            pub fn name(self) -> &'static str {
                match self { $(Key::$key => stringify!($key)),* }
            }
        }
    };
}

keys! {
    A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T, U, V, W, X, Y, Z,
    Num0, Num1, Num2, Num3, Num4, Num5, Num6, Num7, Num8, Num9,
    Space, Escape, Enter, Tab, Backspace,
    Left, Right, Up, Down,
    LeftShift, RightShift, LeftControl, RightControl, LeftAlt, RightAlt,
    F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12,
}

impl std::str::FromStr for Key {
    type Err = Error;

    fn from_str(name: &str) -> Result<Key> {
        Key::ALL
            .iter()
            .copied()
            .find(|k| k.name() == name)
            .ok_or_else(|| Error::UnknownKey(name.to_owned()))
    }
}

/// Mouse buttons: 0 left, 1 right, 2 middle.
pub const MOUSE_BUTTONS: u8 = 3;

/// The current input state: what is held, and what went down or up this
/// frame (the edges, kept until [`end_frame`](Input::end_frame)).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Input {
    keys: BTreeSet<Key>,
    buttons: [bool; MOUSE_BUTTONS as usize],
    mouse: DVec2,
    pressed: BTreeSet<Key>,
    released: BTreeSet<Key>,
    buttons_pressed: [bool; MOUSE_BUTTONS as usize],
    buttons_released: [bool; MOUSE_BUTTONS as usize],
}

impl Input {
    /// Whether `key` is held.
    pub fn is_key_down(&self, key: Key) -> bool {
        self.keys.contains(&key)
    }

    /// Presses or releases a key. A change is an edge of this frame
    /// ([`was_pressed`](Self::was_pressed), [`was_released`](Self::was_released)).
    pub fn set_key(&mut self, key: Key, down: bool) {
        if down {
            if self.keys.insert(key) {
                self.pressed.insert(key);
            }
        } else if self.keys.remove(&key) {
            self.released.insert(key);
        }
    }

    /// Whether `key` went down this frame (since the last
    /// [`end_frame`](Self::end_frame)); true for one frame per press, even
    /// if it was released again in the same frame.
    pub fn was_pressed(&self, key: Key) -> bool {
        self.pressed.contains(&key)
    }

    /// Whether `key` went up this frame.
    pub fn was_released(&self, key: Key) -> bool {
        self.released.contains(&key)
    }

    /// Whether mouse button `button` went down this frame.
    pub fn was_mouse_button_pressed(&self, button: u8) -> Result<bool> {
        self.buttons_pressed
            .get(usize::from(button))
            .copied()
            .ok_or_else(|| bad_button(button))
    }

    /// Whether mouse button `button` went up this frame.
    pub fn was_mouse_button_released(&self, button: u8) -> Result<bool> {
        self.buttons_released
            .get(usize::from(button))
            .copied()
            .ok_or_else(|| bad_button(button))
    }

    /// Ends the frame's edges: what was pressed or released is no longer
    /// "this frame". The frame driver (`Behaviours::frame`) calls it last;
    /// the host applies the next frame's input after it.
    pub fn end_frame(&mut self) {
        self.pressed.clear();
        self.released.clear();
        self.buttons_pressed = [false; MOUSE_BUTTONS as usize];
        self.buttons_released = [false; MOUSE_BUTTONS as usize];
    }

    /// Whether mouse button `button` (0 left, 1 right, 2 middle) is held.
    pub fn is_mouse_button_down(&self, button: u8) -> Result<bool> {
        self.buttons
            .get(usize::from(button))
            .copied()
            .ok_or_else(|| bad_button(button))
    }

    /// Presses or releases a mouse button.
    pub fn set_mouse_button(&mut self, button: u8, down: bool) -> Result<()> {
        let index = usize::from(button);
        let slot = self
            .buttons
            .get_mut(index)
            .ok_or_else(|| bad_button(button))?;
        if *slot != down {
            *slot = down;
            if down {
                self.buttons_pressed[index] = true;
            } else {
                self.buttons_released[index] = true;
            }
        }
        Ok(())
    }

    /// The cursor position in window pixels.
    pub fn mouse_position(&self) -> DVec2 {
        self.mouse
    }

    /// Moves the cursor.
    pub fn set_mouse_position(&mut self, position: DVec2) -> Result<()> {
        crate::error::finite("mouse position", &position.to_array())?;
        self.mouse = position;
        Ok(())
    }
}

fn bad_button(button: u8) -> Error {
    Error::InvalidValue {
        what: format!("mouse button {button}"),
        reason: "does not exist: use 0 (left), 1 (right) or 2 (middle)".into(),
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;

    #[test]
    fn edges_last_one_frame() {
        let mut input = Input::default();
        input.set_key(Key::Space, true);
        assert!(input.was_pressed(Key::Space) && input.is_key_down(Key::Space));
        input.set_key(Key::Space, true); // held, no new edge
        input.end_frame();
        assert!(!input.was_pressed(Key::Space) && input.is_key_down(Key::Space));
        input.set_key(Key::Space, false);
        input.set_key(Key::Space, true);
        input.set_key(Key::Space, false);
        assert!(input.was_pressed(Key::Space) && input.was_released(Key::Space));
        assert!(!input.is_key_down(Key::Space));
        input.set_mouse_button(2, true).unwrap();
        assert!(input.was_mouse_button_pressed(2).unwrap());
        input.end_frame();
        assert!(!input.was_mouse_button_pressed(2).unwrap());
        assert!(input.was_mouse_button_pressed(3).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_round_trip() {
        for key in Key::ALL {
            assert_eq!(key.name().parse::<Key>().unwrap(), *key);
        }
        assert!(
            "w".parse::<Key>().is_err(),
            "names are case-sensitive, as in the Key table"
        );
    }

    #[test]
    fn buttons_are_checked() {
        let mut input = Input::default();
        input.set_mouse_button(2, true).unwrap();
        assert!(input.is_mouse_button_down(2).unwrap());
        assert!(input.is_mouse_button_down(3).is_err());
        assert!(input.set_mouse_position(DVec2::new(f64::NAN, 0.0)).is_err());
    }
}
