//! The typed path for the per-entity component accessors (`get_position`,
//! `set_position`, `translate`, `light.set_intensity`, ...) and the vector
//! math (`distance`, `lerp`, ...): the calls a game makes thousands of times
//! a frame.
//!
//! mlua reads an `i64` or `f64` argument straight off the Lua stack, but a
//! `Value` (or an `Either<f64, Value>`) through a generic path that costs
//! about as much as the call itself (see BENCHMARKS.md). Each typed [`Imp`]
//! therefore becomes one closure with a fixed signature (`(i64) -> (f64,
//! f64, f64)`, `(i64, f64, f64, f64)`, ...) that checks its numbers with the
//! registry's own rule ([`Site::check`]) and calls the implementation. Entity
//! ids are read as `i64`, so they keep all 64 bits.
//!
//! A value that is not a number fails inside mlua's conversion, before our
//! checks run. The functions are registered as named userdata functions so
//! that error carries the binding's name, and [`describe`] rewrites it into
//! the registry's message wherever errors reach scripts or the host.

use std::sync::Arc;

use glam::DVec3;
use mlua::{Function, Lua, UserDataMethods, UserDataRegistry};
use zephyr_world::EntityId;

use super::Host;
use super::call::Site;
use super::package::{Function as ApiFunction, Imp, Number, Package, Type};
use crate::recording::WorkerFlag;

/// The userdata type the typed functions are registered on; its name
/// prefixes their names in mlua's argument errors.
pub(crate) struct ZephyrBinding;

const PREFIX: &str = "ZephyrBinding.";

/// Whether `spec` has a typed implementation; an error when its declaration
/// does not match that implementation's signature (the typed closures read
/// exactly the declared parameters, all required).
fn is_typed(spec: &ApiFunction) -> mlua::Result<bool> {
    if matches!(spec.imp, Imp::Typed(_)) {
        return Ok(true);
    }
    let Some((params, returns)) = spec.imp.signature() else {
        return Ok(false);
    };
    let types = |list: &[super::Param]| list.iter().map(|p| p.ty).collect::<Vec<Type>>();
    let optional = spec
        .params
        .iter()
        .chain(spec.returns.iter())
        .any(|p| p.optional);
    if types(&spec.params) != params || types(&spec.returns) != returns || optional {
        return Err(mlua::Error::runtime(format!(
            "{}: its declaration does not match its typed implementation",
            spec.path()
        )));
    }
    Ok(true)
}

/// The typed bindings' functions, as `(spec, function)` pairs.
pub(super) type Functions = Vec<(Arc<ApiFunction>, Function)>;

/// Checks every typed function's declaration against its implementation
/// (at install, though the functions are made on first use).
pub(super) fn check_declarations(packages: &[Package]) -> mlua::Result<()> {
    for spec in packages.iter().flat_map(|p| &p.functions) {
        is_typed(spec)?;
    }
    Ok(())
}

/// Creates the functions of every binding with a typed implementation, as
/// `(spec, function)` pairs.
pub(super) fn functions(
    lua: &Lua,
    host: &Arc<Host>,
    worker: &WorkerFlag,
) -> mlua::Result<Functions> {
    let mut specs = Vec::new();
    for spec in host.packages.iter().flat_map(|p| &p.functions) {
        if is_typed(spec)? {
            specs.push(spec.clone());
        }
    }
    let bindings: Vec<Binding> = specs
        .iter()
        .map(|spec| Binding {
            host: host.clone(),
            worker: worker.clone(),
            spec: spec.clone(),
        })
        .collect();
    lua.register_userdata_type::<ZephyrBinding>(move |registry| {
        for binding in bindings {
            add(registry, binding);
        }
    })?;
    let holder = lua.create_any_userdata(ZephyrBinding)?;
    specs
        .into_iter()
        .map(|spec| {
            let function = mlua::ObjectLike::get::<Function>(&holder, spec.path())?;
            Ok((spec, function))
        })
        .collect()
}

/// What a typed closure holds.
pub(crate) struct Binding {
    pub(crate) host: Arc<Host>,
    pub(crate) worker: WorkerFlag,
    pub(crate) spec: Arc<ApiFunction>,
}

impl Binding {
    #[inline]
    pub(crate) fn site<'a>(&'a self, lua: &'a Lua) -> Site<'a> {
        Site::new(lua, &self.host, &self.spec, &self.worker.0)
    }
}

/// An entity id [`Site::check`] has accepted.
#[inline]
fn entity(id: i64) -> EntityId {
    EntityId::from_lua(id).unwrap_or_else(|| unreachable!("checked as an entity"))
}

