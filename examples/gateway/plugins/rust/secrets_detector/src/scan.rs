//! The detection rules: credential shapes found by a prefix and a run of
//! allowed characters, without a regular-expression engine.

/// One rule: `prefix` then at least `min` (at most `max`) characters for
/// which `body` holds, not preceded by a character of the same kind (so a
/// prefix in the middle of a word does not count).
pub struct Rule {
    pub name: &'static str,
    pub kind: &'static str,
    prefix: &'static str,
    body: fn(u8) -> bool,
    min: usize,
    max: usize,
}

fn upper_digit(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

fn alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

fn token(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

fn pem(c: u8) -> bool {
    c.is_ascii_uppercase() || c == b' '
}

pub const RULES: &[Rule] = &[
    Rule {
        name: "aws_access_key",
        kind: "aws_access_key_id",
        prefix: "AKIA",
        body: upper_digit,
        min: 16,
        max: 16,
    },
    Rule {
        name: "github_token",
        kind: "github_token",
        prefix: "ghp_",
        body: alnum,
        min: 36,
        max: 36,
    },
    Rule {
        name: "api_key",
        kind: "api_key",
        prefix: "sk-",
        body: token,
        min: 20,
        max: 200,
    },
    Rule {
        name: "private_key",
        kind: "private_key",
        prefix: "-----BEGIN ",
        body: pem,
        min: 11,
        max: 40,
    },
];

/// A credential found in the text (byte offset and length; never the text).
#[derive(Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: &'static str,
    pub offset: usize,
    pub len: usize,
}

/// Every match of `rule` in `text`, left to right, not overlapping.
pub fn find_all(rule: &Rule, text: &str) -> Vec<Finding> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find(rule.prefix) {
        let start = from + pos;
        let body = start + rule.prefix.len();
        let run = bytes[body..]
            .iter()
            .take_while(|&&c| (rule.body)(c))
            .count();
        let boundary = start == 0 || !token(bytes[start - 1]);
        if boundary && run >= rule.min && run <= rule.max {
            out.push(Finding {
                kind: rule.kind,
                offset: start,
                len: rule.prefix.len() + run,
            });
            from = body + run;
        } else {
            from = body;
        }
    }
    out
}

/// The findings of every rule (for the path without telemetry).
pub fn find_any(text: &str) -> Vec<Finding> {
    RULES.iter().flat_map(|r| find_all(r, text)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_kind_and_only_at_a_boundary() {
        let key = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e";
        assert_eq!(
            find_any(&format!("use {key} now")),
            vec![Finding {
                kind: "api_key",
                offset: 4,
                len: key.len()
            }]
        );
        assert!(find_any(&format!("task{key}")).is_empty());
        assert!(find_any("sk-short").is_empty());
        let aws = "AKIAABCDEFGHIJKLMNOP";
        assert_eq!(find_all(&RULES[0], aws).len(), 1);
        assert!(find_all(&RULES[0], &aws[..aws.len() - 1]).is_empty());
        assert_eq!(
            find_any("-----BEGIN RSA PRIVATE KEY-----")[0].kind,
            "private_key"
        );
        assert!(find_any("plain text with https://example.com").is_empty());
    }
}
