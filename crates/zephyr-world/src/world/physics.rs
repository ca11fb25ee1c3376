//! The rigid-body step of Zephyr's own world.

use glam::DVec3;

use super::World;
use super::tracking::mark;
use crate::components::{RigidBody, Transform};

impl World {
    /// Integrates every rigid body over `dt` seconds, with gravity
    /// `gravity_y` (acceleration along +Y, negative pulls down):
    ///
    /// 1. `velocity += (force / mass + (0, gravity_y, 0)) * dt`
    /// 2. `position += velocity * dt` (semi-implicit Euler)
    /// 3. `force = 0` (forces accumulate during one frame only)
    ///
    /// Impulses are not part of the step: `add_impulse` changes velocity by
    /// `impulse / mass` at once.
    pub fn step_physics(&mut self, dt: f64, gravity_y: f64) {
        if !dt.is_finite() || !gravity_y.is_finite() {
            return;
        }
        self.version += 1;
        let version = self.version;
        let gravity = DVec3::new(0.0, gravity_y, 0.0);
        let query = self
            .ecs
            .query_mut::<(hecs::Entity, &mut Transform, &mut RigidBody)>();
        for (entity, transform, body) in query {
            mark(&mut self.chunk_changed, entity.id(), version);
            body.velocity += (body.force / body.mass + gravity) * dt;
            transform.position += body.velocity * dt;
            body.force = DVec3::ZERO;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{WorldCommand, WorldRead, WorldWrite};
    use glam::DVec3;

    #[test]
    fn physics_step_follows_the_documented_rules() {
        let mut world = World::new("t");
        let e = world.create();
        world
            .insert_body(
                e,
                RigidBody {
                    mass: 2.0,
                    ..RigidBody::default()
                },
            )
            .unwrap();
        WorldCommand::AddForce(e, DVec3::new(1.0, 0.0, 0.0))
            .apply(&mut world)
            .unwrap();
        WorldCommand::AddForce(e, DVec3::new(1.0, 0.0, 0.0))
            .apply(&mut world)
            .unwrap();
        WorldCommand::AddImpulse(e, DVec3::new(0.0, 0.0, 4.0))
            .apply(&mut world)
            .unwrap();
        assert_eq!(
            world.body(e).unwrap().velocity,
            DVec3::new(0.0, 0.0, 2.0),
            "impulse / mass, at once"
        );
        world.step_physics(0.5, -10.0);
        let body = world.body(e).unwrap();
        // a = (2/2, -10, 0); v = (0,0,2) + a*0.5; p = v*0.5
        assert_eq!(body.velocity, DVec3::new(0.5, -5.0, 2.0));
        assert_eq!(
            world.transform(e).unwrap().position,
            DVec3::new(0.25, -2.5, 1.0)
        );
        assert_eq!(body.force, DVec3::ZERO, "forces are cleared after the step");
        world.step_physics(0.5, -10.0);
        assert_eq!(world.body(e).unwrap().velocity, DVec3::new(0.5, -10.0, 2.0));
    }
}
