//! The bad-input matrix, generated from the binding registry: every function
//! of the API is called with each kind of bad argument, on the main thread and
//! on a worker, and must raise a Lua error naming the function and the
//! argument, never panic.

use zephyr_runtime::api::{API, ApiFunction, Type};
use zephyr_runtime::{Outcome, ScriptErrorKind, ScriptingConfig, ScriptingSystem};

/// A valid value of each type (what the other arguments get).
fn valid(ty: Type) -> &'static str {
    match ty {
        Type::Entity => "E",
        Type::Number => "1",
        Type::Integer => "0",
        Type::String => "'r_fov'",
        Type::Boolean => "true",
        Type::Key => "'W'",
        Type::Table => "{}",
        Type::Scalar => "1",
        Type::Handler => "'H'",
        Type::Spawn => "{}",
        _ => "1",
    }
}

/// Values of the wrong kind for each type.
fn invalid(ty: Type) -> &'static [&'static str] {
    match ty {
        Type::Entity => &["'x'", "{}", "-1", "0", "1.5", "true", "0/0"],
        Type::Number => &["'x'", "{}", "0/0", "1/0", "-1/0", "true", "print"],
        Type::Integer => &["1.5", "'x'", "{}", "0/0"],
        Type::String => &["1", "{}", "true", "print"],
        Type::Boolean => &["1", "'true'", "{}"],
        Type::Key => &["'Banana'", "'w'", "1", "{}"],
        Type::Table => &["1", "'x'", "true"],
        Type::Scalar => &["{}", "print", "0/0"],
        Type::Handler => &["1", "{}", "true"],
        Type::Spawn => &["1", "true", "print"],
        _ => &[],
    }
}

/// Every bad call of `f`: (source, argument index it is about).
fn bad_calls(f: &ApiFunction) -> Vec<(String, usize)> {
    let path = f.path();
    let mut calls = Vec::new();
    for (i, param) in f.params.iter().enumerate() {
        let before: Vec<&str> = f.params[..i].iter().map(|p| valid(p.ty)).collect();
        let after: Vec<&str> = f.params[i + 1..].iter().map(|p| valid(p.ty)).collect();
        // A missing argument arrives as nil, which `any` accepts.
        if !param.optional && param.ty != Type::Any {
            calls.push((format!("{path}({})", before.join(", ")), i + 1));
        }
        for bad in invalid(param.ty) {
            let args: Vec<&str> = before
                .iter()
                .copied()
                .chain([*bad])
                .chain(after.iter().copied())
                .collect();
            calls.push((format!("{path}({})", args.join(", ")), i + 1));
        }
    }
    calls
}

fn system() -> ScriptingSystem {
    let system = ScriptingSystem::new(ScriptingConfig {
        workers: 2,
        ..ScriptingConfig::default()
    })
    .unwrap();
    system
        .cvars()
        .register(zephyr_runtime::cvar::CVarDef::new("r_fov", 75.0))
        .unwrap();
    system
}

const SETUP: &str = "function H() end
    E = zephyr.entity.create()
    ecs.addComponent(E, 'PointLight', {})
    ecs.addComponent(E, 'ParticleEmitter', {})
    ecs.addComponent(E, 'RigidBody', {})
    return E";

fn check(outcome: &Outcome, source: &str, path: &str, index: usize, where_: &str) {
    let error = outcome
        .error()
        .unwrap_or_else(|| panic!("{where_}: `{source}` should fail, got {outcome}"));
    assert_eq!(
        error.kind,
        ScriptErrorKind::Runtime,
        "{where_}: `{source}`: {error}"
    );
    let expected = format!("{path}: argument {index} (");
    assert!(
        error.message.contains(&expected),
        "{where_}: `{source}` should name `{expected}`: {}",
        error.message
    );
}

#[test]
fn every_function_refuses_every_kind_of_bad_argument() {
    let mut system = system();
    let entity = system.execute(SETUP, "setup").to_string();
    let mut checked = 0;
    let mut worker_jobs = Vec::new();
    for f in API {
        for (source, index) in bad_calls(f) {
            let outcome = system.execute(&source, "matrix.lua");
            check(&outcome, &source, &f.path(), index, "main thread");
            let error = outcome
                .error()
                .map(|e| e.message.clone())
                .unwrap_or_default();
            assert!(error.starts_with("matrix.lua:1: "), "`{source}`: {error}");
            // The same call on a worker (E is a global of the main state only).
            let worker_source = format!("local E = {entity}\n{source}");
            worker_jobs.push((
                system.enqueue_script(&worker_source, None).unwrap(),
                source,
                f,
                index,
            ));
            checked += 1;
        }
    }
    for (handle, source, f, index) in worker_jobs {
        let outcome = system.wait(handle);
        check(&outcome, &source, &f.path(), index, "worker");
    }
    assert!(checked > 400, "only {checked} bad calls generated");
}

#[test]
fn entities_that_do_not_exist_are_errors_except_for_the_queries() {
    let mut system = system();
    system.execute(SETUP, "setup");
    let gone = system
        .execute(
            "local e = zephyr.entity.create() zephyr.entity.destroy(e) return e",
            "setup",
        )
        .to_string();
    let lenient = [
        "zephyr.entity.exists",
        "zephyr.entity.get_name",
        "zephyr.entity.has_tag",
        "zephyr.entity.get_tags",
    ];
    for f in API
        .iter()
        .filter(|f| f.params.first().is_some_and(|p| p.ty == Type::Entity))
    {
        let args: Vec<String> = std::iter::once(gone.clone())
            .chain(f.params[1..].iter().map(|p| valid(p.ty).to_owned()))
            .collect();
        let source = format!("return {}({})", f.path(), args.join(", "));
        let on_main = system.execute(&source, "gone.lua");
        let handle = system.enqueue_script(&source, None).unwrap();
        let on_worker = system.wait(handle);
        for outcome in [on_main, on_worker] {
            if lenient.contains(&f.path().as_str()) {
                assert!(outcome.is_ok(), "`{source}`: {outcome}");
                assert!(
                    matches!(outcome.to_string().as_str(), "false" | "nil"),
                    "`{source}`: {outcome}"
                );
            } else {
                let error = outcome
                    .error()
                    .unwrap_or_else(|| panic!("`{source}` should fail"));
                let expected = format!("{}: entity {gone} does not exist", f.path());
                assert!(
                    error.message.contains(&expected),
                    "`{source}`: {}",
                    error.message
                );
            }
        }
    }
}
