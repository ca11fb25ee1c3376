//! The Lua API, declared once. This table drives registration, argument
//! checks, `docs/API.md` ([`api_markdown`]) and the bad-input tests.

use std::borrow::Cow;

use super::package::Imp::{
    self, General, GetNumber, GetVec3, Number3ToNumber, SetNumber, SetVec3, Vec3PairToNumber,
    Vec3PairToVec3, Vec3ToVec3,
};
use super::package::Type::{
    Any, Boolean, Entities, Entity, Handler, Integer, Key, Number, Scalar, Spawn, String, Strings,
    Table,
};
use super::package::{Access, ConstValue, Constant, Function, Package, Param, opt, req};
use super::{console, cvar, ecs, game, math};
use glam::DVec3;
use zephyr_cvar::CVarFlags;
use zephyr_world::WorldCommand as W;

const fn f(
    module: &'static str,
    name: &'static str,
    params: &'static [Param],
    returns: &'static [Param],
    writes: bool,
    doc: &'static str,
    imp: Imp,
) -> Function {
    let access = if writes {
        Access::Writes
    } else {
        Access::Reads
    };
    declared(module, name, params, returns, doc, access, imp)
}

/// A built-in with its thread rule.
const fn declared(
    module: &'static str,
    name: &'static str,
    params: &'static [Param],
    returns: &'static [Param],
    doc: &'static str,
    access: Access,
    imp: Imp,
) -> Function {
    Function {
        module: Cow::Borrowed(module),
        name: Cow::Borrowed(name),
        params: Cow::Borrowed(params),
        returns: Cow::Borrowed(returns),
        doc: Cow::Borrowed(doc),
        access,
        imp,
    }
}

/// A main-thread-only built-in (see [`Access::MainThread`]).
const fn main_thread(
    module: &'static str,
    name: &'static str,
    params: &'static [Param],
    returns: &'static [Param],
    doc: &'static str,
    imp: Imp,
) -> Function {
    declared(module, name, params, returns, doc, Access::MainThread, imp)
}

const E: Param = req("entity", Entity);
const XYZ: &[Param] = &[req("x", Number), req("y", Number), req("z", Number)];
const RGB: &[Param] = &[req("r", Number), req("g", Number), req("b", Number)];
const E_XYZ: &[Param] = &[E, req("x", Number), req("y", Number), req("z", Number)];
const E_RGB: &[Param] = &[E, req("r", Number), req("g", Number), req("b", Number)];
const PYR: &[Param] = &[
    req("pitch", Number),
    req("yaw", Number),
    req("roll", Number),
];
const TWO_POINTS: &[Param] = &[
    req("x1", Number),
    req("y1", Number),
    req("z1", Number),
    req("x2", Number),
    req("y2", Number),
    req("z2", Number),
];
const NUMBER: &[Param] = &[req("value", Number)];
const NOTHING: &[Param] = &[];

