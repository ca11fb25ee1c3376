//! Lua 5.4's pattern matcher (`lstrlib.c`), in Rust, over bytes, with a
//! step meter: every item of the pattern the matcher takes and every
//! character a repetition tries counts one step, as do long classes (a
//! step per 16 bytes of class at every test) and back references (per 16
//! bytes compared), and the meter can stop the match. The
//! semantics follow Lua's source line by line, including its error
//! messages; reads past the end of the pattern or subject see a `0` byte,
//! as Lua's do (its strings end in `'\0'`).

/// Lua's escape character.
const ESC: u8 = b'%';
/// Lua's `LUA_MAXCAPTURES`.
pub(crate) const MAX_CAPTURES: usize = 32;
/// Lua's `MAXCCALLS`: how deep the matcher may recurse.
const MAX_DEPTH: u32 = 200;
/// Steps counted before the meter is asked.
pub(crate) const METER_BATCH: u32 = 4096;

/// One capture's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Capture {
    /// `()`: a position (0-based).
    Position(usize),
    /// Open: its start, not yet closed.
    Unfinished(usize),
    /// A closed capture: start and length.
    Span(usize, usize),
}

/// Why a match stopped without an answer.
#[derive(Debug)]
pub(crate) enum Stop<E> {
    /// A malformed pattern or misused capture, in Lua's words.
    Pattern(String),
    /// The meter said stop.
    Meter(E),
}

impl<E> From<String> for Stop<E> {
    fn from(message: String) -> Self {
        Stop::Pattern(message)
    }
}

type Step<T, E> = Result<T, Stop<E>>;

/// The state of one match: Lua's `MatchState`.
pub(crate) struct Matcher<'a, E, M: FnMut(u64) -> Result<(), E>> {
    pub(crate) src: &'a [u8],
    pat: &'a [u8],
    pub(crate) level: usize,
    pub(crate) captures: [Capture; MAX_CAPTURES],
    depth: u32,
    steps: u32,
    meter: M,
}

impl<'a, E, M: FnMut(u64) -> Result<(), E>> Matcher<'a, E, M> {
    /// A matcher of `pat` (without a leading `^` anchor, which the caller
    /// handles) over `src`; `meter(n)` is told of every `n` steps.
    pub(crate) fn new(src: &'a [u8], pat: &'a [u8], meter: M) -> Self {
        Matcher {
            src,
            pat,
            level: 0,
            captures: [Capture::Position(0); MAX_CAPTURES],
            depth: MAX_DEPTH,
            steps: 0,
            meter,
        }
    }

    /// Lua's `reprepstate`: ready for a match at another position.
    pub(crate) fn reset(&mut self) {
        self.level = 0;
        self.depth = MAX_DEPTH;
    }

    /// Tells the meter of the steps not yet reported.
    pub(crate) fn flush(&mut self) -> Result<(), E> {
        let steps = std::mem::take(&mut self.steps);
        if steps > 0 {
            (self.meter)(u64::from(steps))?;
        }
        Ok(())
    }

    fn step(&mut self) -> Step<(), E> {
        self.charge(1)
    }

    /// `n` steps of work.
    pub(crate) fn charge(&mut self, n: usize) -> Step<(), E> {
        self.steps = self
            .steps
            .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        if self.steps >= METER_BATCH {
            self.flush().map_err(Stop::Meter)?;
        }
        Ok(())
    }

    fn p(&self, i: usize) -> u8 {
        self.pat.get(i).copied().unwrap_or(0)
    }

