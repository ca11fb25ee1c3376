//! Which lines of a Lua file hold code a breakpoint can stop on: the lines
//! statements start on, and the `end` of each function (where it returns).
//! A breakpoint on a comment or a blank line moves to the next of these.

use std::collections::BTreeSet;

use full_moon::ast;
use full_moon::node::Node;
use full_moon::visitors::Visitor;

/// The lines of `text` with code, or why there are none to know (the file
/// does not parse).
pub(crate) fn code_lines(text: &str) -> Result<BTreeSet<u32>, String> {
    // Lua skips a first line starting with `#` (a shebang); so does this.
    let skipped = text.starts_with('#');
    let body = if skipped {
        text.find('\n').map_or("", |at| &text[at..])
    } else {
        text
    };
    let ast = full_moon::parse_fallible(body, full_moon::LuaVersion::lua54())
        .into_result()
        .map_err(|errors| {
            errors.first().map_or_else(
                || "does not parse".to_owned(),
                |e| format!("does not parse: {e}"),
            )
        })?;
    let mut lines = Lines(BTreeSet::new());
    lines.visit_ast(&ast);
    Ok(lines.0)
}

/// Where a breakpoint asked for on `line` goes: `line` itself if it holds
/// code, else the next line that does; `None` past the last.
pub(crate) fn place(lines: &BTreeSet<u32>, line: u32) -> Option<u32> {
    lines.range(line..).next().copied()
}

struct Lines(BTreeSet<u32>);

impl Lines {
    fn add(&mut self, node: &impl Node) {
        if let Some(position) = node.start_position() {
            self.0.insert(position.line() as u32);
        }
    }
}

impl Visitor for Lines {
    fn visit_stmt(&mut self, node: &ast::Stmt) {
        self.add(node);
    }

    fn visit_last_stmt(&mut self, node: &ast::LastStmt) {
        self.add(node);
    }

    fn visit_function_body(&mut self, node: &ast::FunctionBody) {
        self.add(node.end_token());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_and_function_ends_hold_code_comments_do_not() {
        let text = "-- a comment\n\
                    local x = 1\n\
                    \n\
                    local function f(a)\n\
                    \x20 -- inside\n\
                    \x20 return a + x\n\
                    end\n\
                    return f(2)\n";
        let lines = code_lines(text).unwrap();
        assert_eq!(lines.iter().copied().collect::<Vec<_>>(), [2, 4, 6, 7, 8]);
        assert_eq!(place(&lines, 1), Some(2));
        assert_eq!(place(&lines, 5), Some(6));
        assert_eq!(place(&lines, 7), Some(7));
        assert_eq!(place(&lines, 9), None);
        assert!(
            code_lines("local = 1")
                .unwrap_err()
                .starts_with("does not parse")
        );
        // A shebang line is skipped, lines keep their numbers.
        let lines = code_lines("#!/usr/bin/env lua\nprint(1)\n").unwrap();
        assert_eq!(lines.iter().copied().collect::<Vec<_>>(), [2]);
    }
}
