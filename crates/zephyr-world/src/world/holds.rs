//! Despawns that wait for their owner: an entity a behaviour runs on stays
//! readable after a despawn until the behaviour's `on_destroy` has run.

use super::World;
use crate::error::{Error, Result};
use crate::id::EntityId;

/// An entity whose despawn waits for its owner (see [`World::hold_despawn`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct DespawnHold;

/// A held entity that has been despawned: it still exists until its owner
/// calls [`World::despawn_now`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Doomed;

impl World {
    /// Defers the despawn of `id` to its owner: from now on
    /// [`WorldWrite::despawn`](crate::WorldWrite::despawn) (and so a script's `zephyr.entity.destroy`)
    /// only marks the entity *doomed*; it stays readable until the owner,
    /// having run its own clean-up (a behaviour's `on_destroy`), calls
    /// [`despawn_now`](Self::despawn_now). Owners collect doomed entities
    /// with [`take_doomed`](Self::take_doomed).
    pub fn hold_despawn(&mut self, id: EntityId) -> Result<()> {
        self.insert_component(id, DespawnHold)
    }

    /// Ends a [`hold_despawn`](Self::hold_despawn): despawns become immediate
    /// again. An entity that was doomed meanwhile stays doomed (it is in the
    /// next `take_doomed`).
    pub fn release_despawn(&mut self, id: EntityId) {
        if let Ok(entity) = self.entity(id) {
            let _ = self.ecs.remove_one::<DespawnHold>(entity);
        }
    }

    /// Whether `id` is held and has been despawned, waiting for its owner.
    pub fn is_doomed(&self, id: EntityId) -> bool {
        self.entity(id)
            .is_ok_and(|entity| self.ecs.satisfies::<&Doomed>(entity))
    }

    /// The held entities despawned since the last call, in despawn order.
    pub fn take_doomed(&mut self) -> Vec<EntityId> {
        std::mem::take(&mut self.doomed)
    }

    /// Despawns an entity at once, held or not.
    pub fn despawn_now(&mut self, id: EntityId) -> Result<()> {
        let entity = self.entity(id)?;
        self.unindex_name(entity);
        self.unindex_tags(entity);
        self.touch(entity);
        if let Some(slot) = self.slots.get_mut(entity.id() as usize) {
            *slot = None;
        }
        self.removals += 1;
        self.ecs
            .despawn(entity)
            .map_err(|_| Error::NoSuchEntity(id))
    }

    /// How many entities have been removed so far: when this has not
    /// changed, every entity seen before still exists.
    pub fn removals(&self) -> u64 {
        self.removals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{WorldRead, WorldWrite};

    #[test]
    fn a_held_entity_is_doomed_by_despawn_and_removed_by_its_owner() {
        let mut world = World::new("t");
        let held = world.create();
        let plain = world.create();
        world.hold_despawn(held).unwrap();
        let removals = world.removals();
        world.despawn(held).unwrap();
        world.despawn(held).unwrap(); // twice: doomed once
        world.despawn(plain).unwrap();
        assert!(world.exists(held), "still readable for its owner");
        assert!(world.is_doomed(held));
        assert!(!world.exists(plain));
        assert_eq!(world.take_doomed(), [held]);
        assert!(world.take_doomed().is_empty());
        world.despawn_now(held).unwrap();
        assert!(!world.exists(held));
        assert_eq!(world.removals(), removals + 2);

        let released = world.create();
        world.hold_despawn(released).unwrap();
        world.release_despawn(released);
        world.despawn(released).unwrap();
        assert!(!world.exists(released), "released: immediate again");
    }
}
