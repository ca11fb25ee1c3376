//! What changed since a snapshot: the world's versions, the per-chunk change
//! stamps, and the snapshots worker jobs read (whole, or sharing the chunks
//! that did not change).

use super::snapshot::{CHUNK_SHIFT, Chunk, EntityRecord, Snapshot};
use super::{Created, World};
use crate::components::{
    Name, ParticleEmitter, PointLight, RigidBody, ScriptData, Tags, Transform,
};
use crate::id::EntityId;

/// Identities of worlds, for [`World::snapshot_since`].
pub(super) static NEXT_IDENTITY: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

/// What a snapshot copies of an entity.
type RecordQuery<'a> = (
    &'a Created,
    &'a Transform,
    Option<&'a Name>,
    Option<&'a PointLight>,
    Option<&'a ParticleEmitter>,
    Option<&'a RigidBody>,
    Option<&'a ScriptData>,
    Option<&'a Tags>,
);

/// A copy of one entity's components.
pub(super) fn record(
    (created, transform, name, light, emitter, body, data, tags): <RecordQuery<'_> as hecs::Query>::Item<'_>,
) -> EntityRecord {
    EntityRecord {
        created: created.0,
        name: name.map(|n| n.0.clone()),
        transform: *transform,
        light: light.copied(),
        emitter: emitter.copied(),
        body: body.copied(),
        data: data.map(|d| d.0.clone()).unwrap_or_default(),
        tags: tags.map(|t| t.0.clone()).unwrap_or_default(),
    }
}

/// Records that the entity at hecs index `index` changed at `version`.
pub(super) fn mark(chunk_changed: &mut Vec<u64>, index: u32, version: u64) {
    let chunk = (index >> CHUNK_SHIFT) as usize;
    if chunk >= chunk_changed.len() {
        chunk_changed.resize(chunk + 1, 0);
    }
    chunk_changed[chunk] = version;
}

impl World {
    /// The snapshot worker jobs read: the last one while nothing changed,
    /// else one that copies only the chunks changed since it (when only the
    /// time, the input or the scene name changed, it shares every entity).
    pub fn shared_snapshot(&self) -> std::sync::Arc<Snapshot> {
        let mut last = self.last_view.lock();
        match &*last {
            Some((version, snapshot)) if *version == self.version() => snapshot.clone(),
            previous => {
                let snapshot = std::sync::Arc::new(match previous {
                    Some((_, previous)) => self.snapshot_since(previous),
                    None => self.snapshot(),
                });
                *last = Some((self.version(), snapshot.clone()));
                snapshot
            }
        }
    }

    /// A number that changes whenever the world may have changed; used to
    /// reuse snapshots.
    pub fn version(&self) -> u64 {
        self.version + self.meta_version
    }

    /// A number that changes whenever an entity or component may have
    /// changed (not when only the time, the input or the scene name did).
    pub fn entities_version(&self) -> u64 {
        self.version
    }

    /// Counts a change of `entity`, for [`version`](Self::version) and for
    /// the snapshot chunk that holds it.
    pub(super) fn touch(&mut self, entity: hecs::Entity) {
        self.version += 1;
        mark(&mut self.chunk_changed, entity.id(), self.version);
    }

    /// A copy of everything scripts can read, for worker threads.
    pub fn snapshot(&self) -> Snapshot {
        let chunks = self.slots.len().div_ceil(1 << CHUNK_SHIFT);
        let mut built = vec![Chunk::default(); chunks];
        let mut query = self.ecs.query::<(hecs::Entity, RecordQuery<'_>)>();
        for (entity, components) in query.iter() {
            let chunk = (entity.id() >> CHUNK_SHIFT) as usize;
            if chunk >= built.len() {
                built.resize(chunk + 1, Chunk::default());
            }
            built[chunk]
                .entities
                .push((EntityId::from_entity(entity), record(components)));
        }
        for chunk in &mut built {
            chunk
                .entities
                .sort_by_key(|(id, _)| id.entity().map_or(0, |e| e.id()));
        }
        self.snapshot_of(built.into_iter().map(std::sync::Arc::new).collect())
    }

    /// A snapshot like [`snapshot`](Self::snapshot), sharing what did not
    /// change since `previous` was taken from this world: a change of time
    /// or input alone copies no entity, and a changed entity copies only the
    /// chunk of 64 entities around it.
    pub fn snapshot_since(&self, previous: &Snapshot) -> Snapshot {
        let (identity, taken) = previous.entities_version;
        if identity != self.identity || self.all_changed > taken {
            return self.snapshot();
        }
        let chunks = self
            .slots
            .len()
            .div_ceil(1 << CHUNK_SHIFT)
            .max(previous.chunks.len());
        let chunks = (0..chunks)
            .map(|c| {
                let changed = self.chunk_changed.get(c).copied().unwrap_or(0);
                match previous.chunks.get(c) {
                    Some(chunk) if changed <= taken => chunk.clone(),
                    _ => std::sync::Arc::new(self.build_chunk(c)),
                }
            })
            .collect();
        let mut snapshot = self.snapshot_of(chunks);
        if previous.names_version == self.names_version {
            snapshot.names = previous.names.clone();
        }
        if previous.tags_version == self.tags_version {
            snapshot.tags = previous.tags.clone();
        }
        snapshot
    }

    fn snapshot_of(&self, chunks: Vec<std::sync::Arc<Chunk>>) -> Snapshot {
        Snapshot {
            chunks,
            names: self.names.clone(),
            names_version: self.names_version,
            tags: self.tags.clone(),
            tags_version: self.tags_version,
            entities_version: (self.identity, self.version),
            input: self.input.clone(),
            time: self.time,
            scene: self.scene.clone(),
            next_created: self.next_seq,
        }
    }

    /// The entities of chunk `c`, read from the world through one view
    /// (prepared once per archetype, not once per entity).
    fn build_chunk(&self, c: usize) -> Chunk {
        let start = c << CHUNK_SHIFT;
        let end = ((c + 1) << CHUNK_SHIFT).min(self.slots.len());
        let mut view = self.ecs.view::<RecordQuery<'_>>();
        let entities = self
            .slots
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .flatten()
            .filter_map(|id| Some((*id, record(view.get_mut(id.entity()?)?))))
            .collect();
        Chunk { entities }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Time, WorldRead};

    #[test]
    fn a_snapshot_after_a_time_change_shares_the_entities() {
        let mut world = World::new("t");
        let e = world.create();
        let first = world.snapshot();
        world.set_time(Time {
            delta: 0.5,
            elapsed: 0.5,
            frame: 1,
        });
        world.input_mut().set_key(crate::Key::W, true);
        let second = world.snapshot_since(&first);
        assert!(
            first
                .chunks
                .iter()
                .zip(&second.chunks)
                .all(|(a, b)| std::sync::Arc::ptr_eq(a, b))
        );
        assert_eq!(second.time().frame, 1);
        assert!(second.input().is_key_down(crate::Key::W));
        world.transform_mut(e).unwrap().position.x = 3.0;
        let third = world.snapshot_since(&second);
        assert!(!std::sync::Arc::ptr_eq(&second.chunks[0], &third.chunks[0]));
        assert_eq!(third.transform(e).unwrap().position.x, 3.0);
        // Another world's snapshot is never reused.
        let other = World::new("o");
        assert!(other.snapshot_since(&third).is_empty());
    }
}
