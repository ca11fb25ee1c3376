//! Incremental snapshots: `snapshot_since` shares what did not change and
//! must always equal a snapshot taken from scratch.

use proptest::prelude::*;
use zephyr_world::{
    DataValue, EntityId, PointLight, RigidBody, Time, World, WorldRead, WorldWrite,
};

/// One change a script or the engine can make.
#[derive(Debug, Clone)]
enum Op {
    Create,
    Destroy(usize),
    Move(usize, f64),
    Rename(usize, Option<u8>),
    Light(usize),
    Body(usize),
    Data(usize, i64),
    Physics,
    Time,
    EngineEdit,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Create),
        2 => any::<usize>().prop_map(Op::Destroy),
        4 => (any::<usize>(), -10.0..10.0f64).prop_map(|(e, x)| Op::Move(e, x)),
        2 => (any::<usize>(), proptest::option::of(0u8..4)).prop_map(|(e, n)| Op::Rename(e, n)),
        1 => any::<usize>().prop_map(Op::Light),
        1 => any::<usize>().prop_map(Op::Body),
        1 => (any::<usize>(), any::<i64>()).prop_map(|(e, v)| Op::Data(e, v)),
        1 => Just(Op::Physics),
        1 => Just(Op::Time),
        1 => Just(Op::EngineEdit),
    ]
}

fn apply(world: &mut World, ids: &mut Vec<EntityId>, op: &Op) {
    let pick = |ids: &Vec<EntityId>, i: usize| (!ids.is_empty()).then(|| ids[i % ids.len()]);
    match op {
        Op::Create => ids.push(world.create()),
        Op::Destroy(i) => {
            if let Some(e) = pick(ids, *i) {
                world.despawn(e).unwrap();
                ids.retain(|x| *x != e);
            }
        }
        Op::Move(i, x) => {
            if let Some(e) = pick(ids, *i) {
                world.transform_mut(e).unwrap().position.x += x;
            }
        }
        Op::Rename(i, name) => {
            if let Some(e) = pick(ids, *i) {
                world.set_name(e, name.map(|n| format!("n{n}"))).unwrap();
            }
        }
        Op::Light(i) => {
            if let Some(e) = pick(ids, *i) {
                world.insert_light(e, PointLight::default()).unwrap();
            }
        }
        Op::Body(i) => {
            if let Some(e) = pick(ids, *i) {
                world.insert_body(e, RigidBody::default()).unwrap();
            }
        }
        Op::Data(i, v) => {
            if let Some(e) = pick(ids, *i) {
                world.set_data(e, "Score", DataValue::Int(*v)).unwrap();
            }
        }
        Op::Physics => world.step_physics(0.1, -9.8),
        Op::Time => {
            let mut time = world.time();
            time.frame += 1;
            world.set_time(time);
        }
        Op::EngineEdit => {
            // An engine system despawns an entity behind the world's back.
            if let Some(e) = ids.pop() {
                world.ecs_mut().despawn(e.entity().unwrap()).unwrap();
            }
        }
    }
}

proptest! {
    #[test]
    fn an_incremental_snapshot_equals_a_fresh_one(
        start in 0usize..300,
        batches in proptest::collection::vec(proptest::collection::vec(op(), 0..6), 1..12)
    ) {
        // Several chunks of 64, so that a missed change shows.
        let mut world = World::new("t");
        let mut ids: Vec<EntityId> = (0..start).map(|_| world.create()).collect();
        for (i, id) in ids.iter().enumerate().step_by(7) {
            world.insert_body(*id, RigidBody::default()).unwrap();
            world.set_name(*id, Some(format!("n{}", i % 4))).unwrap();
        }
        let mut previous = world.snapshot();
        for batch in &batches {
            for op in batch {
                apply(&mut world, &mut ids, op);
            }
            let incremental = world.snapshot_since(&previous);
            let fresh = world.snapshot();
            prop_assert_eq!(incremental.records(), fresh.records());
            for name in ["n0", "n1", "n2", "n3"] {
                prop_assert_eq!(incremental.find(name), world.find(name));
                prop_assert_eq!(fresh.find(name), world.find(name));
            }
            for id in &ids {
                prop_assert_eq!(incremental.transform(*id).ok(), world.transform(*id).ok());
            }
            previous = incremental;
        }
    }
}

#[test]
fn one_changed_entity_copies_one_chunk_of_a_large_world() {
    let mut world = World::new("t");
    let ids: Vec<EntityId> = (0..10_000).map(|_| world.create()).collect();
    let first = world.snapshot();
    world.transform_mut(ids[5_000]).unwrap().position.x = 1.0;
    let second = world.snapshot_since(&first);
    assert_eq!(second.len(), 10_000);
    assert_eq!(second.transform(ids[5_000]).unwrap().position.x, 1.0);
    assert_eq!(first.transform(ids[5_000]).unwrap().position.x, 0.0);
    let copied = second.shared_with(&first);
    assert_eq!(
        copied,
        (10_000usize.div_ceil(64) - 1, 10_000usize.div_ceil(64))
    );
    // Time alone copies nothing.
    world.set_time(Time {
        delta: 0.1,
        elapsed: 0.1,
        frame: 1,
    });
    let third = world.snapshot_since(&second);
    assert_eq!(third.shared_with(&second).0, 10_000usize.div_ceil(64));
}
