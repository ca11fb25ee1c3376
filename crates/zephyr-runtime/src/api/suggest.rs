//! The names near a misspelt one, for every message that says `did you
//! mean: ...?` (a missing field of an engine table, an unknown prefab or
//! spawn key; `zephyr check`'s findings).

/// ` (did you mean: a, b?)`: the (at most three) names of `candidates`
/// nearest to `wanted`, nearest first, or nothing when none is near.
pub fn did_you_mean(wanted: &str, candidates: &[impl AsRef<str>]) -> String {
    let mut near: Vec<(f64, &str)> = candidates
        .iter()
        .map(AsRef::as_ref)
        .map(|name| (strsim::jaro_winkler(wanted, name), name))
        .filter(|(score, name)| *score >= 0.8 || strsim::levenshtein(wanted, name) <= 2)
        .collect();
    near.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    near.dedup_by(|a, b| a.1 == b.1);
    if near.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = near.into_iter().take(3).map(|(_, n)| n).collect();
    format!(" (did you mean: {}?)", names.join(", "))
}