/// Every function of the Lua API, in documentation order.
pub static API: &[Function] = &[
    // console
    f(
        "console",
        "log",
        &[req("level", String), req("message", Any)],
        NOTHING,
        false,
        "Logs a message at level \"debug\", \"info\", \"warn\" or \"error\" (to tracing and the console's output).",
        General(console::log),
    ),
    f(
        "console",
        "execute",
        &[req("command", String)],
        NOTHING,
        true,
        "Runs console commands (`;` separates them); raises an error for an unknown command or a refused value.",
        General(console::execute),
    ),
    main_thread(
        "console",
        "register",
        &[
            req("name", String),
            req("handler", Handler),
            opt("help", String),
        ],
        NOTHING,
        "Adds a console command that calls `handler(args...)` in the main state. Main thread (a worker script moves there).",
        General(console::register),
    ),
    // cvar
    f(
        "cvar",
        "get",
        &[req("name", String)],
        &[req("value", String)],
        false,
        "The cvar's value in string form (floats keep a decimal point: \"90.0\").",
        General(cvar::get),
    ),
    f(
        "cvar",
        "get_number",
        &[req("name", String)],
        &[req("value", Number)],
        false,
        "The value of an int or float cvar as a number (an integer for an int cvar); another type is an error naming it.",
        General(cvar::get_number),
    ),
    f(
        "cvar",
        "get_bool",
        &[req("name", String)],
        &[req("value", Boolean)],
        false,
        "The value of a bool cvar as a boolean; another type is an error naming it.",
        General(cvar::get_bool),
    ),
    f(
        "cvar",
        "set",
        &[req("name", String), req("value", Scalar)],
        NOTHING,
        true,
        "Sets a registered cvar; a value of the wrong type, out of range or with a NUL byte is refused.",
        General(cvar::set),
    ),
    f(
        "cvar",
        "exists",
        &[req("name", String)],
        &[req("exists", Boolean)],
        false,
        "Whether a cvar of that name is registered.",
        General(cvar::exists),
    ),
    f(
        "cvar",
        "register",
        &[
            req("name", String),
            req("default", Scalar),
            opt("help", String),
            opt("flags", Integer),
        ],
        NOTHING,
        true,
        "Registers a cvar whose type is the default's (boolean, integer, number, string); flags combine cvar.ARCHIVE, cvar.READ_ONLY, cvar.CHEAT.",
        General(cvar::register),
    ),
    main_thread(
        "cvar",
        "on_change",
        &[req("name", String), opt("handler", Handler)],
        NOTHING,
        "Calls `handler(name, old, new)` in the main state after the cvar changes; nil removes it. Main thread (a worker script moves there).",
        General(cvar::on_change),
    ),
    f(
        "cvar",
        "get_lua_handler",
        &[req("name", String)],
        &[opt("handler", String)],
        false,
        "The name (or label) of the cvar's change handler, or nil.",
        General(cvar::get_lua_handler),
    ),
    // ecs (legacy)
    f(
        "ecs",
        "createEntity",
        NOTHING,
        &[req("entity", Entity)],
        true,
        "Creates an entity (same as zephyr.entity.create).",
        General(ecs::create_entity),
    ),
    f(
        "ecs",
        "addComponent",
        &[E, req("name", String), req("component", Table)],
        NOTHING,
        true,
        "Adds or replaces a component: \"Transform\", \"PointLight\", \"ParticleEmitter\", \"RigidBody\", or any other name for script data.",
        General(ecs::add_component),
    ),
    f(
        "ecs",
        "getComponent",
        &[E, req("name", String)],
        &[opt("component", Table)],
        false,
        "A copy of the component as a table, or nil when the entity lacks it.",
        General(ecs::get_component),
    ),
    // input (legacy)
    f(
        "input",
        "isKeyPressed",
        &[req("key", Key)],
        &[req("down", Boolean)],
        false,
        "Whether the key (a name such as \"W\") is held (legacy name: it means held, not pressed this frame; see `zephyr.input.was_pressed`).",
        General(ecs::is_key_pressed),
    ),
    f(
        "input",
        "getMousePos",
        NOTHING,
        &[req("x", Number), req("y", Number)],
        false,
        "The cursor position in window pixels.",
        General(ecs::get_mouse_pos),
    ),
    // zephyr.entity
    f(
        "zephyr.entity",
        "create",
        NOTHING,
        &[req("entity", Entity)],
        true,
        "Creates an entity with a default transform; on a worker the id is usable at once.",
        General(game::entity_create),
    ),
    f(
        "zephyr.entity",
        "spawn",
        &[
            req("prefab", Spawn),
            opt("x", Number),
            opt("y", Number),
            opt("z", Number),
        ],
        &[req("entity", Entity)],
        true,
        "Spawns an entity from a prefab: `spawn(\"Bullet\" [, x, y, z])`, or from a table of keys over one (every key optional): `spawn{prefab = \"Bullet\", name = ..., position = {x, y, z}, rotation = {pitch, yaw, roll}, scale = {x, y, z}, light = {color = {r, g, b}, intensity = 1, range = 10}, particles = {rate = 10, color = {r, g, b}, active = true}, body = {mass = 1, velocity = {x, y, z}}, tags = {\"enemy\"}, script = \"scripts/bullet.lua\", parallel = true}`; a key given replaces the prefab's. The entity exists at once (on a worker too); its behaviour, if it has a script, is attached at the next frame's start phase, in spawn order, and its `on_start` runs there.",
        General(super::spawn::entity_spawn),
    ),
    f(
        "zephyr.entity",
        "destroy",
        &[E],
        NOTHING,
        true,
        "Destroys an entity; its id never names another entity.",
        General(game::entity_destroy),
    ),
    f(
        "zephyr.entity",
        "exists",
        &[E],
        &[req("exists", Boolean)],
        false,
        "Whether the entity exists (false for destroyed or unknown ids).",
        General(game::entity_exists),
    ),
    f(
        "zephyr.entity",
        "find",
        &[req("name", String)],
        &[opt("entity", Entity)],
        false,
        "The earliest-created entity with that name, or nil.",
        General(game::entity_find),
    ),
    f(
        "zephyr.entity",
        "get_name",
        &[E],
        &[opt("name", String)],
        false,
        "The entity's name, or nil (also for an entity that does not exist).",
        General(game::entity_get_name),
    ),
    f(
        "zephyr.entity",
        "set_name",
        &[E, req("name", String)],
        NOTHING,
        true,
        "Names the entity.",
        General(game::entity_set_name),
    ),
    f(
        "zephyr.entity",
        "add_tag",
        &[E, req("tag", String)],
        NOTHING,
        true,
        "Tags the entity (`find_all` and `within` find entities by tag); a tag it has already changes nothing. A tag is a non-empty string.",
        General(game::entity_add_tag),
    ),
    f(
        "zephyr.entity",
        "remove_tag",
        &[E, req("tag", String)],
        NOTHING,
        true,
        "Removes a tag from the entity (nothing when it lacks it).",
        General(game::entity_remove_tag),
    ),
    f(
        "zephyr.entity",
        "has_tag",
        &[E, req("tag", String)],
        &[req("tagged", Boolean)],
        false,
        "Whether the entity has the tag (false for an entity that does not exist).",
        General(game::entity_has_tag),
    ),
    f(
        "zephyr.entity",
        "get_tags",
        &[E],
        &[opt("tags", Strings)],
        false,
        "The entity's tags in the order they were added, or nil for an entity that does not exist.",
        General(game::entity_get_tags),
    ),
    f(
        "zephyr.entity",
        "find_all",
        &[req("tag", String)],
        &[req("entities", Entities)],
        false,
        "Every entity with the tag, in creation order (an empty array when none has it).",
        General(game::entity_find_all),
    ),
    f(
        "zephyr.entity",
        "within",
        &[
            req("x", Number),
            req("y", Number),
            req("z", Number),
            req("radius", Number),
            opt("tag", String),
        ],
        &[req("entities", Entities)],
        false,
        "The entities whose position is within `radius` of (x, y, z), the boundary included, with the tag when one is given: nearest first, ties in creation order. Zephyr's world answers from a spatial grid (cells of 8 units).",
        General(game::entity_within),
    ),
    // zephyr.transform
    f(
        "zephyr.transform",
        "get_position",
        &[E],
        XYZ,
        false,
        "World position.",
        GetVec3(game::get_position),
    ),
    f(
        "zephyr.transform",
        "set_position",
        E_XYZ,
        NOTHING,
        true,
        "Sets the world position.",
        SetVec3(W::SetPosition),
    ),
    f(
        "zephyr.transform",
        "get_rotation",
        &[E],
        PYR,
        false,
        "Rotation as Euler angles in radians (applied yaw, then pitch, then roll).",
        GetVec3(game::get_rotation),
    ),
    f(
        "zephyr.transform",
        "set_rotation",
        &[
            E,
            req("pitch", Number),
            req("yaw", Number),
            req("roll", Number),
        ],
        NOTHING,
        true,
        "Sets the rotation from Euler angles in radians.",
        SetVec3(W::SetRotation),
    ),
    f(
        "zephyr.transform",
        "get_scale",
        &[E],
        XYZ,
        false,
        "Scale per axis.",
        GetVec3(game::get_scale),
    ),
    f(
        "zephyr.transform",
        "set_scale",
        E_XYZ,
        NOTHING,
        true,
        "Sets the scale.",
        SetVec3(W::SetScale),
    ),
    f(
        "zephyr.transform",
        "translate",
        &[E, req("dx", Number), req("dy", Number), req("dz", Number)],
        NOTHING,
        true,
        "Moves by a world-space offset.",
        SetVec3(W::Translate),
    ),
    f(
        "zephyr.transform",
        "rotate",
        &[
            E,
            req("dpitch", Number),
            req("dyaw", Number),
            req("droll", Number),
        ],
        NOTHING,
        true,
        "Adds Euler angle deltas (radians) to the rotation.",
        SetVec3(W::Rotate),
    ),
    f(
        "zephyr.transform",
        "look_at",
        &[
            E,
            req("tx", Number),
            req("ty", Number),
            req("tz", Number),
            opt("preserve_roll", Boolean),
        ],
        NOTHING,
        true,
        "Turns forward toward the target; roll resets to 0 unless preserve_roll. Own position: unchanged; straight up or down: yaw kept.",
        General(game::look_at),
    ),
    f(
        "zephyr.transform",
        "forward",
        &[E],
        XYZ,
        false,
        "Unit forward vector (-Z when unrotated).",
        GetVec3(game::forward),
    ),
    f(
        "zephyr.transform",
        "right",
        &[E],
        XYZ,
        false,
        "Unit right vector (+X when unrotated).",
        GetVec3(game::right),
    ),
    f(
        "zephyr.transform",
        "up",
        &[E],
        XYZ,
        false,
        "Unit up vector (+Y when unrotated).",
        GetVec3(game::up),
    ),
    // zephyr.input
    f(
        "zephyr.input",
        "is_key_down",
        &[req("key", Key)],
        &[req("down", Boolean)],
        false,
        "Whether the key is held (`Key.W`, `Key.Space`, ...).",
        General(game::is_key_down),
    ),
    f(
        "zephyr.input",
        "was_pressed",
        &[req("key", Key)],
        &[req("pressed", Boolean)],
        false,
        "Whether the key went down this frame: true for exactly one frame per press.",
        General(game::was_pressed),
    ),
    f(
        "zephyr.input",
        "was_released",
        &[req("key", Key)],
        &[req("released", Boolean)],
        false,
        "Whether the key went up this frame: true for exactly one frame per release.",
        General(game::was_released),
    ),
    f(
        "zephyr.input",
        "is_mouse_button_down",
        &[req("button", Integer)],
        &[req("down", Boolean)],
        false,
        "Whether mouse button `Mouse.Left` (0), `Mouse.Right` (1) or `Mouse.Middle` (2) is held.",
        General(game::is_mouse_button_down),
    ),
    f(
        "zephyr.input",
        "was_mouse_button_pressed",
        &[req("button", Integer)],
        &[req("pressed", Boolean)],
        false,
        "Whether the mouse button (`Mouse.Left`, `Mouse.Right`, `Mouse.Middle`) went down this frame.",
        General(game::was_mouse_button_pressed),
    ),
    f(
        "zephyr.input",
        "was_mouse_button_released",
        &[req("button", Integer)],
        &[req("released", Boolean)],
        false,
        "Whether the mouse button went up this frame.",
        General(game::was_mouse_button_released),
    ),
    f(
        "zephyr.input",
        "get_mouse_position",
        NOTHING,
        &[req("x", Number), req("y", Number)],
        false,
        "The cursor position in window pixels.",
        General(game::get_mouse_position),
    ),
    // zephyr.time
    f(
        "zephyr.time",
        "delta",
        NOTHING,
        &[req("seconds", Number)],
        false,
        "Seconds since the previous frame.",
        General(game::time_delta),
    ),
    f(
        "zephyr.time",
        "elapsed",
        NOTHING,
        &[req("seconds", Number)],
        false,
        "Seconds since the start.",
        General(game::time_elapsed),
    ),
    f(
        "zephyr.time",
        "frame",
        NOTHING,
        &[req("frame", Integer)],
        false,
        "The current frame number.",
        General(game::time_frame),
    ),
    // zephyr.light
    f(
        "zephyr.light",
        "get_color",
        &[E],
        RGB,
        false,
        "The point light's color.",
        GetVec3(game::light_get_color),
    ),
    f(
        "zephyr.light",
        "set_color",
        E_RGB,
        NOTHING,
        true,
        "Sets the light's color (channels >= 0).",
        SetVec3(W::SetLightColor),
    ),
    f(
        "zephyr.light",
        "get_intensity",
        &[E],
        NUMBER,
        false,
        "The light's intensity.",
        GetNumber(game::light_get_intensity),
    ),
    f(
        "zephyr.light",
        "set_intensity",
        &[E, req("value", Number)],
        NOTHING,
        true,
        "Sets the intensity (>= 0).",
        SetNumber(W::SetLightIntensity),
    ),
    f(
        "zephyr.light",
        "get_range",
        &[E],
        NUMBER,
        false,
        "The light's range.",
        GetNumber(game::light_get_range),
    ),
    f(
        "zephyr.light",
        "set_range",
        &[E, req("value", Number)],
        NOTHING,
        true,
        "Sets the range (>= 0).",
        SetNumber(W::SetLightRange),
    ),
    // zephyr.particles
    f(
        "zephyr.particles",
        "get_rate",
        &[E],
        NUMBER,
        false,
        "Particles per second.",
        GetNumber(game::particles_get_rate),
    ),
    f(
        "zephyr.particles",
        "set_rate",
        &[E, req("rate", Number)],
        NOTHING,
        true,
        "Sets particles per second (>= 0).",
        SetNumber(W::SetParticleRate),
    ),
    f(
        "zephyr.particles",
        "get_color",
        &[E],
        RGB,
        false,
        "The particle color.",
        GetVec3(game::particles_get_color),
    ),
    f(
        "zephyr.particles",
        "set_color",
        E_RGB,
        NOTHING,
        true,
        "Sets the particle color (channels >= 0).",
        SetVec3(W::SetParticleColor),
    ),
    f(
        "zephyr.particles",
        "get_active",
        &[E],
        &[req("active", Boolean)],
        false,
        "Whether the emitter emits.",
        General(game::particles_get_active),
    ),
    f(
        "zephyr.particles",
        "set_active",
        &[E, req("active", Boolean)],
        NOTHING,
        true,
        "Turns the emitter on or off.",
        General(game::particles_set_active),
    ),
    // zephyr.physics
    f(
        "zephyr.physics",
        "get_velocity",
        &[E],
        XYZ,
        false,
        "Linear velocity.",
        GetVec3(game::get_velocity),
    ),
    f(
        "zephyr.physics",
        "set_velocity",
        E_XYZ,
        NOTHING,
        true,
        "Sets the linear velocity.",
        SetVec3(W::SetVelocity),
    ),
    f(
        "zephyr.physics",
        "add_force",
        &[E, req("fx", Number), req("fy", Number), req("fz", Number)],
        NOTHING,
        true,
        "Adds a force for this frame (integrated by the next physics step, then cleared).",
        SetVec3(W::AddForce),
    ),
    f(
        "zephyr.physics",
        "add_impulse",
        &[E, req("ix", Number), req("iy", Number), req("iz", Number)],
        NOTHING,
        true,
        "Changes velocity by impulse / mass at once.",
        SetVec3(W::AddImpulse),
    ),
    // zephyr.math
    f(
        "zephyr.math",
        "vec3",
        XYZ,
        &[req("v", Table)],
        false,
        "A table {x = x, y = y, z = z}.",
        General(math::vec3),
    ),
    f(
        "zephyr.math",
        "distance",
        TWO_POINTS,
        &[req("distance", Number)],
        false,
        "Distance between two points.",
        Vec3PairToNumber(DVec3::distance),
    ),
    f(
        "zephyr.math",
        "lerp",
        &[req("a", Number), req("b", Number), req("t", Number)],
        &[req("value", Number)],
        false,
        "a + (b - a) * t.",
        Number3ToNumber(math::lerp),
    ),
    f(
        "zephyr.math",
        "clamp",
        &[req("v", Number), req("min", Number), req("max", Number)],
        &[req("value", Number)],
        false,
        "v limited to [min, max] (min must not exceed max).",
        General(math::clamp),
    ),
    f(
        "zephyr.math",
        "normalize",
        XYZ,
        XYZ,
        false,
        "The unit vector; the zero vector gives 0, 0, 0.",
        Vec3ToVec3(math::normalize),
    ),
    f(
        "zephyr.math",
        "dot",
        TWO_POINTS,
        &[req("dot", Number)],
        false,
        "Dot product.",
        Vec3PairToNumber(DVec3::dot),
    ),
    f(
        "zephyr.math",
        "cross",
        TWO_POINTS,
        XYZ,
        false,
        "Cross product.",
        Vec3PairToVec3(DVec3::cross),
    ),
    // zephyr.scene
    f(
        "zephyr.scene",
        "get_name",
        NOTHING,
        &[req("name", String)],
        false,
        "The current scene's name.",
        General(game::scene_get_name),
    ),
    // zephyr.profile
    f(
        "zephyr.profile",
        "begin",
        &[req("label", String)],
        NOTHING,
        false,
        "Begins a labelled section: a frame `[label] name` in `--profile`'s output and a span in `--trace`, until `finish`. Sections nest; one still open when the callback or script returns ends there.",
        General(game::profile_begin),
    ),
    f(
        "zephyr.profile",
        "finish",
        NOTHING,
        NOTHING,
        false,
        "Ends the innermost section `begin` started in this callback or script (an error if none is open).",
        General(game::profile_finish),
    ),
];