    fn s(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    /// Matches the pattern from `p` against the subject from `s`: the end
    /// of the match, or `None`. Lua's `match`.
    pub(crate) fn do_match(&mut self, mut s: usize, mut p: usize) -> Step<Option<usize>, E> {
        if self.depth == 0 {
            return Err("pattern too complex".to_owned().into());
        }
        self.depth -= 1;
        let result = loop {
            self.step()?;
            if p == self.pat.len() {
                break Some(s);
            }
            match self.pat[p] {
                b'(' => {
                    break if self.p(p + 1) == b')' {
                        self.start_capture(s, p + 2, Capture::Position(s))?
                    } else {
                        self.start_capture(s, p + 1, Capture::Unfinished(s))?
                    };
                }
                b')' => break self.end_capture(s, p + 1)?,
                b'$' if p + 1 == self.pat.len() => {
                    break (s == self.src.len()).then_some(s);
                }
                ESC if self.p(p + 1) == b'b' => match self.match_balance(s, p + 2)? {
                    Some(end) => {
                        s = end;
                        p += 4;
                    }
                    None => break None,
                },
                ESC if self.p(p + 1) == b'f' => {
                    p += 2;
                    if self.p(p) != b'[' {
                        return Err("missing '[' after '%f' in pattern".to_owned().into());
                    }
                    let ep = self.class_end(p)?;
                    self.charge((ep - p) >> 4)?;
                    let previous = if s == 0 { 0 } else { self.s(s - 1) };
                    let current = self.s(s);
                    if !self.match_bracket_class(previous, p, ep - 1)
                        && self.match_bracket_class(current, p, ep - 1)
                    {
                        p = ep;
                    } else {
                        break None;
                    }
                }
                ESC if self.p(p + 1).is_ascii_digit() => {
                    match self.match_capture(s, self.p(p + 1))? {
                        Some(end) => {
                            s = end;
                            p += 2;
                        }
                        None => break None,
                    }
                }
                _ => {
                    let ep = self.class_end(p)?;
                    self.charge((ep - p) >> 4)?;
                    let next = self.p(ep);
                    if !self.single_match(s, p, ep) {
                        if matches!(next, b'*' | b'?' | b'-') {
                            p = ep + 1;
                            continue;
                        }
                        break None;
                    }
                    match next {
                        b'?' => match self.do_match(s + 1, ep + 1)? {
                            Some(end) => break Some(end),
                            None => p = ep + 1,
                        },
                        b'+' => break self.max_expand(s + 1, p, ep)?,
                        b'*' => break self.max_expand(s, p, ep)?,
                        b'-' => break self.min_expand(s, p, ep)?,
                        _ => {
                            s += 1;
                            p = ep;
                        }
                    }
                }
            }
        };
        self.depth += 1;
        Ok(result)
    }

    /// Where the single-character class at `p` ends. Lua's `classEnd`.
    fn class_end(&self, mut p: usize) -> Step<usize, E> {
        let c = self.p(p);
        p += 1;
        match c {
            ESC => {
                if p >= self.pat.len() {
                    return Err("malformed pattern (ends with '%')".to_owned().into());
                }
                Ok(p + 1)
            }
            b'[' => {
                if self.p(p) == b'^' {
                    p += 1;
                }
                loop {
                    if p >= self.pat.len() {
                        return Err("malformed pattern (missing ']')".to_owned().into());
                    }
                    let c = self.pat[p];
                    p += 1;
                    if c == ESC && p < self.pat.len() {
                        p += 1;
                    }
                    if self.p(p) == b']' {
                        break;
                    }
                }
                Ok(p + 1)
            }
            _ => Ok(p),
        }
    }

    /// The class at `p..ep`, decoded.
    fn single(&self, p: usize) -> Single {
        match self.pat[p] {
            b'.' => Single::Any,
            ESC => match class_of(self.p(p + 1)) {
                Some((bit, negated)) => Single::Class(bit, negated),
                None => Single::Byte(self.p(p + 1)),
            },
            b'[' => Single::Bracket,
            other => Single::Byte(other),
        }
    }

    /// [`single_match`](Self::single_match) with the class decoded.
    #[inline]
    fn single_matches(&self, single: Single, s: usize, p: usize, ep: usize) -> bool {
        let Some(&c) = self.src.get(s) else {
            return false;
        };
        match single {
            Single::Any => true,
            Single::Byte(b) => b == c,
            Single::Class(bit, negated) => (CLASSES[usize::from(c)] & bit != 0) != negated,
            Single::Bracket => self.match_bracket_class(c, p, ep - 1),
        }
    }

    /// Lua's `singlematch`: does the class at `p..ep` match subject byte `s`?
    fn single_match(&self, s: usize, p: usize, ep: usize) -> bool {
        if s >= self.src.len() {
            return false;
        }
        let c = self.src[s];
        match self.pat[p] {
            b'.' => true,
            ESC => match_class(c, self.p(p + 1)),
            b'[' => self.match_bracket_class(c, p, ep - 1),
            other => other == c,
        }
    }

    /// Lua's `matchbracketclass`: `p` at the `[`, `ec` at the `]`.
    fn match_bracket_class(&self, c: u8, mut p: usize, ec: usize) -> bool {
        let mut sig = true;
        if self.p(p + 1) == b'^' {
            sig = false;
            p += 1;
        }
        loop {
            p += 1;
            if p >= ec {
                break;
            }
            if self.p(p) == ESC {
                p += 1;
                if match_class(c, self.p(p)) {
                    return sig;
                }
            } else if self.p(p + 1) == b'-' && p + 2 < ec {
                p += 2;
                if self.p(p - 2) <= c && c <= self.p(p) {
                    return sig;
                }
            } else if self.p(p) == c {
                return sig;
            }
        }
        !sig
    }

    /// Lua's `matchbalance`: `%bxy` at `p` (after the `%b`).
    fn match_balance(&mut self, s: usize, p: usize) -> Step<Option<usize>, E> {
        if p + 1 >= self.pat.len() {
            return Err("malformed pattern (missing arguments to '%b')"
                .to_owned()
                .into());
        }
        if s >= self.src.len() || self.src[s] != self.pat[p] {
            return Ok(None);
        }
        let (open, close) = (self.pat[p], self.pat[p + 1]);
        let mut depth = 1;
        let mut i = s + 1;
        while i < self.src.len() {
            self.step()?;
            let c = self.src[i];
            if c == close {
                depth -= 1;
                if depth == 0 {
                    return Ok(Some(i + 1));
                }
            } else if c == open {
                depth += 1;
            }
            i += 1;
        }
        Ok(None)
    }

    /// Lua's `max_expand`: the longest run first, then shorter ones.
    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> Step<Option<usize>, E> {
        let single = self.single(p);
        let cost = 1 + ((ep - p) >> 4);
        let mut i = 0;
        while self.single_matches(single, s + i, p, ep) {
            self.charge(cost)?;
            i += 1;
        }
        loop {
            if let Some(end) = self.do_match(s + i, ep + 1)? {
                return Ok(Some(end));
            }
            if i == 0 {
                return Ok(None);
            }
            i -= 1;
        }
    }

    /// Lua's `min_expand`: the shortest run first, then longer ones.
    fn min_expand(&mut self, mut s: usize, p: usize, ep: usize) -> Step<Option<usize>, E> {
        let single = self.single(p);
        let cost = (ep - p) >> 4;
        loop {
            if let Some(end) = self.do_match(s, ep + 1)? {
                return Ok(Some(end));
            }
            self.charge(cost)?;
            if self.single_matches(single, s, p, ep) {
                s += 1;
            } else {
                return Ok(None);
            }
        }
    }

    fn start_capture(&mut self, s: usize, p: usize, what: Capture) -> Step<Option<usize>, E> {
        if self.level >= MAX_CAPTURES {
            return Err("too many captures".to_owned().into());
        }
        self.captures[self.level] = what;
        self.level += 1;
        let result = self.do_match(s, p)?;
        if result.is_none() {
            self.level -= 1;
        }
        Ok(result)
    }

    fn end_capture(&mut self, s: usize, p: usize) -> Step<Option<usize>, E> {
        let l = self.capture_to_close()?;
        let Capture::Unfinished(start) = self.captures[l] else {
            unreachable!("capture_to_close finds an open capture");
        };
        self.captures[l] = Capture::Span(start, s - start);
        let result = self.do_match(s, p)?;
        if result.is_none() {
            self.captures[l] = Capture::Unfinished(start);
        }
        Ok(result)
    }

    fn capture_to_close(&self) -> Step<usize, E> {
        (0..self.level)
            .rev()
            .find(|&l| matches!(self.captures[l], Capture::Unfinished(_)))
            .ok_or_else(|| "invalid pattern capture".to_owned().into())
    }

    /// Lua's `check_capture`: the index of capture `%digit`.
    fn check_capture(&self, digit: u8) -> Step<usize, E> {
        let l = i32::from(digit) - i32::from(b'1');
        match usize::try_from(l) {
            Ok(l) if l < self.level && !matches!(self.captures[l], Capture::Unfinished(_)) => Ok(l),
            _ => Err(format!("invalid capture index %{}", l + 1).into()),
        }
    }

    fn match_capture(&mut self, s: usize, digit: u8) -> Step<Option<usize>, E> {
        let l = self.check_capture(digit)?;
        let Capture::Span(start, len) = self.captures[l] else {
            return Ok(None); // a position capture matches nothing
        };
        self.charge(len >> 4)?;
        let matched = self.src.len() - s.min(self.src.len()) >= len
            && self.src[start..start + len] == self.src[s..s + len];
        Ok(matched.then_some(s + len))
    }

    /// Capture `i` of a match of `s..e`, Lua's `get_onecapture`: with no
    /// captures at all, capture 0 is the whole match.
    pub(crate) fn capture(&self, i: usize, s: usize, e: usize) -> Result<Captured, String> {
        if i >= self.level {
            if i != 0 {
                return Err(format!("invalid capture index %{}", i + 1));
            }
            return Ok(Captured::Text(s, e));
        }
        match self.captures[i] {
            Capture::Unfinished(_) => Err("unfinished capture".to_owned()),
            Capture::Position(at) => Ok(Captured::Position(at + 1)),
            Capture::Span(start, len) => Ok(Captured::Text(start, start + len)),
        }
    }

    /// How many values a match's captures make: Lua's `push_captures` count.
    pub(crate) fn capture_count(&self, whole: bool) -> usize {
        if self.level == 0 && whole {
            1
        } else {
            self.level
        }
    }
}

/// A capture's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Captured {
    /// Bytes `start..end` of the subject.
    Text(usize, usize),
    /// A position capture (1-based).
    Position(usize),
}

