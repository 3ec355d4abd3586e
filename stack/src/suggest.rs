//! "Did you mean" for names in error messages (profiles, knobs; the harness uses it for hosts,
//! stacks, finding kinds and directives too): the closest known name by edit distance.

/// Levenshtein distance between `a` and `b` (in characters).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The known name closest to `word`, if it is close enough to be a likely typo (at most a third
/// of the word's length edits away, and at least one), or if `word` is a unique prefix/suffix of
/// a dotted name such as a knob.
pub fn closest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    let mut partial: Vec<&'a str> = Vec::new();
    for k in known {
        if k.ends_with(&format!(".{word}")) || (word.len() >= 3 && k.starts_with(word)) {
            partial.push(k);
        }
        let d = edit_distance(word, k);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k).or(match partial.as_slice() {
        [one] => Some(*one),
        _ => None,
    })
}

/// ` — did you mean `x`?` for an error message, or nothing.
pub fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, known).map_or(String::new(), |k| format!(" — did you mean `{k}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_name() {
        let profiles = ["rfc793", "rfc1337", "rfc9293", "linux", "windows"];
        assert_eq!(closest("linx", profiles), Some("linux"));
        assert_eq!(closest("windos", profiles), Some("windows"));
        assert_eq!(closest("rfc9239", profiles), Some("rfc9293"));
        assert_eq!(closest("bsd", profiles), None);
        let knobs = ["tcp.msl", "tcp.mss", "arp.queue_depth"];
        assert_eq!(closest("queue_depth", knobs), Some("arp.queue_depth"));
        assert_eq!(did_you_mean("zzzzzz", knobs), "");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
