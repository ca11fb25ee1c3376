//! `docs/API.md` is generated from the binding registry; this test fails when
//! they disagree. `ZEPHYR_UPDATE_DOCS=1` rewrites the file instead.

use std::path::PathBuf;

use zephyr_runtime::api::{API, api_markdown};

fn docs_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/API.md")
}

#[test]
fn docs_api_md_matches_the_registry() {
    let generated = api_markdown();
    let path = docs_path();
    if std::env::var_os("ZEPHYR_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/API.md is out of date: run `ZEPHYR_UPDATE_DOCS=1 cargo test -p zephyr-runtime --test api_docs`"
    );
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