/// Registers the closure for one typed binding.
fn add(registry: &mut UserDataRegistry<ZephyrBinding>, b: Binding) {
    let name = b.spec.path();
    match b.spec.imp.clone() {
        Imp::General(_) | Imp::Closure(_) => {}
        Imp::Typed(typed) => typed.0.register(registry, b),
        Imp::GetVec3(get) => registry.add_function(name, move |lua, e: i64| {
            let site = b.site(lua);
            site.check(Imp::ENTITY, [Number::Int(e)])?;
            let v = site.read(|w| get(w, entity(e)))?;
            Ok((v.x, v.y, v.z))
        }),
        Imp::GetNumber(get) => registry.add_function(name, move |lua, e: i64| {
            let site = b.site(lua);
            site.check(Imp::ENTITY, [Number::Int(e)])?;
            site.read(|w| get(w, entity(e)))
        }),
        Imp::SetVec3(command) => {
            registry.add_function(name, move |lua, (e, x, y, z): (i64, f64, f64, f64)| {
                let site = b.site(lua);
                let args = [
                    Number::Int(e),
                    Number::Float(x),
                    Number::Float(y),
                    Number::Float(z),
                ];
                site.check(Imp::ENTITY_VEC3, args)?;
                site.write(command(entity(e), DVec3::new(x, y, z)))
            })
        }
        Imp::SetNumber(command) => {
            registry.add_function(name, move |lua, (e, value): (i64, f64)| {
                let site = b.site(lua);
                site.check(Imp::ENTITY_NUMBER, [Number::Int(e), Number::Float(value)])?;
                site.write(command(entity(e), value))
            })
        }
        Imp::Vec3PairToNumber(f) => registry.add_function(
            name,
            move |lua, (x1, y1, z1, x2, y2, z2): (f64, f64, f64, f64, f64, f64)| {
                let args = [x1, y1, z1, x2, y2, z2].map(Number::Float);
                b.site(lua).check(Imp::NUMBERS_6, args)?;
                Ok(f(DVec3::new(x1, y1, z1), DVec3::new(x2, y2, z2)))
            },
        ),
        Imp::Vec3PairToVec3(f) => registry.add_function(
            name,
            move |lua, (x1, y1, z1, x2, y2, z2): (f64, f64, f64, f64, f64, f64)| {
                let args = [x1, y1, z1, x2, y2, z2].map(Number::Float);
                b.site(lua).check(Imp::NUMBERS_6, args)?;
                let v = f(DVec3::new(x1, y1, z1), DVec3::new(x2, y2, z2));
                Ok((v.x, v.y, v.z))
            },
        ),
        Imp::Vec3ToVec3(f) => {
            registry.add_function(name, move |lua, (x, y, z): (f64, f64, f64)| {
                b.site(lua)
                    .check(Imp::NUMBERS_3, [x, y, z].map(Number::Float))?;
                let v = f(DVec3::new(x, y, z));
                Ok((v.x, v.y, v.z))
            })
        }
        Imp::Number3ToNumber(f) => {
            registry.add_function(name, move |lua, (a, x, t): (f64, f64, f64)| {
                b.site(lua)
                    .check(Imp::NUMBERS_3, [a, x, t].map(Number::Float))?;
                Ok(f(a, x, t))
            })
        }
    }
}

/// The registry's message for an argument error mlua raised while
/// converting a fast binding's arguments, with the script position found in
/// the traceback: `chunk:line: zephyr.transform.set_position: argument 2 (x)
/// must be a finite number, got string`.
pub(crate) fn describe(
    host: &Host,
    error: &mlua::Error,
    traceback: Option<&str>,
) -> Option<String> {
    let mlua::Error::BadArgument {
        to: Some(to),
        pos,
        cause,
        ..
    } = error
    else {
        return None;
    };
    let path = to.strip_prefix(PREFIX)?;
    let spec = host.function(path)?;
    let param = spec.params.get(pos.checked_sub(1)?)?;
    let got = match cause.as_ref() {
        mlua::Error::FromLuaConversionError { from, .. } => *from,
        _ => "a value of another type",
    };
    let location = traceback
        .into_iter()
        .flat_map(str::lines)
        .map(str::trim)
        .find(|line| {
            // The first frame in a script: not C, and not the sandbox's own
            // pcall wrapper.
            !line.starts_with("[C]")
                && !line.starts_with("zephyr.sandbox:")
                && line.contains(": in ")
        })
        .and_then(|line| line.split_once(": in ").map(|(at, _)| format!("{at}: ")))
        .unwrap_or_default();
    Some(format!(
        "{location}{path}: argument {pos} ({}) must be {}, got {got}",
        param.name,
        param.ty.expected()
    ))
}

#[cfg(test)]
mod tests {
    use zephyr_world::WorldCommand;

    use super::*;
    use crate::api::Param;
    use crate::api::package::{opt, req};

    #[test]
    fn the_per_entity_accessors_and_the_vector_math_are_typed() {
        let typed: Vec<String> = crate::api::API
            .iter()
            .filter(|s| is_typed(s).unwrap())
            .map(|s| s.path())
            .collect();
        for path in [
            "zephyr.transform.get_position",
            "zephyr.transform.set_position",
            "zephyr.transform.translate",
            "zephyr.light.set_intensity",
            "zephyr.physics.add_force",
            "zephyr.math.distance",
            "zephyr.math.lerp",
        ] {
            assert!(typed.iter().any(|t| t == path), "{path} is not typed");
        }
        assert_eq!(typed.len(), 30, "{typed:?}");
    }

    #[test]
    fn a_declaration_that_does_not_match_its_typed_implementation_is_refused() {
        let spec = |params: &'static [Param]| ApiFunction {
            module: "test".into(),
            name: "set".into(),
            params: params.into(),
            returns: (&[][..]).into(),
            doc: "".into(),
            access: crate::api::Access::Writes,
            imp: Imp::SetNumber(WorldCommand::SetLightRange),
        };
        const GOOD: &[Param] = &[req("entity", Type::Entity), req("value", Type::Number)];
        const SHORT: &[Param] = &[req("entity", Type::Entity)];
        const INTEGER: &[Param] = &[req("entity", Type::Entity), req("value", Type::Integer)];
        const OPTIONAL: &[Param] = &[req("entity", Type::Entity), opt("value", Type::Number)];
        assert!(is_typed(&spec(GOOD)).unwrap());
        for params in [SHORT, INTEGER, OPTIONAL] {
            let error = is_typed(&spec(params)).unwrap_err().to_string();
            assert!(
                error.contains("test.set: its declaration does not match"),
                "{error}"
            );
        }
    }
}
