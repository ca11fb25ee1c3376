//! The crate's error type.

use crate::id::EntityId;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a world operation can refuse. Messages name the entity and what is
/// wrong, so bindings can show them to a script as they are.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The id never existed, or its entity was destroyed.
    #[error("entity {0} does not exist")]
    NoSuchEntity(EntityId),
    /// The entity lacks a component the operation needs.
    #[error("entity {entity} has no {component} component")]
    MissingComponent {
        /// The entity.
        entity: EntityId,
        /// The component's name (`PointLight`, `ParticleEmitter`, `RigidBody`).
        component: &'static str,
    },
    /// A value the world refuses (not finite, negative where it cannot be, ...).
    #[error("{what} {reason}")]
    InvalidValue {
        /// What the value is (`position`, `mass`, ...).
        what: String,
        /// Why it is refused.
        reason: String,
    },
    /// The world keeps no components of this kind (an engine's world that
    /// has no lights, for instance).
    #[error("this world has no {0} components")]
    Unsupported(&'static str),
    /// The world does not keep what a query or write needs (an engine's
    /// world without tags, or without a spatial index).
    #[error("this world does not support {0}")]
    NoSupport(&'static str),
    /// The entity lacks an engine component (see
    /// [`WorldRead::field`](crate::WorldRead::field)).
    #[error("entity {entity} has no {component} component")]
    NoComponent {
        /// The entity.
        entity: EntityId,
        /// The component's name.
        component: String,
    },
    /// A field an engine component does not have, or a value of the wrong
    /// kind for it.
    #[error("{component}.{field}: {reason}")]
    Field {
        /// The component's name.
        component: String,
        /// The field's name.
        field: String,
        /// What is wrong (`no such field`, `must be a number, not a string`).
        reason: String,
    },
    /// A key name that is not in the `Key` table.
    #[error(
        "unknown key '{0}' (key names are those of the Key table, such as \"W\", \"Space\", \"LeftShift\")"
    )]
    UnknownKey(String),
}

/// Refuses non-finite numbers.
pub(crate) fn finite(what: &str, values: &[f64]) -> Result<()> {
    if values.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::InvalidValue {
            what: what.to_owned(),
            reason: "must be finite (not NaN or infinite)".into(),
        })
    }
}

/// Refuses negative or non-finite numbers.
pub(crate) fn non_negative(what: &str, values: &[f64]) -> Result<()> {
    finite(what, values)?;
    if values.iter().all(|v| *v >= 0.0) {
        Ok(())
    } else {
        Err(Error::InvalidValue {
            what: what.to_owned(),
            reason: "must not be negative".into(),
        })
    }
}
