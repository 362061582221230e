//! Wildcard patterns (`*`, `?`) and policy variables (`${aws:username}`, `${*}`, defaults) as IAM resolves them.

use crate::request::Request;

/// One unit of a resolved pattern: a literal character or a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    Lit(char),
    /// `*`: any run of characters, the empty one included.
    Many,
    /// `?`: exactly one character.
    One,
}

/// Tokens of a string whose `*` and `?` are wildcards (actions, and text written in a policy).
pub(crate) fn wildcard_tokens(text: &str) -> Vec<Token> {
    text.chars()
        .map(|c| match c {
            '*' => Token::Many,
            '?' => Token::One,
            other => Token::Lit(other),
        })
        .collect()
}

/// Whether `text` matches `pattern` as a whole.
///
/// Greedy with one backtrack point (the last `*`), which is complete for `*`/`?` globs and linear
/// in practice, so a hostile pattern cannot make evaluation explode.
pub(crate) fn glob_match(pattern: &[Token], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Token::Many) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(Token::One) => {
                p += 1;
                t += 1;
            }
            Some(Token::Lit(c)) if text.get(t) == Some(c) => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    p = star + 1;
                    t = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern.get(p..).is_some_and(|rest| rest.iter().all(|token| *token == Token::Many))
}

/// A piece of a policy string: written text, a variable, or an escaped special character.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Variable {
        key: String,
        default: Option<String>,
    },
    /// `${*}`, `${?}`, `${$}`: the character itself, never a wildcard.
    Escaped(char),
}

/// A policy string that may hold policy variables, resolved against each request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `text`; with `variables` false (policy version 2008-10-17) `${...}` is plain text, as in IAM.
    ///
    /// The error is the text itself, for the caller to name in its own error.
    pub(crate) fn parse(text: &str, variables: bool) -> Result<Template, String> {
        if !variables || !text.contains("${") {
            return Ok(Template { pieces: vec![Piece::Text(text.to_string())] });
        }
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| text.to_string())?;
            pieces.push(parse_variable(&after[..end]).ok_or_else(|| text.to_string())?);
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template { pieces })
    }

    /// The text with variables substituted, wildcards kept literal (for the `...Equals` operators).
    ///
    /// `None` when a variable has no single value and no default: IAM then treats the whole
    /// value as matching nothing.
    pub(crate) fn literal(&self, request: &Request) -> Option<String> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Escaped(c) => out.push(*c),
                Piece::Variable { key, default } => out.push_str(variable_value(request, key, default.as_deref())?),
            }
        }
        Some(out)
    }

    /// The pattern with variables substituted: written `*`/`?` are wildcards, substituted values are not.
    pub(crate) fn tokens(&self, request: &Request) -> Option<Vec<Token>> {
        let mut out = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.extend(wildcard_tokens(text)),
                Piece::Escaped(c) => out.push(Token::Lit(*c)),
                Piece::Variable { key, default } => {
                    out.extend(variable_value(request, key, default.as_deref())?.chars().map(Token::Lit));
                }
            }
        }
        Some(out)
    }

    /// The text as written, when it holds no variables (for values checked at parse time).
    pub(crate) fn as_plain(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [Piece::Text(text)] => Some(text),
            [] => Some(""),
            _ => None,
        }
    }
}

/// The body of `${...}`: a special character, or a context key with an optional `, 'default'`.
fn parse_variable(body: &str) -> Option<Piece> {
    match body {
        "*" => return Some(Piece::Escaped('*')),
        "?" => return Some(Piece::Escaped('?')),
        "$" => return Some(Piece::Escaped('$')),
        _ => {}
    }
    let (key, default) = match body.split_once(',') {
        Some((key, default)) => {
            let default = default.trim();
            let quoted = default.strip_prefix('\'').and_then(|d| d.strip_suffix('\''))?;
            (key.trim(), Some(quoted.to_string()))
        }
        None => (body.trim(), None),
    };
    if key.is_empty() {
        return None;
    }
    Some(Piece::Variable { key: key.to_ascii_lowercase(), default })
}

/// A variable's value: only a single-valued context key can be a variable (multivalued ones have none).
fn variable_value<'a>(request: &'a Request, key: &str, default: Option<&'a str>) -> Option<&'a str> {
    match request.context_values(key) {
        Some([value]) => Some(value.as_str()),
        _ => default,
    }
}

/// Whether an ARN matches an `Arn...` condition pattern, each of the six colon-separated parts on its own.
///
/// IAM's documented difference from `StringLike`: a `*` in one part never swallows a colon. A
/// pattern with fewer than six parts (say a lone `*`) is matched as a whole string.
pub(crate) fn arn_match(pattern: &[Token], value: &str) -> bool {
    let parts = split_pattern(pattern);
    if parts.len() < 6 {
        return glob_match(pattern, value);
    }
    let values: Vec<&str> = value.splitn(6, ':').collect();
    values.len() == 6 && parts.iter().zip(&values).all(|(part, value)| glob_match(part, value))
}

/// The pattern split at its first five literal colons (the sixth part keeps the rest, colons and all).
fn split_pattern(pattern: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::with_capacity(6);
    let mut start = 0;
    for (index, token) in pattern.iter().enumerate() {
        if parts.len() == 5 {
            break;
        }
        if *token == Token::Lit(':') {
            parts.push(&pattern[start..index]);
            start = index + 1;
        }
    }
    parts.push(&pattern[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(pattern: &str, text: &str) -> bool {
        glob_match(&wildcard_tokens(pattern), text)
    }

    #[test]
    fn globs_match_as_iam_does() {
        assert!(glob("*", ""));
        assert!(glob("s3:*", "s3:GetObject"));
        assert!(glob("iam:*Report", "iam:GetOrganizationsAccessReport"));
        assert!(!glob("iam:*Report", "iam:GetReports"));
        assert!(glob("State:??", "State:NY"));
        assert!(!glob("State:??", "State:NewYork"));
        assert!(glob("a*b*c", "a-b-b-c"));
        assert!(!glob("a*b*c", "a-b-b-d"));
        assert!(!glob("abc", "abcd"));
        assert!(glob("arn:aws:s3:::*log*", "arn:aws:s3:::carlossalazar-logs"));
    }

    #[test]
    fn arn_parts_are_matched_separately() {
        let pattern = wildcard_tokens("arn:aws:someservice:*:111122223333:finance/*");
        let value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
        assert!(!arn_match(&pattern, value));
        assert!(glob_match(&pattern, value));
        assert!(arn_match(&pattern, "arn:aws:someservice:us-east-2:111122223333:finance/a:b"));
        assert!(arn_match(&wildcard_tokens("*"), value));
    }

    #[test]
    fn malformed_variables_are_refused() {
        assert!(Template::parse("home/${aws:username", true).is_err());
        assert!(Template::parse("home/${}", true).is_err());
        assert!(Template::parse("home/${aws:username, unquoted}", true).is_err());
        assert!(Template::parse("home/${aws:username", false).is_ok());
    }
}
