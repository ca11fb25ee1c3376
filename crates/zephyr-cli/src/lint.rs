//! What `zephyr check` reads in a script beyond its syntax, against the
//! API the runtime declares (nothing runs): fields of the engine's tables
//! that do not exist (`zephyr.transform.set_postion`, `Key.Sapce`),
//! top-level functions one slip away from a callback (`on_updte`) or
//! declared `local` (which the engine never sees), a
//! callback declared with more parameters than it is called with (in a
//! scene), `require` of a module the script roots do not have, a spawn
//! table's unknown keys, and in a scene, `zephyr.entity.spawn` of a prefab
//! the scene does not declare.
//!
//! It reports only what it is sure of: a name the script declares as a
//! local anywhere, or assigns as a global, is the script's own and is not
//! read as the engine's; expressions it cannot follow (a table passed
//! around, a computed key) are left alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use full_moon::ast::{self, Expression, Field, FunctionArgs, Index, Prefix, Stmt, Suffix, Var};
use full_moon::node::Node;
use full_moon::tokenizer::{TokenReference, TokenType};
use full_moon::visitors::Visitor;
use zephyr_runtime::api::did_you_mean;
use zephyr_runtime::prefab::KEYS;

/// How the script runs, as far as `check` can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A behaviour of a scene's entity: its callbacks get `self` first.
    Scene,
    /// A script checked on its own: it may be a main script (callbacks
    /// without `self`) or a behaviour of some scene, so arity is not
    /// checked.
    Alone,
}

/// What a script is checked against besides the API.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub(crate) mode: Mode,
    /// Where `require` finds modules.
    pub(crate) roots: Vec<PathBuf>,
    /// In a scene: the prefabs it declares, and its file (for messages).
    pub(crate) prefabs: Option<(&'a [String], &'a Path)>,
}

/// The engine's tables as the registry declares them: each table's path
/// (`zephyr.transform`) and the names in it.
#[derive(Debug, Default)]
pub(crate) struct Api {
    tables: BTreeMap<String, BTreeSet<String>>,
}

impl Api {
    /// The built-in API: every package's functions and constants, and the
    /// functions written in Lua (`zephyr.task`, `zephyr.events`).
    pub(crate) fn builtin() -> Api {
        let mut api = Api::default();
        for package in zephyr_runtime::api::builtin_packages() {
            api.table(&package.name);
            let names = package
                .functions
                .iter()
                .map(|f| f.name.to_string())
                .chain(package.constants.iter().map(|c| c.name.to_string()));
            for name in names {
                api.add(&package.name, &name);
            }
        }
        for function in zephyr_runtime::api::SCRIPTED {
            api.table(function.module);
            api.add(function.module, function.name);
        }
        api
    }

    /// Declares the table at `path` and its parents.
    fn table(&mut self, path: &str) {
        self.tables.entry(path.to_owned()).or_default();
        if let Some((parent, name)) = path.rsplit_once('.') {
            self.table(parent);
            self.add(parent, name);
        }
    }

    fn add(&mut self, table: &str, name: &str) {
        self.tables
            .entry(table.to_owned())
            .or_default()
            .insert(name.to_owned());
    }

    /// The global names of the engine's tables (`zephyr`, `Key`, ...).
    fn globals(&self) -> impl Iterator<Item = &str> {
        self.tables
            .keys()
            .filter(|t| !t.contains('.'))
            .map(String::as_str)
    }
}

/// The callbacks a behaviour may define, and how many arguments each gets
/// in a scene (`None`: any number).
const CALLBACKS: [(&str, Option<usize>); 5] = [
    ("on_start", Some(1)),
    ("on_update", Some(2)),
    ("on_destroy", Some(1)),
    ("on_message", None),
    ("on_reload", Some(1)),
];

/// Libraries `require` finds without a file.
const LIBRARIES: [&str; 8] = [
    "coroutine",
    "debug",
    "io",
    "math",
    "os",
    "string",
    "table",
    "utf8",
];

