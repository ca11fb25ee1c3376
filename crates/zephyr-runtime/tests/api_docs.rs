//! `docs/API.md` is generated from the binding registry; this test fails when
//! they disagree. `ZEPHYR_UPDATE_DOCS=1` rewrites the file instead.

use std::path::PathBuf;

use zephyr_runtime::api::{API, api_markdown};

fn docs_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/API.md")
}

/// Fails when the file at `path` (`name` in messages) is not `generated`;
/// with `ZEPHYR_UPDATE_DOCS` set, rewrites it first.
fn check_generated(path: &std::path::Path, name: &str, generated: &str) {
    if std::env::var_os("ZEPHYR_UPDATE_DOCS").is_some() {
        std::fs::write(path, generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{name} is out of date: run `ZEPHYR_UPDATE_DOCS=1 cargo test -p zephyr-runtime --test api_docs`"
    );
}

#[test]
fn docs_api_md_matches_the_registry() {
    check_generated(&docs_path(), "docs/API.md", &api_markdown());
}

#[test]
fn every_registered_function_is_documented() {
    let docs = api_markdown();
    for function in API {
        assert!(!function.doc.is_empty(), "{} has no doc", function.path());
        let module_header = format!("## `{}`", function.module);
        assert!(docs.contains(&module_header));
        assert!(
            docs.contains(&format!("| `{}(", function.name)),
            "{}",
            function.path()
        );
    }
}

#[test]
fn names_are_unique() {
    let mut paths: Vec<_> = API.iter().map(|f| f.path()).collect();
    let before = paths.len();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), before);
}

/// `docs/SCRIPTING.md` lists the built-in cvars between markers; the list
/// is generated from the registry (`ZEPHYR_UPDATE_DOCS=1` rewrites it).
#[test]
fn the_scripting_guide_lists_the_built_in_cvars_of_the_registry() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/SCRIPTING.md");
    let text = std::fs::read_to_string(&path).expect("docs/SCRIPTING.md");
    let (begin, end) = ("<!-- cvars:begin -->\n", "<!-- cvars:end -->");
    let start = text.find(begin).expect("the cvars:begin marker") + begin.len();
    let stop = text.find(end).expect("the cvars:end marker");
    let generated = zephyr_runtime::engine_cvars_markdown();
    if std::env::var_os("ZEPHYR_UPDATE_DOCS").is_some() {
        let updated = format!("{}{}{}", &text[..start], generated, &text[stop..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        text[start..stop] == generated,
        "docs/SCRIPTING.md's cvar list is out of date: run \
         `ZEPHYR_UPDATE_DOCS=1 cargo test -p zephyr-runtime --test api_docs`\n{generated}"
    );
}

/// The guide's links point at files of the repository.
#[test]
fn the_scripting_guide_links_only_files_that_exist() {
    let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let text = std::fs::read_to_string(docs.join("SCRIPTING.md")).unwrap();
    for link in text.split("](").skip(1) {
        let target = link.split(')').next().unwrap_or_default();
        if target.starts_with('#') || target.starts_with("http") {
            continue;
        }
        let file = target.split('#').next().unwrap_or_default();
        assert!(
            docs.join(file).exists(),
            "docs/SCRIPTING.md links {target}, which is not there"
        );
    }
}

/// `types/zephyr.lua` (the editor definitions) is `zephyr types`'s output;
/// this test fails when they disagree (`ZEPHYR_UPDATE_DOCS=1` rewrites it).
#[test]
fn the_editor_definitions_match_the_registry() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../types/zephyr.lua");
    let generated = zephyr_runtime::api::lua_definitions();
    check_generated(&path, "types/zephyr.lua", &generated);
    for function in API {
        let declared = format!("function {}.{}(", function.module, function.name);
        assert!(generated.contains(&declared), "{declared}");
    }
    for function in zephyr_runtime::api::SCRIPTED {
        assert!(generated.contains(&format!("function {}(", function.path())));
    }
    for name in [
        "on_start",
        "on_update",
        "on_destroy",
        "on_message",
        "on_reload",
    ] {
        assert!(
            generated.contains(&format!("function {name}(self")),
            "{name}"
        );
    }
    assert!(generated.contains("---@field Space key"));
    assert!(generated.contains("---@alias entity integer"));
}

/// What the definitions declare beside the registry exists in a script's
/// world, with the declared number of parameters (a Lua function's
/// `nparams` is its fixed parameters; `...` counts none).
#[test]
fn every_scripted_function_exists_in_the_main_state() {
    let system = zephyr_runtime::ScriptingSystem::new(zephyr_runtime::ScriptingConfig {
        workers: 1,
        ..Default::default()
    })
    .unwrap();
    for function in zephyr_runtime::api::SCRIPTED {
        let outcome = system.execute(&format!("return type({})", function.path()), "types_check");
        assert_eq!(outcome.to_string(), "function", "{}", function.path());
        let fixed = function.params.iter().filter(|(n, _)| *n != "...").count();
        let outcome = system.execute(
            &format!(
                "local info = debug.getinfo({}, 'u') return info.nparams, info.isvararg",
                function.path()
            ),
            "types_check",
        );
        if let zephyr_runtime::Outcome::Returned(values) = &outcome
            && values.len() == 2
            && values[0].to_string() != "0"
        {
            let vararg = function.params.iter().any(|(n, _)| *n == "...");
            assert_eq!(
                values[0].to_string(),
                fixed.to_string(),
                "{} declares {fixed} fixed parameters",
                function.path()
            );
            assert_eq!(
                values[1].to_string(),
                vararg.to_string(),
                "{}",
                function.path()
            );
        }
    }
}
