//! `LIKE` patterns: `%` matches any run of characters, `_` exactly one, and a backslash makes the
//! next character literal (`\%`, `\_`, `\\`). Matching is on Unicode scalar values and
//! case-sensitive; `CASEI`/`ACCENTI` fold both sides before they get here.

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// This character, exactly.
    Char(char),
    /// Any one character (`_`).
    One,
    /// Any run of characters, also empty (`%`).
    Any,
}

/// A compiled `LIKE` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
}

/// A pattern that ends in a lone escape character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the pattern ends with a lone escape character `\\`")]
pub struct TrailingEscape;

impl Pattern {
    /// Compiles `pattern`.
    ///
    /// ```
    /// use citygrid::filter::like::Pattern;
    /// let p = Pattern::new(r"100\%_").unwrap();
    /// assert!(p.matches("100%!"));
    /// assert!(!p.matches("1000!"));
    /// ```
    pub fn new(pattern: &str) -> Result<Self, TrailingEscape> {
        let mut tokens = Vec::with_capacity(pattern.len());
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '\\' => Token::Char(chars.next().ok_or(TrailingEscape)?),
                '%' => {
                    if tokens.last() == Some(&Token::Any) {
                        continue;
                    }
                    Token::Any
                }
                '_' => Token::One,
                other => Token::Char(other),
            });
        }
        Ok(Self { tokens })
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let tokens = &self.tokens;
        // Classic wildcard matching: remember the last `%` and the text position it stood for,
        // and widen that run by one character on a mismatch. Linear in practice, O(n·m) at worst.
        let (mut t, mut p) = (0, 0);
        let mut backtrack: Option<(usize, usize)> = None;
        while t < text.len() {
            match tokens.get(p) {
                Some(Token::Any) => {
                    backtrack = Some((p, t));
                    p += 1;
                }
                Some(Token::One) => {
                    t += 1;
                    p += 1;
                }
                Some(Token::Char(c)) if *c == text[t] => {
                    t += 1;
                    p += 1;
                }
                _ => match backtrack {
                    Some((star, from)) => {
                        p = star + 1;
                        t = from + 1;
                        backtrack = Some((star, from + 1));
                    }
                    None => return false,
                },
            }
        }
        tokens[p..].iter().all(|token| *token == Token::Any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(text: &str, pattern: &str) -> bool {
        Pattern::new(pattern).unwrap().matches(text)
    }

    #[test]
    fn percent_matches_any_run_and_underscore_exactly_one_character() {
        assert!(like("Berlin", "B_r%"));
        assert!(like("Bern", "B_r%"));
        assert!(!like("Brasilia", "B_r%"));
        assert!(like("", "%"));
        assert!(!like("", "_"));
        assert!(like("København", "K_benhavn"));
        assert!(like("abcabd", "%ab_"));
        assert!(!like("abcabd", "%ab_x"));
    }

    #[test]
    fn escaped_wildcards_match_only_themselves() {
        assert!(like("100%", r"100\%"));
        assert!(!like("1000", r"100\%"));
        assert!(like("a_b", r"a\_b"));
        assert!(!like("axb", r"a\_b"));
        assert!(like(r"a\b", r"a\\b"));
    }

    #[test]
    fn a_trailing_escape_is_refused() {
        assert_eq!(Pattern::new(r"abc\"), Err(TrailingEscape));
    }

    #[test]
    fn matching_is_case_sensitive() {
        assert!(!like("berlin", "B%"));
    }
}
