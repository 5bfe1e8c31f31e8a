//! Line diffs of two renderings, for failure messages a reader can act on.

/// A line diff (longest common subsequence), changed lines with two lines
/// of context; `None` when equal.
pub fn diff(expected: &[String], actual: &[String]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let (n, m) = (expected.len(), actual.len());
    // lcs[i][j]: common subsequence length of expected[i..] and actual[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            ops.push((' ', &expected[i]));
            (i, j) = (i + 1, j + 1);
        } else if j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', &expected[i]));
            i += 1;
        } else {
            ops.push(('+', &actual[j]));
            j += 1;
        }
    }
    let near_change = |k: usize| {
        ops[k.saturating_sub(2)..(k + 3).min(ops.len())]
            .iter()
            .any(|o| o.0 != ' ')
    };
    let mut out = String::from("(- expected, + actual)\n");
    let mut skipped = false;
    for (k, (op, line)) in ops.iter().enumerate() {
        if near_change(k) {
            out.push_str(&format!("{op} {line}\n"));
            skipped = false;
        } else if !skipped {
            out.push_str("  ...\n");
            skipped = true;
        }
    }
    Some(out)
}

/// Panics with a readable diff when the two renderings differ.
pub fn assert_same(what: &str, expected: &[String], actual: &[String]) {
    if let Some(d) = diff(expected, actual) {
        panic!("{what}: {d}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn equal_renderings_have_no_diff() {
        assert_eq!(diff(&lines("a b"), &lines("a b")), None);
    }

    #[test]
    fn changes_show_with_context_and_far_lines_collapse() {
        let d = diff(&lines("1 2 3 4 5 6 7 8"), &lines("1 2 3 4 5 6 x 8"));
        assert_eq!(
            d.as_deref(),
            Some("(- expected, + actual)\n  ...\n  5\n  6\n- 7\n+ x\n  8\n")
        );
    }
}
