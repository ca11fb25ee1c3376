//! Property tests of the documented conventions: Euler order and round trip,
//! orthonormal basis vectors, and look_at.

use std::f64::consts::{FRAC_PI_2, PI};

use glam::{DQuat, DVec3};
use proptest::prelude::*;
use zephyr_world::Transform;

fn wrap(angle: f64) -> f64 {
    let a = (angle + PI).rem_euclid(2.0 * PI) - PI;
    if a <= -PI + 1e-12 { a + 2.0 * PI } else { a }
}

fn angle_close(a: f64, b: f64) -> bool {
    let d = wrap(a - b).abs();
    d < 1e-7 || (2.0 * PI - d) < 1e-7
}

fn with_euler(pitch: f64, yaw: f64, roll: f64) -> Transform {
    Transform {
        rotation: Transform::rotation_from_euler(pitch, yaw, roll).unwrap(),
        ..Transform::IDENTITY
    }
}

fn vec3(range: f64) -> impl Strategy<Value = DVec3> {
    (-range..range, -range..range, -range..range).prop_map(|(x, y, z)| DVec3::new(x, y, z))
}

proptest! {
    #[test]
    fn euler_round_trips_for_pitch_inside_the_open_interval(
        pitch in -(FRAC_PI_2 - 1e-3)..(FRAC_PI_2 - 1e-3),
        yaw in -PI..PI,
        roll in -PI..PI,
    ) {
        let (p, y, r) = with_euler(pitch, yaw, roll).euler();
        prop_assert!((p - pitch).abs() < 1e-7, "pitch {pitch} -> {p}");
        prop_assert!(angle_close(y, yaw), "yaw {yaw} -> {y}");
        prop_assert!(angle_close(r, roll), "roll {roll} -> {r}");
    }

    #[test]
    fn euler_order_is_yaw_then_pitch_then_roll(pitch in -3.0f64..3.0, yaw in -3.0f64..3.0, roll in -3.0f64..3.0) {
        let expected = DQuat::from_rotation_y(yaw) * DQuat::from_rotation_x(pitch) * DQuat::from_rotation_z(roll);
        let got = with_euler(pitch, yaw, roll).rotation;
        prop_assert!(got.dot(expected).abs() > 1.0 - 1e-12);
    }

    #[test]
    fn forward_right_up_are_orthonormal_and_right_handed(pitch in -3.2f64..3.2, yaw in -3.2f64..3.2, roll in -3.2f64..3.2) {
        let t = with_euler(pitch, yaw, roll);
        let (f, r, u) = (t.forward(), t.right(), t.up());
        for v in [f, r, u] {
            prop_assert!((v.length() - 1.0).abs() < 1e-9);
        }
        prop_assert!(f.dot(r).abs() < 1e-9 && f.dot(u).abs() < 1e-9 && r.dot(u).abs() < 1e-9);
        // Right-handed with forward = -Z: right x up = -forward (= +Z local).
        prop_assert!((r.cross(u) + f).length() < 1e-9);
    }

    #[test]
    fn look_at_points_forward_at_the_target_and_resets_roll(
        position in vec3(100.0),
        offset in vec3(100.0),
        start in (-1.5f64..1.5, -3.0f64..3.0, -3.0f64..3.0),
    ) {
        prop_assume!(offset.length() > 1e-3);
        let mut t = with_euler(start.0, start.1, start.2);
        t.position = position;
        t.look_at(position + offset, false).unwrap();
        let dir = offset.normalize();
        prop_assert!((t.forward() - dir).length() < 1e-6, "forward {:?} vs {:?}", t.forward(), dir);
        let (pitch, _, roll) = t.euler();
        if pitch.abs() < FRAC_PI_2 - 1e-3 {
            prop_assert!(roll.abs() < 1e-7, "roll {roll}");
        }
    }

    #[test]
    fn look_at_can_preserve_roll(
        offset in vec3(50.0),
        roll in -3.0f64..3.0,
    ) {
        prop_assume!(offset.length() > 1e-3);
        let dir = offset.normalize();
        prop_assume!(dir.y.abs() < 0.99);
        let mut t = with_euler(0.2, 0.3, roll);
        t.look_at(offset, true).unwrap();
        prop_assert!((t.forward() - dir).length() < 1e-6);
        let (_, _, r) = t.euler();
        prop_assert!(angle_close(r, roll), "roll {roll} -> {r}");
    }

    #[test]
    fn look_at_never_produces_nan(
        position in vec3(10.0),
        target_kind in 0u8..4,
        height in -10.0f64..10.0,
        preserve in any::<bool>(),
        start in (-1.5f64..1.5, -3.0f64..3.0, -3.0f64..3.0),
    ) {
        let mut t = with_euler(start.0, start.1, start.2);
        t.position = position;
        let target = match target_kind {
            0 => position,                               // its own position
            1 => position + DVec3::new(0.0, height.abs() + 1.0, 0.0), // straight above
            2 => position - DVec3::new(0.0, height.abs() + 1.0, 0.0), // straight below
            _ => position + DVec3::new(1e-12, height, 0.0),
        };
        t.look_at(target, preserve).unwrap();
        prop_assert!(t.rotation.is_finite());
        prop_assert!((t.rotation.length() - 1.0).abs() < 1e-9);
        let (p, y, r) = t.euler();
        prop_assert!(p.is_finite() && y.is_finite() && r.is_finite());
        if target_kind == 1 {
            prop_assert!((t.forward() - DVec3::Y).length() < 1e-6);
        }
    }
}

#[test]
fn looking_at_the_own_position_changes_nothing() {
    let mut t = with_euler(0.3, 1.0, 0.5);
    let before = t;
    t.look_at(t.position, false).unwrap();
    assert_eq!(t, before);
}
