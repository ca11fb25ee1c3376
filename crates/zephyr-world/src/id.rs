//! Entity ids as scripts see them.

use std::fmt;

/// An entity id: hecs's generation-checked entity bits. A destroyed entity's
/// id never names a later entity, because the generation differs.
///
/// In Lua an id is a positive integer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct EntityId(u64);

impl EntityId {
    /// The id of a hecs entity.
    #[cfg(feature = "hecs-world")]
    pub fn from_entity(entity: hecs::Entity) -> Self {
        EntityId(entity.to_bits().get())
    }

    /// The hecs entity, if the bits can name one.
    #[cfg(feature = "hecs-world")]
    pub fn entity(self) -> Option<hecs::Entity> {
        hecs::Entity::from_bits(self.0)
    }

    /// The id as a Lua integer.
    pub fn to_lua(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    /// An id from a Lua integer (`None` for zero or negative numbers).
    pub fn from_lua(value: i64) -> Option<Self> {
        u64::try_from(value).ok().filter(|v| *v != 0).map(EntityId)
    }

    /// An id from a world's own bits (`None` for zero): for a world that
    /// mints its own ids (see [`EngineWorld`](crate::EngineWorld)). Keep them
    /// below 2^63, so scripts see positive integers.
    pub fn from_bits(bits: u64) -> Option<Self> {
        (bits != 0).then_some(EntityId(bits))
    }

    /// The raw bits.
    pub fn bits(self) -> u64 {
        self.0
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
