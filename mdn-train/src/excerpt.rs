//! Bounded echoes of input in messages: a value cut to [`MAX_CHARS`] characters and a list
//! to [`MAX_ITEMS`] items, each with a count of the rest, so that a 5 MB cell or a header
//! of 5,000 names still gives a one-line message a person can read.
//!
//! Every message of mdn-train and `mdn` that repeats a cell, a name or a list of names goes
//! through these functions.

use std::fmt::Display;

/// Characters of a value shown before it is cut.
pub const MAX_CHARS: usize = 40;

/// Items of a list shown before the rest are counted.
pub const MAX_ITEMS: usize = 20;

/// `value` cut after [`MAX_CHARS`] characters, with the number of characters left out;
/// control characters (a line feed inside a quoted CSV field) are escaped, so the message
/// stays on one line.
///
/// # Examples
///
/// ```
/// use mdn_train::excerpt::cut;
/// assert_eq!(cut("abc"), "abc");
/// assert_eq!(cut("a\nb"), "a\\nb");
/// assert_eq!(cut(&"x".repeat(5000)), format!("{}... (4,960 more characters)", "x".repeat(40)));
/// ```
pub fn cut(value: &str) -> String {
    let (shown, more) = parts(value);
    format!("{shown}{more}")
}

/// [`cut`] in backticks, the way messages quote a cell or a name: `` `abc` ``, or
/// `` `abcd...` (7 more characters) `` with the count outside the quotes.
///
/// # Examples
///
/// ```
/// use mdn_train::excerpt::quoted;
/// assert_eq!(quoted("x;y"), "`x;y`");
/// let long = quoted(&"7".repeat(41));
/// assert_eq!(long, format!("`{}...` (1 more characters)", "7".repeat(40)));
/// ```
pub fn quoted(value: &str) -> String {
    let (shown, more) = parts(value);
    match more.split_once(' ') {
        Some((dots, count)) => format!("`{shown}{dots}` {count}"),
        None => format!("`{shown}`"),
    }
}

/// The shown part of `value` (control characters escaped) and, if it was cut, the note
/// that follows it: `... (N more characters)`.
fn parts(value: &str) -> (String, String) {
    let mut shown = String::new();
    for c in value.chars().take(MAX_CHARS) {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    let more = match value.chars().count().saturating_sub(MAX_CHARS) {
        0 => String::new(),
        rest => format!("... ({} more characters)", thousands(rest)),
    };
    (shown, more)
}

/// The first [`MAX_ITEMS`] items, comma separated, and the number of the others.
///
/// # Examples
///
/// ```
/// use mdn_train::excerpt::list;
/// assert_eq!(list([2, 3, 5]), "2, 3, 5");
/// let long = list(1..=25);
/// assert!(long.starts_with("1, 2, 3") && long.ends_with("19, 20 and 5 more"));
/// ```
pub fn list<T: Display>(items: impl IntoIterator<Item = T>) -> String {
    let mut items = items.into_iter();
    let shown: Vec<String> = items
        .by_ref()
        .take(MAX_ITEMS)
        .map(|i| i.to_string())
        .collect();
    let rest = items.count();
    let shown = shown.join(", ");
    if rest == 0 {
        shown
    } else {
        format!("{shown} and {} more", thousands(rest))
    }
}

/// [`list`] of names, each [`quoted`].
///
/// # Examples
///
/// ```
/// use mdn_train::excerpt::quoted_list;
/// assert_eq!(quoted_list(["x", "y"]), "`x`, `y`");
/// let header: Vec<String> = (0..5000).map(|i| format!("c{i}")).collect();
/// let text = quoted_list(&header);
/// assert!(text.ends_with("`c19` and 4,980 more") && text.len() < 200);
/// ```
pub fn quoted_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    list(items.into_iter().map(|s| quoted(s.as_ref())))
}

/// `n` with a comma every three digits, as the project writes counts: `4,980`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(5_242_840), "5,242,840");
    }

    #[test]
    fn a_value_of_exactly_the_limit_is_not_cut() {
        let forty = "é".repeat(MAX_CHARS);
        assert_eq!(cut(&forty), forty);
        assert_eq!(quoted(&forty), format!("`{forty}`"));
        assert_eq!(list(0..MAX_ITEMS).matches(", ").count(), MAX_ITEMS - 1);
    }

    #[test]
    fn a_five_megabyte_cell_gives_a_short_message() {
        let cell = "9".repeat(5 << 20);
        let text = quoted(&cell);
        assert!(text.len() < 80, "{text}");
        assert!(text.ends_with("` (5,242,840 more characters)"), "{text}");
    }
}