/// The classes each byte belongs to (`%a`, `%c`, ... in the C locale), one
/// bit per class letter: a class test is a table read, not a chain of
/// comparisons.
static CLASSES: [u16; 256] = classes();

const CLASS_A: u16 = 1;
const CLASS_C: u16 = 1 << 1;
const CLASS_D: u16 = 1 << 2;
const CLASS_G: u16 = 1 << 3;
const CLASS_L: u16 = 1 << 4;
const CLASS_P: u16 = 1 << 5;
const CLASS_S: u16 = 1 << 6;
const CLASS_U: u16 = 1 << 7;
const CLASS_W: u16 = 1 << 8;
const CLASS_X: u16 = 1 << 9;
const CLASS_Z: u16 = 1 << 10;

const fn classes() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let mut bits = 0;
        if c.is_ascii_alphabetic() {
            bits |= CLASS_A;
        }
        if c.is_ascii_control() {
            bits |= CLASS_C;
        }
        if c.is_ascii_digit() {
            bits |= CLASS_D;
        }
        if c.is_ascii_graphic() {
            bits |= CLASS_G;
        }
        if c.is_ascii_lowercase() {
            bits |= CLASS_L;
        }
        if c.is_ascii_punctuation() {
            bits |= CLASS_P;
        }
        if matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            bits |= CLASS_S;
        }
        if c.is_ascii_uppercase() {
            bits |= CLASS_U;
        }
        if c.is_ascii_alphanumeric() {
            bits |= CLASS_W;
        }
        if c.is_ascii_hexdigit() {
            bits |= CLASS_X;
        }
        if c == 0 {
            // `%z`: deprecated in Lua, still matched.
            bits |= CLASS_Z;
        }
        table[i] = bits;
        i += 1;
    }
    table
}

