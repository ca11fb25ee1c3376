//! Tags and spatial queries: the world's grid, a snapshot's scan and a
//! worker's merged view all give the answer a plain scan of the entities
//! gives, in the same order.

use std::sync::Arc;

use glam::DVec3;
use parking_lot::RwLock;
use proptest::prelude::*;
use zephyr_world::{
    EntityId, Nearby, RigidBody, SharedWorld, Within, WorkerWorld, World, WorldCommand, WorldRead,
    WorldWrite,
};

const TAGS: [&str; 3] = ["enemy", "bullet", "pickup"];

#[derive(Debug, Clone)]
enum Op {
    Create(DVec3),
    Destroy(usize),
    Place(usize, DVec3),
    Nudge(usize, DVec3),
    Tag(usize, usize),
    Untag(usize, usize),
    Physics,
    EngineMove(usize, f64),
    EngineDespawn,
}

fn point(extent: f64) -> impl Strategy<Value = DVec3> {
    (-extent..extent, -4.0..4.0f64, -extent..extent).prop_map(|(x, y, z)| DVec3::new(x, y, z))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => point(60.0).prop_map(Op::Create),
        1 => any::<usize>().prop_map(Op::Destroy),
        3 => (any::<usize>(), point(60.0)).prop_map(|(e, p)| Op::Place(e, p)),
        3 => (any::<usize>(), point(9.0)).prop_map(|(e, p)| Op::Nudge(e, p)),
        2 => (any::<usize>(), 0..TAGS.len()).prop_map(|(e, t)| Op::Tag(e, t)),
        1 => (any::<usize>(), 0..TAGS.len()).prop_map(|(e, t)| Op::Untag(e, t)),
        1 => Just(Op::Physics),
        1 => (any::<usize>(), -20.0..20.0f64).prop_map(|(e, x)| Op::EngineMove(e, x)),
        1 => Just(Op::EngineDespawn),
    ]
}

fn pick(ids: &[EntityId], i: usize) -> Option<EntityId> {
    (!ids.is_empty()).then(|| ids[i % ids.len()])
}

fn apply(world: &mut World, ids: &mut Vec<EntityId>, op: &Op) {
    match op {
        Op::Create(p) => {
            let e = world.create();
            WorldCommand::SetPosition(e, *p).apply(world).unwrap();
            ids.push(e);
        }
        Op::Destroy(i) => {
            if let Some(e) = pick(ids, *i) {
                world.despawn(e).unwrap();
                ids.retain(|x| *x != e);
            }
        }
        Op::Place(i, p) => {
            if let Some(e) = pick(ids, *i) {
                WorldCommand::SetPosition(e, *p).apply(world).unwrap();
            }
        }
        Op::Nudge(i, d) => {
            if let Some(e) = pick(ids, *i) {
                WorldCommand::Translate(e, *d).apply(world).unwrap();
            }
        }
        Op::Tag(i, t) => {
            if let Some(e) = pick(ids, *i) {
                WorldCommand::AddTag(e, TAGS[*t].into())
                    .apply(world)
                    .unwrap();
            }
        }
        Op::Untag(i, t) => {
            if let Some(e) = pick(ids, *i) {
                WorldCommand::RemoveTag(e, TAGS[*t].into())
                    .apply(world)
                    .unwrap();
            }
        }
        Op::Physics => world.step_physics(0.5, -1.0),
        Op::EngineMove(i, x) => {
            if let Some(e) = pick(ids, *i) {
                world.transform_mut(e).unwrap().position.x += x;
            }
        }
        Op::EngineDespawn => {
            if let Some(e) = ids.pop() {
                world.ecs_mut().despawn(e.entity().unwrap()).unwrap();
            }
        }
    }
}

/// The answer of a plain scan over every entity.
fn scan(world: &World, query: &Within<'_>) -> Vec<EntityId> {
    let snapshot = world.snapshot();
    let mut found: Vec<Nearby> = snapshot
        .records()
        .into_iter()
        .filter(|(_, r)| query.tag.is_none_or(|t| r.tags.iter().any(|x| x == t)))
        .filter_map(|(id, r)| {
            let d = (r.transform.position - query.center).length_squared();
            (d <= query.radius * query.radius).then_some(Nearby {
                distance_sq: d,
                created: r.created,
                entity: id,
            })
        })
        .collect();
    found.sort_by(|a, b| {
        a.distance_sq
            .partial_cmp(&b.distance_sq)
            .unwrap()
            .then(a.created.cmp(&b.created))
    });
    found.into_iter().map(|n| n.entity).collect()
}