/// The problems of one script, as `file:line: message`. A script that is
/// not UTF-8 or that the parser cannot read (its syntax is checked by Lua
/// itself) gets none from here.
pub(crate) fn lint(api: &Api, file: &str, source: &[u8], cx: &Context<'_>) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(source) else {
        return Vec::new();
    };
    let Ok(ast) = full_moon::parse_fallible(text, full_moon::LuaVersion::lua54()).into_result()
    else {
        return Vec::new();
    };
    let mut own = OwnNames::default();
    own.visit_ast(&ast);
    let mut lint = Lint {
        api,
        cx,
        // A script that touches `package` (its path, preload, loaded)
        // manages its own modules: its `require`s are not checked.
        modules_checked: !own.names.contains("package")
            && !text.contains("package.")
            && !text.contains("package["),
        own: own.names,
        problems: BTreeSet::new(),
    };
    lint.visit_ast(&ast);
    lint.callbacks(ast.nodes());
    lint.problems
        .into_iter()
        .map(|(line, message)| format!("{file}:{line}: {message}"))
        .collect()
}

/// Every name the script declares as a local (anywhere) or assigns as a
/// global: the script's own, whatever the engine calls the same.
#[derive(Default)]
struct OwnNames {
    names: BTreeSet<String>,
}

impl OwnNames {
    fn add(&mut self, token: &TokenReference) {
        self.names.insert(token.token().to_string());
    }
}

impl Visitor for OwnNames {
    fn visit_local_assignment(&mut self, node: &ast::LocalAssignment) {
        node.names().iter().for_each(|n| self.add(n));
    }

    fn visit_local_function(&mut self, node: &ast::LocalFunction) {
        self.add(node.name());
    }

    fn visit_function_body(&mut self, node: &ast::FunctionBody) {
        for parameter in node.parameters() {
            if let ast::Parameter::Name(name) = parameter {
                self.add(name);
            }
        }
    }

    fn visit_numeric_for(&mut self, node: &ast::NumericFor) {
        self.add(node.index_variable());
    }

    fn visit_generic_for(&mut self, node: &ast::GenericFor) {
        node.names().iter().for_each(|n| self.add(n));
    }

    fn visit_assignment(&mut self, node: &ast::Assignment) {
        for var in node.variables() {
            if let Var::Name(name) = var {
                self.add(name);
            }
        }
    }

    fn visit_function_declaration(&mut self, node: &ast::FunctionDeclaration) {
        let names = node.name().names();
        if names.len() == 1
            && let Some(name) = names.iter().next()
        {
            self.add(name);
        }
    }
}

struct Lint<'a> {
    api: &'a Api,
    cx: &'a Context<'a>,
    modules_checked: bool,
    own: BTreeSet<String>,
    problems: BTreeSet<(usize, String)>,
}

fn line_of(node: &impl Node) -> usize {
    node.start_position().map_or(0, |p| p.line())
}

/// The text of a string literal.
fn literal(token: &TokenReference) -> Option<String> {
    match token.token_type() {
        TokenType::StringLiteral { literal, .. } => Some(literal.to_string()),
        _ => None,
    }
}

