//! The console's command-line grammar.
//!
//! * Commands are separated by `;` or by a newline.
//! * Arguments are separated by spaces or tabs; a double-quoted argument may
//!   hold spaces, `;` and `//`, and `\"` and `\\` inside quotes stand for `"`
//!   and `\`.
//! * `//` outside quotes starts a comment that runs to the end of the line.
//! * Commands named in `rest_of_line` (the console's `lua`) take the rest of
//!   their line verbatim as one argument, `;` included, as Source's `script`
//!   command does.

use crate::error::{Error, Result};

/// One parsed command: its name, its arguments and the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The command (or cvar) name.
    pub name: String,
    /// The arguments, unquoted.
    pub args: Vec<String>,
    /// The 1-based line of the input the command started on.
    pub line: usize,
}

/// Splits `text` into commands.
///
/// ```
/// use zephyr_cvar::parse_line;
/// let cmds = parse_line(r#"set name "Big Bob"; echo hi // greet"#, &[])?;
/// assert_eq!(cmds.len(), 2);
/// assert_eq!(cmds[0].args, ["name", "Big Bob"]);
/// assert_eq!(cmds[1].args, ["hi"]);
/// # Ok::<(), zephyr_cvar::Error>(())
/// ```
pub fn parse_line(text: &str, rest_of_line: &[&str]) -> Result<Vec<Invocation>> {
    parse_with(text, &|name| rest_of_line.contains(&name), &|_, _| false)
}

/// [`parse_line`] with a say on continuation lines: a rest-of-line command
/// (`is_raw(name)`) also takes the lines after its own while
/// `continues(name, argument so far)` says its argument is incomplete (the
/// console's `lua` takes a multi-line chunk this way, as Lua's REPL does).
pub(crate) fn parse_with(
    text: &str,
    is_raw: &dyn Fn(&str) -> bool,
    continues: &dyn Fn(&str, &str) -> bool,
) -> Result<Vec<Invocation>> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut out = Vec::new();
    let mut tokens: Vec<String> = Vec::new();
    let (mut line, mut cmd_line) = (1, 1);
    let flush = |tokens: &mut Vec<String>, out: &mut Vec<Invocation>, cmd_line: usize| {
        let mut it = std::mem::take(tokens).into_iter();
        if let Some(name) = it.next() {
            out.push(Invocation {
                name,
                args: it.collect(),
                line: cmd_line,
            });
        }
    };
    let mut i = 0;
    while let Some(c) = at(i) {
        match c {
            '\n' => {
                flush(&mut tokens, &mut out, cmd_line);
                line += 1;
                i += 1;
            }
            ';' => {
                flush(&mut tokens, &mut out, cmd_line);
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '/' if at(i + 1) == Some('/') => {
                while at(i).is_some_and(|c| c != '\n') {
                    i += 1;
                }
            }
            _ => {
                if tokens.is_empty() {
                    cmd_line = line;
                }
                let mut token = String::new();
                if c == '"' {
                    i += 1;
                    loop {
                        match at(i) {
                            None | Some('\n') => {
                                return Err(Error::Parse {
                                    message: format!("line {line}: unterminated quote"),
                                });
                            }
                            Some('"') => break,
                            Some('\\') if matches!(at(i + 1), Some('"' | '\\')) => {
                                token.extend(at(i + 1));
                                i += 1;
                            }
                            Some(c) => token.push(c),
                        }
                        i += 1;
                    }
                    i += 1;
                } else {
                    while let Some(c) = at(i) {
                        let comment = c == '/' && at(i + 1) == Some('/');
                        if c.is_whitespace() || c == ';' || c == '"' || comment {
                            break;
                        }
                        token.push(c);
                        i += 1;
                    }
                }
                let raw = tokens.is_empty() && c != '"' && is_raw(&token);
                let name = token.clone();
                tokens.push(token);
                if raw {
                    let start = i;
                    while at(i).is_some_and(|c| c != '\n') {
                        i += 1;
                    }
                    // Further lines while the argument is incomplete.
                    while at(i) == Some('\n') && i + 1 < chars.len() {
                        let so_far: String = chars[start..i].iter().collect();
                        if !continues(&name, so_far.trim()) {
                            break;
                        }
                        i += 1;
                        line += 1;
                        while at(i).is_some_and(|c| c != '\n') {
                            i += 1;
                        }
                    }
                    let rest: String = chars[start..i].iter().collect();
                    if !rest.trim().is_empty() {
                        tokens.push(rest.trim().to_owned());
                    }
                    flush(&mut tokens, &mut out, cmd_line);
                }
            }
        }
    }
    flush(&mut tokens, &mut out, cmd_line);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_and_args(text: &str) -> Vec<(String, Vec<String>)> {
        parse_line(text, &["lua"])
            .unwrap()
            .into_iter()
            .map(|i| (i.name, i.args))
            .collect()
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn quotes_semicolons_and_comments() {
        assert_eq!(
            names_and_args(r#"set r_fov 90; echo "a; b // c" // comment ; not a command"#),
            vec![
                ("set".into(), v(&["r_fov", "90"])),
                ("echo".into(), v(&["a; b // c"])),
            ]
        );
    }

    #[test]
    fn comment_glued_to_a_token() {
        assert_eq!(
            names_and_args("echo hi// trailing\necho there"),
            vec![("echo".into(), v(&["hi"])), ("echo".into(), v(&["there"]))]
        );
    }

    #[test]
    fn empty_quoted_argument_is_kept() {
        assert_eq!(
            names_and_args(r#"set name """#),
            vec![("set".into(), v(&["name", ""]))]
        );
    }

    #[test]
    fn escapes_inside_quotes() {
        assert_eq!(
            names_and_args(r#"echo "say \"hi\" \\ bye""#),
            vec![("echo".into(), v(&[r#"say "hi" \ bye"#]))]
        );
    }

    #[test]
    fn lua_takes_the_rest_of_the_line() {
        assert_eq!(
            names_and_args("lua print(1); print(\"x\")\necho after"),
            vec![
                ("lua".into(), v(&["print(1); print(\"x\")"])),
                ("echo".into(), v(&["after"])),
            ]
        );
    }

    #[test]
    fn lines_are_numbered() {
        let cmds = parse_line("// header\n\necho a\n  echo b; echo c", &[]).unwrap();
        let lines: Vec<_> = cmds.iter().map(|c| c.line).collect();
        assert_eq!(lines, [3, 4, 4]);
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        let err = parse_line("echo \"oops", &[]).unwrap_err();
        assert!(err.to_string().contains("unterminated quote"));
    }

    #[test]
    fn blank_and_comment_only_input_gives_nothing() {
        assert!(parse_line("  ;; // nothing\n\n", &[]).unwrap().is_empty());
    }
}
