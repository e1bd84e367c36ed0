//! Project mirroring, the pure part: which target projects the source lacks.
//!
//! With the pipeline option `mirror_projects`, every **active** target project whose name
//! (trimmed, case-insensitive) no source project has is created in the source before a
//! run. Any source project counts, active or not: an archived project of that name still
//! means "the source has it", and creating a second one would split its time. Each name is
//! proposed once, even when the target lists several projects of that name (the first in
//! the target's order wins). Blank names are never mirrored.
//!
//! Creating what [`projects_to_mirror`] returns and calling it again returns nothing.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::mapping::normalise_name;

/// A project as a catalog lists it (either side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogProject {
    pub key: String,
    pub name: String,
    /// Inactive (archived, hidden) target projects are not mirrored.
    pub active: bool,
}

/// The target projects to create in the source, in the target's order.
pub fn projects_to_mirror<'t>(
    target: &'t [CatalogProject],
    source: &[CatalogProject],
) -> Vec<&'t CatalogProject> {
    let mut taken: HashSet<String> = source.iter().map(|p| normalise_name(&p.name)).collect();
    let mut out = Vec::new();
    for p in target.iter().filter(|p| p.active) {
        let name = normalise_name(&p.name);
        if name.is_empty() {
            continue;
        }
        if taken.insert(name) {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(key: &str, name: &str, active: bool) -> CatalogProject {
        CatalogProject {
            key: key.into(),
            name: name.into(),
            active,
        }
    }

    fn names(v: &[&CatalogProject]) -> Vec<String> {
        v.iter().map(|p| p.key.clone()).collect()
    }

    #[test]
    fn only_active_target_projects_the_source_lacks_are_mirrored_each_name_once() {
        let target = [
            p("t1", "Website", true),
            p("t2", "  ACME Support ", true),
            p("t3", "Archive", false),
            p("t4", "acme support", true),
            p("t5", "New", true),
            p("t6", "   ", true),
            p("t7", "new", true),
        ];
        let source = [p("s1", "website ", true), p("s2", "Old", false)];
        assert_eq!(names(&projects_to_mirror(&target, &source)), ["t2", "t5"]);
    }

    #[test]
    fn an_inactive_source_project_of_the_same_name_counts_as_present() {
        let target = [p("t1", "Old", true)];
        let source = [p("s1", "OLD", false)];
        assert!(projects_to_mirror(&target, &source).is_empty());
    }

    #[test]
    fn the_directory_lists_its_projects_as_active_in_key_order() {
        use crate::mapping::{TargetDirectory, TargetProject};
        let project = |key: &str, name: Option<&str>| TargetProject {
            key: key.into(),
            name: name.map(Into::into),
            customer: None,
        };
        let dir = TargetDirectory::new(
            [],
            [
                project("10", Some("Ten")),
                project("b", Some("Bee")),
                project("2", None),
                project("a", Some("Ay")),
            ],
            [],
            None,
        );
        let got: Vec<(String, String, bool)> = dir
            .active_projects()
            .into_iter()
            .map(|p| (p.key, p.name, p.active))
            .collect();
        let want = [
            ("2", "", true),
            ("10", "Ten", true),
            ("a", "Ay", true),
            ("b", "Bee", true),
        ]
        .map(|(k, n, a)| (k.to_owned(), n.to_owned(), a));
        assert_eq!(got, want);
    }

    proptest! {
        #[test]
        fn mirroring_is_idempotent_and_never_proposes_a_name_twice(
            target in proptest::collection::vec(("[ ]?[a-cA-C]{1,2}[ ]?", proptest::bool::ANY), 0..12),
            source in proptest::collection::vec("[ ]?[a-cA-C]{1,2}", 0..6),
        ) {
            let target: Vec<CatalogProject> = target
                .into_iter()
                .enumerate()
                .map(|(i, (n, a))| p(&format!("t{i}"), &n, a))
                .collect();
            let mut source: Vec<CatalogProject> = source
                .into_iter()
                .enumerate()
                .map(|(i, n)| p(&format!("s{i}"), &n, true))
                .collect();
            let first: Vec<CatalogProject> =
                projects_to_mirror(&target, &source).into_iter().cloned().collect();
            let mut seen = HashSet::new();
            for m in &first {
                prop_assert!(m.active);
                prop_assert!(seen.insert(normalise_name(&m.name)), "{} twice", m.name);
                prop_assert!(!source.iter().any(|s| normalise_name(&s.name) == normalise_name(&m.name)));
            }
            // Every active target name is in the source afterwards.
            source.extend(first.iter().map(|m| p(&format!("new-{}", m.key), &m.name, true)));
            for t in target.iter().filter(|t| t.active) {
                prop_assert!(source.iter().any(|s| normalise_name(&s.name) == normalise_name(&t.name)));
            }
            prop_assert!(projects_to_mirror(&target, &source).is_empty());
        }
    }
}