impl Lint<'_> {
    fn report(&mut self, line: usize, message: String) {
        self.problems.insert((line, message));
    }

    /// A chain `Name.a.b...` on an engine table: each dotted name must
    /// exist; returns the path it reached (`zephyr.entity.spawn`).
    fn chain<'s>(
        &mut self,
        prefix: &Prefix,
        suffixes: impl Iterator<Item = &'s Suffix>,
    ) -> Option<String> {
        let Prefix::Name(name) = prefix else {
            return None;
        };
        let root = name.token().to_string();
        if self.own.contains(&root) || !self.api.globals().any(|g| g == root) {
            return None;
        }
        let mut path = root;
        for suffix in suffixes {
            let Suffix::Index(Index::Dot { name, .. }) = suffix else {
                break;
            };
            let field = name.token().to_string();
            let Some(names) = self.api.tables.get(&path) else {
                break;
            };
            if !names.contains(&field) {
                let known: Vec<&String> = names.iter().collect();
                let message = format!(
                    "{path} has no field '{field}'{}",
                    did_you_mean(&field, &known)
                );
                self.report(line_of(name), message);
                return None;
            }
            path = format!("{path}.{field}");
        }
        Some(path)
    }

    /// `require "name"` with a literal name: the module must be under the
    /// roots.
    fn require(&mut self, args: &FunctionArgs) {
        if !self.modules_checked {
            return;
        }
        let Some((name, line)) = first_string(args) else {
            return;
        };
        if LIBRARIES.contains(&name.as_str()) {
            return;
        }
        let relative = name.replace('.', "/");
        let found = self.cx.roots.iter().any(|root| {
            root.join(format!("{relative}.lua")).is_file()
                || root.join(&relative).join("init.lua").is_file()
        });
        if !found {
            // Module names share long prefixes (`scripts.`): only those a
            // slip away are suggested.
            let modules: Vec<String> = modules_under(&self.cx.roots)
                .into_iter()
                .filter(|m| strsim::levenshtein(m, &name) <= 2)
                .collect();
            let roots: Vec<String> = self
                .cx
                .roots
                .iter()
                .map(|r| r.display().to_string())
                .collect();
            let message = format!(
                "require: no module '{name}' in the script roots ({}){}",
                roots.join(", "),
                did_you_mean(&name, &modules)
            );
            self.report(line, message);
        }
    }

    /// `zephyr.entity.spawn{...}`: its keys must be a spawn table's; and
    /// `spawn("Name")` or `spawn{prefab = "Name"}` in a scene: the scene
    /// must declare the prefab.
    fn spawn(&mut self, args: &FunctionArgs) {
        if let Some(table) = table_argument(args) {
            for field in table.fields() {
                if let Field::NameKey { key, .. } = field {
                    let name = key.token().to_string();
                    if !KEYS.contains(&name.as_str()) {
                        let message = format!(
                            "zephyr.entity.spawn: a spawn table has no key '{name}'{}",
                            did_you_mean(&name, &KEYS)
                        );
                        self.report(line_of(key), message);
                    }
                }
            }
        }
        let Some((prefabs, scene)) = self.cx.prefabs else {
            return;
        };
        let named = first_string(args).or_else(|| prefab_field(args));
        let Some((name, line)) = named else {
            return;
        };
        if !prefabs.contains(&name) {
            let known = if prefabs.is_empty() {
                " (it declares none)".to_owned()
            } else {
                did_you_mean(&name, prefabs)
            };
            let message = format!(
                "zephyr.entity.spawn: {} declares no prefab '{name}'{known}",
                scene.display()
            );
            self.report(line, message);
        }
    }

    /// The top-level functions: names one slip from a callback, and (in a
    /// scene) callbacks with more parameters than they are called with.
    fn callbacks(&mut self, block: &ast::Block) {
        for stmt in block.stmts() {
            // A local callback is the script's alone: the engine looks
            // callbacks up in the instance's globals.
            let local = match stmt {
                Stmt::LocalFunction(f) => Some(f.name()),
                Stmt::LocalAssignment(a) => a
                    .names()
                    .iter()
                    .zip(a.expressions().iter())
                    .find(|(_, e)| matches!(e, Expression::Function(_)))
                    .map(|(n, _)| n),
                _ => None,
            };
            if let Some(name) = local {
                let text = name.token().to_string();
                if CALLBACKS.iter().any(|(c, _)| *c == text) {
                    self.report(
                        line_of(name),
                        format!(
                            "'{text}' is declared local, so the engine never calls it \
                             (callbacks are global: drop the `local`)"
                        ),
                    );
                }
                continue;
            }
            let (name, body) = match stmt {
                Stmt::FunctionDeclaration(f) => {
                    let names = f.name().names();
                    if names.len() != 1 || f.name().method_name().is_some() {
                        continue;
                    }
                    let Some(name) = names.iter().next() else {
                        continue;
                    };
                    (name, f.body())
                }
                Stmt::Assignment(a) => {
                    let (Some(Var::Name(name)), Some(Expression::Function(f))) =
                        (a.variables().iter().next(), a.expressions().iter().next())
                    else {
                        continue;
                    };
                    if a.variables().len() != 1 {
                        continue;
                    }
                    (name, f.body())
                }
                _ => continue,
            };
            let text = name.token().to_string();
            let line = line_of(name);
            if let Some((callback, arguments)) = CALLBACKS.iter().find(|(c, _)| *c == text) {
                self.arity(callback, *arguments, body, line);
                continue;
            }
            if let Some((callback, _)) = CALLBACKS.iter().find(|(c, _)| slip(&text, c)) {
                self.report(
                    line,
                    format!(
                        "function '{text}' is not a callback and is never called by the engine \
                         (did you mean: {callback}?)"
                    ),
                );
            }
        }
    }

    fn arity(
        &mut self,
        callback: &str,
        arguments: Option<usize>,
        body: &ast::FunctionBody,
        line: usize,
    ) {
        if self.cx.mode != Mode::Scene {
            return;
        }
        let Some(arguments) = arguments else {
            return;
        };
        let names: Vec<String> = body
            .parameters()
            .iter()
            .filter_map(|p| match p {
                ast::Parameter::Name(n) => Some(n.token().to_string()),
                _ => None,
            })
            .collect();
        let called = match arguments {
            2 => "(self, dt)",
            _ => "(self)",
        };
        if names.len() > arguments {
            self.report(
                line,
                format!(
                    "{callback}({}) declares {} parameters; a scene's behaviour is called \
                     {callback}{called}",
                    names.join(", "),
                    names.len()
                ),
            );
        } else if arguments == 2 && names.len() == 1 && names[0] == "dt" {
            self.report(
                line,
                format!(
                    "{callback}(dt): a scene's behaviour is called {callback}(self, dt), so \
                     'dt' would be the entity"
                ),
            );
        }
    }
}

