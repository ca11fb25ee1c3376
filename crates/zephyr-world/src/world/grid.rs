//! The spatial index of Zephyr's own world: a hash grid of cubic cells, each
//! holding the entities whose position falls in it.
//!
//! The grid follows the world's writes through the same per-chunk change
//! stamps as snapshots do: a query first re-places the entities of the
//! chunks (64 entities) changed since the grid was last in step, so a
//! query after one behaviour moved costs one chunk, and the queries of a
//! parallel phase (where nothing writes) share one catching-up. Every path
//! that moves an entity stamps its chunk (the API's writes, `transform_mut`,
//! the physics step), and `ecs_mut` stamps everything.

use glam::DVec3;
use rustc_hash::FxHashMap;

use super::snapshot::CHUNK_SHIFT;
use super::{Created, World};
use crate::components::Transform;
use crate::id::EntityId;
use crate::query::{Nearby, Within};

/// The side of a cell, in world units: about the radius of the queries a
/// game asks most ("enemies near me"), so one query reads a few cells.
pub(crate) const CELL_SIZE: f64 = 8.0;

type Cell = [i64; 3];

fn cell_of(position: DVec3) -> Cell {
    // `as` saturates: far-away (finite) positions share the edge cells.
    let c = (position / CELL_SIZE).floor();
    [c.x as i64, c.y as i64, c.z as i64]
}

/// What the grid reads of the world's entities.
type Positions<'a> = hecs::ViewBorrow<'a, (&'a Created, &'a Transform)>;

/// One entity in a cell, with what a query measures.
#[derive(Debug, Clone, Copy)]
struct Entry {
    position: DVec3,
    created: u64,
    id: EntityId,
}

/// Where the entity at one hecs index is filed.
#[derive(Debug, Clone, Copy)]
struct Place {
    id: EntityId,
    cell: Cell,
    at: usize,
}

/// The grid; [`World::within`] keeps it in step.
#[derive(Debug, Default)]
pub(super) struct Grid {
    /// The world's entity version the grid was last in step with.
    synced: Option<u64>,
    cells: FxHashMap<Cell, Vec<Entry>>,
    /// By hecs index: where that entity is filed.
    placed: Vec<Option<Place>>,
}

impl Grid {
    fn in_step(&self, world: &World) -> bool {
        self.synced == Some(world.version)
    }

    /// Brings the grid in step with `world`: the chunks changed since the
    /// last time, or everything after `ecs_mut`.
    fn catch_up(&mut self, world: &World) {
        let slots = world.slots.len();
        // One view for the whole catching-up: prepared once per archetype,
        // not once per entity.
        let mut view = world.ecs.view::<(&Created, &Transform)>();
        match self.synced {
            Some(synced) if world.all_changed <= synced => {
                for (chunk, changed) in world.chunk_changed.iter().enumerate() {
                    if *changed > synced {
                        let start = chunk << CHUNK_SHIFT;
                        for index in start..((chunk + 1) << CHUNK_SHIFT).min(slots) {
                            self.refile(world, &mut view, index);
                        }
                    }
                }
            }
            _ => {
                self.cells.clear();
                self.placed.clear();
                for index in 0..slots {
                    self.refile(world, &mut view, index);
                }
            }
        }
        self.synced = Some(world.version);
    }

    /// Files the entity at hecs `index` where its position is now (or
    /// nowhere, when there is none); `view` reads the world's positions.
    fn refile(&mut self, world: &World, view: &mut Positions<'_>, index: usize) {
        let now = world.slots[index].and_then(|id| {
            let (created, transform) = view.get_mut(id.entity()?)?;
            Some(Entry {
                position: transform.position,
                created: created.0,
                id,
            })
        });
        if index >= self.placed.len() {
            self.placed.resize(index + 1, None);
        }
        if let Some(place) = self.placed[index] {
            match now {
                Some(entry) if entry.id == place.id && cell_of(entry.position) == place.cell => {
                    if let Some(slot) = self
                        .cells
                        .get_mut(&place.cell)
                        .and_then(|bucket| bucket.get_mut(place.at))
                    {
                        *slot = entry;
                    }
                    return;
                }
                _ => self.unfile(index, place),
            }
        }
        if let Some(entry) = now {
            let cell = cell_of(entry.position);
            let bucket = self.cells.entry(cell).or_default();
            bucket.push(entry);
            self.placed[index] = Some(Place {
                id: entry.id,
                cell,
                at: bucket.len() - 1,
            });
        }
    }

    fn unfile(&mut self, index: usize, place: Place) {
        self.placed[index] = None;
        let Some(bucket) = self.cells.get_mut(&place.cell) else {
            return;
        };
        bucket.swap_remove(place.at);
        if let Some(moved) = bucket.get(place.at)
            && let Some(Some(filed)) = moved
                .id
                .entity()
                .and_then(|e| self.placed.get_mut(e.id() as usize))
        {
            filed.at = place.at;
        }
        if bucket.is_empty() {
            self.cells.remove(&place.cell);
        }
    }

    /// What `query` finds, unsorted; `keep` decides the tag.
    fn query(&self, query: &Within<'_>, keep: impl Fn(&Nearby) -> bool) -> Vec<Nearby> {
        let reach = DVec3::splat(query.radius);
        let (low, high) = (cell_of(query.center - reach), cell_of(query.center + reach));
        let span = |axis: usize| (high[axis] as i128 - low[axis] as i128 + 1) as f64;
        let mut found = Vec::new();
        let mut take = |bucket: &Vec<Entry>| {
            found.extend(
                bucket
                    .iter()
                    .filter_map(|e| query.measure(e.position, e.created, e.id))
                    .filter(|n| keep(n)),
            );
        };
        if span(0) * span(1) * span(2) > self.cells.len() as f64 {
            // A query wider than the occupied cells: read them all.
            self.cells.values().for_each(take);
        } else {
            for x in low[0]..=high[0] {
                for y in low[1]..=high[1] {
                    for z in low[2]..=high[2] {
                        if let Some(bucket) = self.cells.get(&[x, y, z]) {
                            take(bucket);
                        }
                    }
                }
            }
        }
        found
    }
}

impl World {
    /// The entities `query` finds, nearest first (see
    /// [`WorldRead::within`](crate::WorldRead::within)).
    pub(super) fn query_grid(&self, query: &Within<'_>) -> Vec<Nearby> {
        let tagged = query.tag.map(|tag| self.tags.get(tag));
        let keep = |found: &Nearby| match tagged {
            None => true,
            Some(None) => false,
            Some(Some(tagged)) => tagged.get(&found.created) == Some(&found.entity),
        };
        let mut found = {
            let grid = self.grid.read();
            if grid.in_step(self) {
                grid.query(query, keep)
            } else {
                drop(grid);
                let mut grid = self.grid.write();
                if !grid.in_step(self) {
                    grid.catch_up(self);
                }
                parking_lot::RwLockWriteGuard::downgrade(grid).query(query, keep)
            }
        };
        crate::query::sort_nearest(&mut found);
        found
    }
}
