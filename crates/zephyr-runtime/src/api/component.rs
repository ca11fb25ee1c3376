//! Engine components: a Rust type of the engine's, declared by its fields,
//! that scripts read and write field by field (`Health.hp(e)`,
//! `Health.set_hp(e, 5)`). The world keeps the values (see
//! [`WorldRead::field`](zephyr_world::WorldRead::field)); a declaration
//! becomes a [`Package`] of one getter and one setter per field, so its
//! argument checks, messages, docs and editor types are the packages'.

use std::borrow::Cow;

use zephyr_world::{FieldValue, WorldCommand};

use super::call::Call;
use super::package::{Function, Package, Ret, Type};

/// The kind of a component field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldType {
    /// A finite number.
    Number,
    /// An integer.
    Integer,
    /// A boolean.
    Boolean,
    /// A string.
    String,
    /// An entity id.
    Entity,
}

impl FieldType {
    fn ty(self) -> Type {
        match self {
            FieldType::Number => Type::Number,
            FieldType::Integer => Type::Integer,
            FieldType::Boolean => Type::Boolean,
            FieldType::String => Type::String,
            FieldType::Entity => Type::Entity,
        }
    }

    /// The argument at `index`, as this kind (the declaration has checked
    /// it).
    fn read(self, call: &Call<'_>, index: usize) -> FieldValue {
        match self {
            FieldType::Number => FieldValue::Number(call.number(index)),
            FieldType::Integer => FieldValue::Integer(call.integer(index)),
            FieldType::Boolean => FieldValue::Bool(call.boolean(index)),
            FieldType::String => FieldValue::String(call.string(index)),
            FieldType::Entity => FieldValue::Entity(call.entity(index)),
        }
    }
}

/// One field of a [`Component`].
#[derive(Debug, Clone)]
pub struct Field {
    /// Its name (`hp`).
    pub name: &'static str,
    /// Its kind.
    pub ty: FieldType,
    /// One line for the docs.
    pub doc: &'static str,
}

/// An engine component as scripts see it: a name and typed fields.
///
/// ```
/// use zephyr_runtime::api::{Component, FieldType, Package};
///
/// let health = Component::new("Health")
///     .doc("Hit points.")
///     .field("hp", FieldType::Number, "Hit points left.")
///     .field("max", FieldType::Number, "Hit points when full.");
/// let package = Package::from(health);
/// let names: Vec<_> = package.functions.iter().map(|f| f.name.to_string()).collect();
/// assert_eq!(names, ["hp", "set_hp", "max", "set_max"]);
/// ```
#[derive(Debug, Clone)]
pub struct Component {
    /// Its name, also the Lua table's (`Health`).
    pub name: &'static str,
    /// One line for the docs.
    pub doc: &'static str,
    /// Its fields, in declaration order.
    pub fields: Vec<Field>,
}

impl Component {
    /// A component with no fields yet.
    pub fn new(name: &'static str) -> Self {
        Component {
            name,
            doc: "",
            fields: Vec::new(),
        }
    }

    /// Sets the doc line.
    pub fn doc(mut self, doc: &'static str) -> Self {
        self.doc = doc;
        self
    }

    /// Adds a field.
    pub fn field(mut self, name: &'static str, ty: FieldType, doc: &'static str) -> Self {
        self.fields.push(Field { name, ty, doc });
        self
    }
}

impl From<Component> for Package {
    fn from(component: Component) -> Package {
        let mut package = Package::new(component.name).doc(component.doc);
        for field in component.fields {
            let Field { name, ty, doc } = field;
            let of = component.name;
            package = package
                .function(
                    Function::new(name, move |call| {
                        let entity = call.entity(1);
                        let value = call.read(|world| world.field(entity, of, name))?;
                        Ok(match value {
                            FieldValue::Number(v) => Ret::Number(v),
                            FieldValue::Integer(v) => Ret::Integer(v),
                            FieldValue::Bool(v) => Ret::Bool(v),
                            FieldValue::String(v) => Ret::Str(v),
                            FieldValue::Entity(v) => Ret::Entity(v),
                        })
                    })
                    .param("entity", Type::Entity)
                    .returns(name, ty.ty())
                    .doc(Cow::Owned(format!("The entity's `{of}.{name}`: {doc}"))),
                )
                .function(
                    Function::new(format!("set_{name}"), move |call| {
                        let entity = call.entity(1);
                        let value = ty.read(call, 2);
                        call.write(WorldCommand::set_field(entity, of, name, value))?;
                        Ok(Ret::None)
                    })
                    .param("entity", Type::Entity)
                    .param(name, ty.ty())
                    .doc(Cow::Owned(format!(
                        "Sets the entity's `{of}.{name}`: {doc}"
                    )))
                    .writes(),
                );
        }
        package
    }
}
