//! Finding entities by what they are and where they are: tags and the
//! spatial query's rule, shared by every world (Zephyr's own, its snapshots,
//! a worker's view, an engine's world), so they all answer in the same
//! order.

use glam::DVec3;

use crate::error::{Error, Result};
use crate::id::EntityId;

/// An entity a spatial query found: the order of [`WorldRead::within`]'s
/// answer is nearest first, ties in creation order (see
/// [`sort_nearest`]).
///
/// [`WorldRead::within`]: crate::WorldRead::within
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearby {
    /// The squared distance from the query's centre.
    pub distance_sq: f64,
    /// The entity's creation number (see
    /// [`WorldView::created`](crate::WorldView::created)).
    pub created: u64,
    /// The entity.
    pub entity: EntityId,
}

/// A spatial query: the entities whose position is within `radius` of
/// `center` (the boundary included), with `tag` when one is given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Within<'a> {
    /// The centre.
    pub center: DVec3,
    /// The radius (finite, not negative).
    pub radius: f64,
    /// Only entities with this tag, when given.
    pub tag: Option<&'a str>,
}

impl Within<'_> {
    /// Checks the centre and the radius: finite, and the radius not
    /// negative.
    pub fn validate(&self) -> Result<()> {
        crate::error::finite("center", &self.center.to_array())?;
        crate::error::non_negative("radius", &[self.radius])
    }

    /// `position`'s place in the answer, if it is within the radius: every
    /// world measures with this one rule, so every world finds the same
    /// entities (and a worker's merged answer agrees with the main
    /// thread's).
    #[inline]
    pub fn measure(&self, position: DVec3, created: u64, entity: EntityId) -> Option<Nearby> {
        let distance_sq = (position - self.center).length_squared();
        (distance_sq <= self.radius * self.radius).then_some(Nearby {
            distance_sq,
            created,
            entity,
        })
    }
}

/// Sorts a spatial query's answer: nearest first, ties in creation order.
pub fn sort_nearest(found: &mut [Nearby]) {
    found.sort_unstable_by(|a, b| {
        a.distance_sq
            .total_cmp(&b.distance_sq)
            .then(a.created.cmp(&b.created))
    });
}

/// Checks a tag: a non-empty string without control characters (tags are
/// names a script and a scene file share).
pub fn validate_tag(tag: &str) -> Result<()> {
    let reason = if tag.is_empty() {
        "must not be empty"
    } else if tag.chars().any(char::is_control) {
        "must not contain control characters"
    } else {
        return Ok(());
    };
    Err(Error::InvalidValue {
        what: format!("tag {tag:?}"),
        reason: reason.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> EntityId {
        EntityId::from_bits(n).unwrap()
    }

    #[test]
    fn the_boundary_is_inside_and_ties_go_to_the_earlier_entity() {
        let query = Within {
            center: DVec3::ZERO,
            radius: 2.0,
            tag: None,
        };
        assert!(query.measure(DVec3::new(2.0, 0.0, 0.0), 0, id(1)).is_some());
        assert!(query.measure(DVec3::new(2.0, 0.1, 0.0), 0, id(1)).is_none());
        let mut found = vec![
            query.measure(DVec3::new(0.0, 1.0, 0.0), 5, id(9)).unwrap(),
            query.measure(DVec3::new(1.0, 0.0, 0.0), 2, id(3)).unwrap(),
            query.measure(DVec3::new(0.5, 0.0, 0.0), 7, id(4)).unwrap(),
        ];
        sort_nearest(&mut found);
        let order: Vec<u64> = found.iter().map(|n| n.entity.bits()).collect();
        assert_eq!(order, [4, 3, 9]);
    }

    #[test]
    fn bad_queries_and_tags_are_refused() {
        let bad = Within {
            center: DVec3::new(f64::NAN, 0.0, 0.0),
            radius: 1.0,
            tag: None,
        };
        assert!(bad.validate().is_err());
        let negative = Within {
            center: DVec3::ZERO,
            radius: -1.0,
            tag: None,
        };
        assert!(
            negative
                .validate()
                .unwrap_err()
                .to_string()
                .contains("radius")
        );
        assert!(validate_tag("").is_err());
        assert!(validate_tag("a\nb").is_err());
        assert!(validate_tag("enemy").is_ok());
    }
}
