//! The Markdown reference of packages (`docs/API.md` for the built-in
//! ones, an engine's own beside them), generated from their declarations.

use std::fmt::Write as _;

use super::package::{Access, Package};
use super::registry::builtin_packages;

/// `docs/API.md`: the reference of the built-in packages.
pub fn api_markdown() -> std::string::String {
    markdown(&builtin_packages())
}

/// The reference of `packages` (an engine's among them) in Markdown: a
/// section per package, a row per function with its parameters, returns
/// and thread rule, and its constants. With the built-in packages, also
/// the tasks, events and globals.
pub fn markdown(packages: &[Package]) -> std::string::String {
    let builtins = packages.iter().any(|p| p.name == "zephyr.entity");
    let mut out = std::string::String::from(
        "# Zephyr Lua API\n\n\
         Generated from the packages' declarations (the built-in ones are in \
         `crates/zephyr-runtime/src/api/registry.rs`); \
         a test fails when this file and the registry disagree. Regenerate with \
         `ZEPHYR_UPDATE_DOCS=1 cargo test -p zephyr-runtime --test api_docs`.\n\n\
         Conventions: right-handed, +Y up, +X right, forward is -Z; angles in radians; \
         Euler angles applied yaw (Y), then pitch (X), then roll (Z). Every `number` \
         argument must be finite; as in Lua's standard library, a string that reads as \
         a number is that number (`\"2.5\"`, `\"0x10\"`). A bad argument raises an error \
         naming the function and the argument. An entity that does not exist is an error, except for \
         `zephyr.entity.exists` and `has_tag` (false), `find`, `get_name` and `get_tags` (nil).\n\n\
         On a worker thread, reads see the world as it was when the script was \
         enqueued, plus the script's own writes; functions marked *write* are \
         applied to the engine by the next `ScriptingSystem::update()`, in enqueue order; \
         those marked *main thread only* move a worker job to the main thread, and \
         fail in a parallel behaviour's update.\n",
    );
    for package in packages {
        let _ = write!(out, "\n## `{}`\n\n", package.name);
        if !package.doc.is_empty() {
            let _ = writeln!(out, "{}\n", package.doc);
        }
        if !package.functions.is_empty() {
            out.push_str("| function | returns | |\n|---|---|---|\n");
        }
        for func in &package.functions {
            let params: Vec<_> = func
                .params
                .iter()
                .map(|p| {
                    let q = if p.optional { "?" } else { "" };
                    let default = p.default.map(|d| format!(" = {d}")).unwrap_or_default();
                    format!("{}{q}: {}{default}", p.name, cell(p.ty.name()))
                })
                .collect();
            let returns: Vec<_> = func
                .returns
                .iter()
                .map(|r| {
                    let nil = if r.optional { " or nil" } else { "" };
                    format!("{}: {}{nil}", r.name, cell(r.ty.name()))
                })
                .collect();
            let rule = match func.access {
                Access::Writes => " *write*",
                Access::MainThread => " *main thread only*",
                _ => "",
            };
            table_row(
                &mut out,
                &func.name,
                &params,
                &returns,
                &format!("{}{rule}", func.doc),
            );
        }
        if package.constants.iter().all(|c| c.doc.is_empty()) {
            if !package.constants.is_empty() {
                let names: Vec<_> = package
                    .constants
                    .iter()
                    .map(|c| format!("`{}` ({})", c.name, c.value))
                    .collect();
                let _ = writeln!(out, "Constants: {}.", names.join(", "));
            }
        } else {
            out.push_str("\n| constant | value | |\n|---|---|---|\n");
            for constant in &package.constants {
                let _ = writeln!(
                    out,
                    "| `{}` | `{}` | {} |",
                    constant.name, constant.value, constant.doc
                );
            }
        }
    }
    if !builtins {
        return out;
    }
    let mut module = "";
    for func in super::scripted::SCRIPTED {
        if func.module != module {
            module = func.module;
            table_header(&mut out, &format!("`{module}`"));
        }
        let params: Vec<_> = func
            .params
            .iter()
            .map(|(name, ty)| match *name {
                "..." => "...".to_owned(),
                name => format!("{name}: {}", cell(ty)),
            })
            .collect();
        let returns: Vec<_> = func
            .returns
            .iter()
            .map(|(name, ty)| format!("{name}: {}", cell(ty)))
            .collect();
        let doc = if func.main_thread_only {
            format!("{} *main thread only*", func.doc)
        } else {
            func.doc.to_owned()
        };
        table_row(&mut out, func.name, &params, &returns, &doc);
    }
    out.push_str("\n## Globals\n\n");
    out.push_str("| name | |\n|---|---|\n");
    out.push_str("| `print(...)` | Writes its values (`tostring` of each, tab-separated, and a newline) to the host's print sink, byte for byte; from a worker, at `update()` in enqueue order. |\n");
    out.push_str("| `io.write(...)` | The same without the tabs and the newline (the safe profile's `io`: see the README). |\n");
    out
}

/// A module's section and the head of its table.
fn table_header(out: &mut std::string::String, title: &str) {
    let _ = write!(
        out,
        "\n## {title}\n\n| function | returns | |\n|---|---|---|\n"
    );
}

/// One function's row.
fn table_row(
    out: &mut std::string::String,
    name: &str,
    params: &[std::string::String],
    returns: &[std::string::String],
    doc: &str,
) {
    let returns = if returns.is_empty() {
        "-".to_owned()
    } else {
        returns.join(", ")
    };
    let _ = writeln!(
        out,
        "| `{name}({})` | {returns} | {doc} |",
        params.join(", ")
    );
}

/// Escapes `|` for a Markdown table cell.
fn cell(text: &str) -> std::string::String {
    text.replace('|', "\\|")
}

/// The built-in cvars (the registry's `sv_cheats` and the engine's) as a
/// Markdown table: what `docs/SCRIPTING.md` lists, checked by a test.
pub fn engine_cvars_markdown() -> String {
    let cvars = zephyr_cvar::CVarRegistry::new();
    let _ = crate::register_engine_cvars(&cvars);
    let mut out =
        String::from("| cvar | type | default | flags | meaning |\n|---|---|---|---|---|\n");
    for info in cvars.list("") {
        let flags = [
            (zephyr_cvar::CVarFlags::ARCHIVE, "archive"),
            (zephyr_cvar::CVarFlags::READ_ONLY, "read-only"),
            (zephyr_cvar::CVarFlags::CHEAT, "cheat"),
        ]
        .iter()
        .filter(|(flag, _)| info.flags.contains(*flag))
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(", ");
        out.push_str(&format!(
            "| `{}` | {:?} | `{}` | {} | {} |\n",
            info.name,
            info.kind,
            info.default,
            if flags.is_empty() { "-" } else { &flags },
            info.help
        ));
    }
    out
}
