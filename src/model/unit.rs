//! Units (责任单位) cases are dispatched to and handlers work for: the checks of a unit's name and
//! the near matches offered when a name is not known. Units are identified by their name, as the
//! grid cells' `responsible_unit`, a case's `assigned_unit` and a handler's `unit` name them.
//!
//! Pure: which units exist is decided by the caller (the grid cells and the registry).

/// Longest unit name, in characters.
pub const MAX_UNIT_CHARS: usize = 100;

/// How many near matches an unknown unit's error lists at most.
pub const MAX_NEAR_MATCHES: usize = 5;

/// Checks a unit's name and returns it trimmed: 1 to [`MAX_UNIT_CHARS`] characters, no control
/// characters.
///
/// ```
/// # use citygrid::model::unit::unit_name;
/// assert_eq!(unit_name("  郑州水务集团 ").unwrap(), "郑州水务集团");
/// assert!(unit_name("  ").is_err());
/// assert!(unit_name("a\nb").is_err());
/// ```
pub fn unit_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err("a unit's name must not be empty".into());
    }
    if chars > MAX_UNIT_CHARS {
        return Err(format!(
            "a unit's name has at most {MAX_UNIT_CHARS} characters, got {chars}"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("a unit's name must not contain control characters".into());
    }
    Ok(name.to_owned())
}

/// The known names closest to `name`, best first, at most [`MAX_NEAR_MATCHES`]: names that
/// contain it or are contained in it, then names within a small edit distance (a quarter of
/// the longer name, at least 2), compared without case.
///
/// ```
/// # use citygrid::model::unit::near_matches;
/// let known = ["郑州水务集团管城分公司", "郑州华润燃气管城分公司", "西关社区居委会"];
/// assert_eq!(near_matches("水务集团", known), ["郑州水务集团管城分公司"]);
/// assert_eq!(near_matches("西关社区居委", known), ["西关社区居委会"]);
/// assert!(near_matches("公安局", known).is_empty());
/// ```
pub fn near_matches<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let wanted: Vec<char> = name.trim().to_lowercase().chars().collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let wanted_text: String = wanted.iter().collect();
    let mut scored: Vec<(usize, String)> = known
        .into_iter()
        .filter_map(|candidate| {
            let lower = candidate.to_lowercase();
            if lower.contains(&wanted_text) || wanted_text.contains(&lower) {
                return Some((0, candidate.to_owned()));
            }
            let other: Vec<char> = lower.chars().collect();
            let longer = wanted.len().max(other.len());
            // The length difference bounds the distance from below: skip hopeless ones early.
            let bound = (longer / 4).max(2);
            if wanted.len().abs_diff(other.len()) > bound {
                return None;
            }
            let distance = edit_distance(&wanted, &other);
            (distance <= bound).then(|| (distance, candidate.to_owned()))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(MAX_NEAR_MATCHES)
        .map(|(_, name)| name)
        .collect()
}

/// Levenshtein distance between two character sequences (two rows of the table).
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut row = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            row[j + 1] = substitution.min(previous[j + 1] + 1).min(row[j] + 1);
        }
        std::mem::swap(&mut previous, &mut row);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_name_longer_than_the_limit_is_refused_with_the_limit() {
        let long = "局".repeat(MAX_UNIT_CHARS + 1);
        let error = unit_name(&long).unwrap_err();
        assert!(error.contains(&MAX_UNIT_CHARS.to_string()), "{error}");
        assert_eq!(
            unit_name(&"局".repeat(MAX_UNIT_CHARS))
                .unwrap()
                .chars()
                .count(),
            MAX_UNIT_CHARS
        );
    }

    #[test]
    fn a_typo_is_matched_by_edit_distance_and_exact_containment_ranks_first() {
        let known = [
            "管城区市政设施维护中心",
            "管城回族区市政设施维护中心",
            "郑州热力集团有限公司",
        ];
        let near = near_matches("管城区市政设施维护中", known);
        assert_eq!(near[0], "管城区市政设施维护中心");
        assert!(near.contains(&"管城回族区市政设施维护中心".to_owned()));
        assert!(!near.contains(&"郑州热力集团有限公司".to_owned()));
    }

    #[test]
    fn the_edit_distance_counts_insertions_deletions_and_substitutions() {
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(edit_distance(&chars("kitten"), &chars("sitting")), 3);
        assert_eq!(edit_distance(&chars(""), &chars("abc")), 3);
        assert_eq!(edit_distance(&chars("水务"), &chars("水务")), 0);
    }

    #[test]
    fn at_most_five_near_matches_are_offered() {
        let known: Vec<String> = (0..20).map(|i| format!("第{i}网格工作站")).collect();
        assert_eq!(
            near_matches("网格工作站", known.iter().map(String::as_str)).len(),
            MAX_NEAR_MATCHES
        );
    }
}