/// The class a `%` letter names: its bit, and whether it is negated (an
/// upper-case letter); `None` for a letter that names no class (`%.`
/// matches the character itself).
fn class_of(class: u8) -> Option<(u16, bool)> {
    let bit = match class.to_ascii_lowercase() {
        b'a' => CLASS_A,
        b'c' => CLASS_C,
        b'd' => CLASS_D,
        b'g' => CLASS_G,
        b'l' => CLASS_L,
        b'p' => CLASS_P,
        b's' => CLASS_S,
        b'u' => CLASS_U,
        b'w' => CLASS_W,
        b'x' => CLASS_X,
        b'z' => CLASS_Z,
        _ => return None,
    };
    Some((bit, class.is_ascii_uppercase()))
}

/// Lua's `match_class` in the C locale.
fn match_class(c: u8, class: u8) -> bool {
    match class_of(class) {
        Some((bit, negated)) => (CLASSES[usize::from(c)] & bit != 0) != negated,
        None => class == c,
    }
}

/// A single-character class decoded once, for the loops that test it
/// against many characters (`max_expand`, `min_expand`).
#[derive(Debug, Clone, Copy)]
enum Single {
    Any,
    Byte(u8),
    Class(u16, bool),
    Bracket,
}

/// Lua's `nospecials`: the pattern has none of `^$*+?.([%-`.
pub(crate) fn no_specials(pattern: &[u8]) -> bool {
    !pattern.iter().any(|c| b"^$*+?.([%-".contains(c))
}

/// Lua's `posrelatI`: a 1-based start position, clipped to at least 1.
pub(crate) fn start_position(pos: i64, len: usize) -> usize {
    if pos > 0 {
        usize::try_from(pos).unwrap_or(usize::MAX)
    } else if pos == 0 || pos.unsigned_abs() > len as u64 {
        1
    } else {
        len - (pos.unsigned_abs() as usize) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `match_class` as Lua's C code reads: a chain of the C library's
    /// `is*` tests, the reference the table must agree with.
    fn by_tests(c: u8, class: u8) -> bool {
        let result = match class.to_ascii_lowercase() {
            b'a' => c.is_ascii_alphabetic(),
            b'c' => c.is_ascii_control(),
            b'd' => c.is_ascii_digit(),
            b'g' => c.is_ascii_graphic(),
            b'l' => c.is_ascii_lowercase(),
            b'p' => c.is_ascii_punctuation(),
            b's' => matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
            b'u' => c.is_ascii_uppercase(),
            b'w' => c.is_ascii_alphanumeric(),
            b'x' => c.is_ascii_hexdigit(),
            b'z' => c == 0,
            _ => return class == c,
        };
        if class.is_ascii_uppercase() {
            !result
        } else {
            result
        }
    }

    #[test]
    fn the_class_table_agrees_with_the_tests_for_every_byte_and_class() {
        for class in 0..=u8::MAX {
            for c in 0..=u8::MAX {
                assert_eq!(
                    match_class(c, class),
                    by_tests(c, class),
                    "%{} on {c}",
                    class as char
                );
            }
        }
    }
}