/// Whether `name` is one slip from `callback`: the same but for case and
/// underscores (`onUpdate`, `on_Start`), or one edit away (`on_updte`).
fn slip(name: &str, callback: &str) -> bool {
    let plain = |s: &str| s.replace('_', "").to_lowercase();
    plain(name) == plain(callback) || strsim::levenshtein(name, callback) == 1
}

/// The first argument when it is a string literal, with its line.
fn first_string(args: &FunctionArgs) -> Option<(String, usize)> {
    match args {
        FunctionArgs::String(token) => Some((literal(token)?, line_of(token))),
        FunctionArgs::Parentheses { arguments, .. } => match arguments.iter().next()? {
            Expression::String(token) => Some((literal(token)?, line_of(token))),
            _ => None,
        },
        _ => None,
    }
}

/// The table constructor passed as the only argument, if it is one.
fn table_argument(args: &FunctionArgs) -> Option<&ast::TableConstructor> {
    match args {
        FunctionArgs::TableConstructor(table) => Some(table),
        FunctionArgs::Parentheses { arguments, .. } => match arguments.iter().next()? {
            Expression::TableConstructor(table) => Some(table),
            _ => None,
        },
        _ => None,
    }
}

/// `prefab = "Name"` in a table argument.
fn prefab_field(args: &FunctionArgs) -> Option<(String, usize)> {
    table_argument(args)?
        .fields()
        .iter()
        .find_map(|field| match field {
            Field::NameKey { key, value, .. } if key.token().to_string() == "prefab" => {
                match &**value {
                    Expression::String(token) => Some((literal(token)?, line_of(token))),
                    _ => None,
                }
            }
            _ => None,
        })
}

/// The module names of the `.lua` files under the roots (a bounded walk).
fn modules_under(roots: &[PathBuf]) -> Vec<String> {
    let mut modules = Vec::new();
    for root in roots {
        let mut stack = vec![root.clone()];
        let mut seen = 0;
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                seen += 1;
                if seen > 2_000 {
                    break;
                }
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Some(relative) = path
                    .strip_prefix(root)
                    .ok()
                    .and_then(|r| r.to_str())
                    .and_then(|r| r.strip_suffix(".lua"))
                {
                    let relative = relative.strip_suffix("/init").unwrap_or(relative);
                    modules.push(relative.replace(['/', '\\'], "."));
                }
            }
        }
    }
    modules.sort();
    modules
}

impl Visitor for Lint<'_> {
    fn visit_function_call(&mut self, node: &ast::FunctionCall) {
        let suffixes: Vec<&Suffix> = node.suffixes().collect();
        if let Prefix::Name(name) = node.prefix()
            && name.token().to_string() == "require"
            && !self.own.contains("require")
            && let Some(Suffix::Call(ast::Call::AnonymousCall(args))) = suffixes.first()
        {
            self.require(args);
            return;
        }
        let Some(path) = self.chain(node.prefix(), suffixes.iter().copied()) else {
            return;
        };
        if path == "zephyr.entity.spawn" {
            // The call's arguments follow the dotted names.
            let dots = suffixes
                .iter()
                .take_while(|s| matches!(s, Suffix::Index(Index::Dot { .. })))
                .count();
            if let Some(Suffix::Call(ast::Call::AnonymousCall(args))) = suffixes.get(dots) {
                self.spawn(args);
            }
        }
    }

    fn visit_var_expression(&mut self, node: &ast::VarExpression) {
        self.chain(node.prefix(), node.suffixes());
    }
}
