//! The catalog: every check with its stable id, topic, title, the contract
//! options it uses and the host features it requires.

pub use crate::check::{Check, Requirement};

pub const TOPICS: &[&str] = &["namespaces", "cgroups", "overlay", "security"];

/// Every check, in teaching order.
pub fn catalog() -> Vec<Check> {
    let mut all = Vec::new();
    all.extend(crate::topics::namespaces::checks());
    all.extend(crate::topics::cgroups::checks());
    all.extend(crate::topics::overlay::checks());
    all.extend(crate::topics::security::checks());
    all
}

/// The checks of one topic, or all for `None`.
pub fn select(topic: Option<&str>) -> Vec<Check> {
    catalog()
        .into_iter()
        .filter(|c| topic.is_none_or(|t| c.topic == t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for c in catalog() {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            assert!(
                c.id.starts_with(&format!("{}.", c.topic)),
                "{} is not in topic {}",
                c.id,
                c.topic
            );
            assert!(TOPICS.contains(&c.topic), "unknown topic {}", c.topic);
            assert!(
                c.id.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ".-".contains(ch)),
                "id {} has characters outside [a-z0-9.-]",
                c.id
            );
            assert_eq!(c.id.split('.').count(), 3, "id {} is not topic.area.property", c.id);
            assert!(
                !c.title.is_empty() && !c.uses.is_empty(),
                "{} lacks a title or its options",
                c.id
            );
        }
    }

    #[test]
    fn requirements_explain_what_is_missing() {
        assert!(Requirement::Namespace("nonexistent")
            .check()
            .unwrap_err()
            .en
            .contains("nonexistent"));
        assert!(Requirement::Command("no-such-tool-here")
            .check()
            .unwrap_err()
            .en
            .contains("no-such-tool-here"));
        assert!(Requirement::Command("sh").check().is_ok());
    }
}