/// One line about each built-in module, for the reference and the editor
/// definitions.
const MODULE_DOCS: &[(&str, &str)] = &[
    (
        "console",
        "The engine console: log, run commands, add commands.",
    ),
    ("cvar", "Console variables: the engine's settings, typed."),
    (
        "ecs",
        "The reference design's entity functions (legacy names).",
    ),
    (
        "input",
        "The reference design's input functions (legacy names).",
    ),
    (
        "zephyr.entity",
        "Entities: create, destroy, find by name, tag or place.",
    ),
    (
        "zephyr.transform",
        "Position, rotation and scale, and the directions they give.",
    ),
    (
        "zephyr.input",
        "Keys and the mouse, held and pressed this frame.",
    ),
    ("zephyr.time", "The frame's time."),
    ("zephyr.light", "Point lights."),
    ("zephyr.particles", "Particle emitters."),
    (
        "zephyr.physics",
        "Rigid bodies: velocity, forces, impulses.",
    ),
    ("zephyr.math", "Vector math on plain numbers."),
    ("zephyr.scene", "The running scene."),
    (
        "zephyr.profile",
        "Labelled sections of code, for the profiler and the trace.",
    ),
];

/// The built-in packages: the [`API`] grouped by module, with their
/// constants (`cvar.ARCHIVE`, ...) and the `Key` and `Mouse` tables.
pub fn builtin_packages() -> Vec<Package> {
    let mut packages: Vec<Package> = Vec::new();
    for function in API {
        if packages.last().is_none_or(|p| p.name != function.module) {
            let doc = MODULE_DOCS
                .iter()
                .find(|(m, _)| *m == function.module)
                .map_or("", |(_, d)| *d);
            packages.push(Package::new(function.module.clone()).doc(doc));
        }
        if let Some(package) = packages.last_mut() {
            package
                .functions
                .push(std::sync::Arc::new(function.clone()));
        }
    }
    if let Some(cvar) = packages.iter_mut().find(|p| p.name == "cvar") {
        for (name, flag, doc) in [
            (
                "ARCHIVE",
                CVarFlags::ARCHIVE,
                "Saved in the player's settings (config.cfg).",
            ),
            (
                "READ_ONLY",
                CVarFlags::READ_ONLY,
                "Scripts and the console cannot change it.",
            ),
            (
                "CHEAT",
                CVarFlags::CHEAT,
                "Changes only while sv_cheats is on.",
            ),
        ] {
            cvar.constants.push(Constant {
                name: Cow::Borrowed(name),
                value: ConstValue::Integer(i64::from(flag.bits())),
                doc: Cow::Borrowed(doc),
            });
        }
    }
    let mut keys = Package::new("Key").doc(
        "Key names for `zephyr.input.is_key_down` and the `was_*` functions (`Key.W == \"W\"`).",
    );
    for key in zephyr_world::Key::ALL {
        keys = keys.constant(
            key.name(),
            ConstValue::String(Cow::Borrowed(key.name())),
            "",
        );
    }
    packages.push(keys);
    let mut mouse = Package::new("Mouse")
        .doc("Mouse buttons for `zephyr.input.is_mouse_button_down` and the `was_*` functions.");
    for (name, button) in [("Left", 0), ("Right", 1), ("Middle", 2)] {
        mouse = mouse.constant(name, ConstValue::Integer(button), "");
    }
    packages.push(mouse);
    packages
}