fn ids(found: Vec<Nearby>) -> Vec<EntityId> {
    found.into_iter().map(|n| n.entity).collect()
}

fn tagged_scan(world: &World, tag: &str) -> Vec<EntityId> {
    world
        .snapshot()
        .records()
        .into_iter()
        .filter(|(_, r)| r.tags.iter().any(|t| t == tag))
        .map(|(id, _)| id)
        .collect()
}

fn queries() -> impl Strategy<Value = Vec<(DVec3, f64, Option<usize>)>> {
    proptest::collection::vec(
        (
            point(70.0),
            prop_oneof![0.0..3.0f64, 3.0..20.0, 20.0..200.0],
            proptest::option::of(0..TAGS.len()),
        ),
        1..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_grid_answers_as_a_scan_does(
        start in 0usize..200,
        batches in proptest::collection::vec(
            (proptest::collection::vec(op(), 0..8), queries()), 1..10),
    ) {
        let mut world = World::new("t");
        let mut ids_ = Vec::new();
        for i in 0..start {
            let p = DVec3::new((i % 23) as f64 * 5.0 - 50.0, 0.0, (i / 23) as f64 * 7.0 - 30.0);
            apply(&mut world, &mut ids_, &Op::Create(p));
            if i % 5 == 0 {
                apply(&mut world, &mut ids_, &Op::Tag(i, i % 3));
                world.insert_body(ids_[i], RigidBody { velocity: DVec3::X, ..RigidBody::default() }).unwrap();
            }
        }
        for (batch, asked) in &batches {
            for op in batch {
                apply(&mut world, &mut ids_, op);
            }
            let snapshot = world.snapshot();
            for (center, radius, tag) in asked {
                let query = Within { center: *center, radius: *radius, tag: tag.map(|t| TAGS[t]) };
                let expected = scan(&world, &query);
                prop_assert_eq!(ids(world.within(&query).unwrap()), expected.clone());
                prop_assert_eq!(ids(snapshot.within(&query).unwrap()), expected);
            }
            for tag in TAGS {
                let expected = tagged_scan(&world, tag);
                let found: Vec<EntityId> = world.tagged(tag).unwrap().into_iter().map(|(_, e)| e).collect();
                prop_assert_eq!(&found, &expected);
                let copied: Vec<EntityId> = snapshot.tagged(tag).unwrap().into_iter().map(|(_, e)| e).collect();
                prop_assert_eq!(copied, expected);
            }
        }
    }

    /// A worker's view answers, before its writes are applied, what the
    /// world answers after: read-your-writes for queries.
    #[test]
    fn a_worker_view_answers_as_the_world_will(
        start in 1usize..150,
        writes in proptest::collection::vec(op(), 1..10),
        asked in queries(),
        over_live in any::<bool>(),
    ) {
        let world = Arc::new(RwLock::new(World::new("t")));
        let shared: SharedWorld = world.clone();
        let mut ids_ = Vec::new();
        for i in 0..start {
            let p = DVec3::new((i % 13) as f64 * 6.0 - 40.0, 0.0, (i / 13) as f64 * 6.0 - 30.0);
            apply(&mut world.write(), &mut ids_, &Op::Create(p));
            if i % 3 == 0 {
                apply(&mut world.write(), &mut ids_, &Op::Tag(i, i % 3));
            }
        }
        let mut view = if over_live {
            WorkerWorld::over_live(Arc::new(shared.read_arc()), shared.clone())
        } else {
            WorkerWorld::new(Arc::new(world.read().snapshot()), shared.clone())
        };
        // The script's writes, through the view, recorded.
        let mut recorded = Vec::new();
        let mut seen = ids_.clone();
        for op in &writes {
            let command = match op {
                Op::Create(p) => {
                    let e = view.reserve();
                    let spawn = WorldCommand::Spawn(e);
                    spawn.apply(&mut view).unwrap();
                    recorded.push(spawn);
                    seen.push(e);
                    WorldCommand::SetPosition(e, *p)
                }
                Op::Destroy(i) => match pick(&seen, *i) {
                    Some(e) => {
                        seen.retain(|x| *x != e);
                        WorldCommand::Despawn(e)
                    }
                    None => continue,
                },
                Op::Place(i, p) | Op::Nudge(i, p) => match pick(&seen, *i) {
                    Some(e) => WorldCommand::Translate(e, *p),
                    None => continue,
                },
                Op::Tag(i, t) => match pick(&seen, *i) {
                    Some(e) => WorldCommand::AddTag(e, TAGS[*t].into()),
                    None => continue,
                },
                Op::Untag(i, t) => match pick(&seen, *i) {
                    Some(e) => WorldCommand::RemoveTag(e, TAGS[*t].into()),
                    None => continue,
                },
                _ => continue,
            };
            command.apply(&mut view).unwrap();
            recorded.push(command);
        }
        let mut answers = Vec::new();
        for (center, radius, tag) in &asked {
            let query = Within { center: *center, radius: *radius, tag: tag.map(|t| TAGS[t]) };
            answers.push(ids(view.within(&query).unwrap()));
        }
        let tagged: Vec<Vec<(u64, EntityId)>> = TAGS.iter().map(|t| view.tagged(t).unwrap()).collect();
        drop(view);
        let mut world = world.write();
        for command in &recorded {
            command.apply(&mut *world).unwrap();
        }
        for ((center, radius, tag), answer) in asked.iter().zip(answers) {
            let query = Within { center: *center, radius: *radius, tag: tag.map(|t| TAGS[t]) };
            prop_assert_eq!(ids(world.within(&query).unwrap()), answer);
        }
        for (tag, answer) in TAGS.iter().zip(tagged) {
            prop_assert_eq!(world.tagged(tag).unwrap(), answer);
        }
    }
}

#[test]
fn tags_keep_their_order_and_leave_with_their_entity() {
    let mut world = World::new("t");
    let a = world.create();
    let b = world.create();
    for (e, tag) in [(b, "enemy"), (a, "enemy"), (a, "boss"), (a, "enemy")] {
        world.add_tag(e, tag).unwrap();
    }
    assert_eq!(world.tags(a).unwrap(), ["enemy", "boss"], "no duplicates");
    assert_eq!(
        world.tagged("enemy").unwrap(),
        [(0, a), (1, b)],
        "creation order, not tagging order"
    );
    assert!(world.has_tag(a, "boss").unwrap());
    world.remove_tag(a, "boss").unwrap();
    world.remove_tag(a, "boss").unwrap();
    assert!(!world.has_tag(a, "boss").unwrap());
    assert_eq!(world.tagged("boss").unwrap(), []);
    world.hold_despawn(a).unwrap();
    world.despawn(a).unwrap();
    assert_eq!(world.tagged("enemy").unwrap().len(), 2, "doomed, not gone");
    world.despawn_now(a).unwrap();
    assert_eq!(world.tagged("enemy").unwrap(), [(1, b)]);
    assert!(world.tags(a).is_err());
    let err = WorldCommand::AddTag(b, String::new())
        .apply(&mut world)
        .unwrap_err();
    assert!(err.to_string().contains("must not be empty"), "{err}");
}

#[test]
fn a_query_after_one_move_sees_it() {
    // The grid catches up with the changed chunk on the next query.
    let mut world = World::new("t");
    let ids: Vec<EntityId> = (0..1_000)
        .map(|i| {
            let e = world.create();
            world.transform_mut(e).unwrap().position = DVec3::new(i as f64 * 3.0, 0.0, 0.0);
            e
        })
        .collect();
    let near = |world: &World| {
        ids_of(world.within(&Within {
            center: DVec3::new(-100.0, 0.0, 0.0),
            radius: 1.0,
            tag: None,
        }))
    };
    assert_eq!(near(&world), []);
    world.transform_mut(ids[700]).unwrap().position.x = -100.5;
    assert_eq!(near(&world), [ids[700]]);
    WorldCommand::SetPosition(ids[3], DVec3::new(-100.0, 0.0, 0.0))
        .apply(&mut world)
        .unwrap();
    assert_eq!(near(&world), [ids[3], ids[700]]);
    let bad = world.within(&Within {
        center: DVec3::ZERO,
        radius: f64::NAN,
        tag: None,
    });
    assert!(bad.is_err());
}

fn ids_of(found: zephyr_world::Result<Vec<Nearby>>) -> Vec<EntityId> {
    ids(found.unwrap())
}
