//! The OData v4 query options the Jibble simulator understands: a `$filter` subset
//! (`eq`, `ne`, `gt`, `ge`, `lt`, `le`, `and`, `or`, `not`, parentheses; unquoted dates,
//! instants, GUIDs and numbers, single-quoted strings with `''` as the escape, `null`,
//! `true`, `false`), `$orderby` (`field [asc|desc]`, comma-separated), `$top`, `$skip`
//! and `$count`. `$select` and `$expand` are accepted and ignored (every field is sent).

use std::cmp::Ordering;

use serde_json::Value;

/// A query option the simulator refuses, with OData's kind of message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Quoted(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, QueryError> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Token::Open);
            i += 1;
        } else if c == ')' {
            out.push(Token::Close);
            i += 1;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(QueryError("unterminated string literal".into())),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Token::Quoted(s));
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '(' && chars[i] != ')'
            {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        }
    }
    Ok(out)
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A literal of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Null,
    Bool(bool),
    /// A quoted string, or an unquoted date, instant or GUID (compared as text).
    Text(String),
    Number(f64),
}

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    Compare(String, Op, Literal),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    fields: &'a [&'a str],
}

impl Parser<'_> {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Filter, QueryError> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, QueryError> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, QueryError> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        if self.tokens.get(self.pos) == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.or()?;
            if self.tokens.get(self.pos) != Some(&Token::Close) {
                return Err(QueryError("')' or operator expected".into()));
            }
            self.pos += 1;
            return Ok(inner);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Filter, QueryError> {
        let field = match self.tokens.get(self.pos) {
            Some(Token::Word(w)) => w.clone(),
            _ => return Err(QueryError("a property name was expected".into())),
        };
        if !self.fields.contains(&field.as_str()) {
            return Err(QueryError(format!(
                "Could not find a property named '{field}' on the type."
            )));
        }
        let op = match self.tokens.get(self.pos + 1) {
            Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "eq" => Op::Eq,
                "ne" => Op::Ne,
                "gt" => Op::Gt,
                "ge" => Op::Ge,
                "lt" => Op::Lt,
                "le" => Op::Le,
                other => return Err(QueryError(format!("unknown operator '{other}'"))),
            },
            _ => {
                return Err(QueryError(format!(
                    "an operator was expected after '{field}'"
                )));
            }
        };
        let literal = match self.tokens.get(self.pos + 2) {
            Some(Token::Quoted(s)) => Literal::Text(s.clone()),
            Some(Token::Word(w)) => match w.as_str() {
                "null" => Literal::Null,
                "true" => Literal::Bool(true),
                "false" => Literal::Bool(false),
                _ if w.parse::<f64>().is_ok() && !w.contains('-') => {
                    Literal::Number(w.parse().unwrap_or_default())
                }
                _ => Literal::Text(w.clone()),
            },
            _ => return Err(QueryError(format!("a value was expected after '{field}'"))),
        };
        self.pos += 3;
        Ok(Filter::Compare(field, op, literal))
    }
}

impl Filter {
    /// Parses `text`; `fields` are the entity's property names.
    pub(crate) fn parse(text: &str, fields: &[&str]) -> Result<Filter, QueryError> {
        let mut p = Parser {
            tokens: tokenize(text)?,
            pos: 0,
            fields,
        };
        let f = p.or()?;
        if p.pos != p.tokens.len() {
            return Err(QueryError("syntax error in $filter".into()));
        }
        Ok(f)
    }

    /// Whether the filter names `field` anywhere.
    pub(crate) fn mentions(&self, field: &str) -> bool {
        match self {
            Filter::Compare(f, _, _) => f == field,
            Filter::And(a, b) | Filter::Or(a, b) => a.mentions(field) || b.mentions(field),
            Filter::Not(a) => a.mentions(field),
        }
    }

    /// Whether `record` (a JSON object) passes.
    pub(crate) fn matches(&self, record: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(record) && b.matches(record),
            Filter::Or(a, b) => a.matches(record) || b.matches(record),
            Filter::Not(a) => !a.matches(record),
            Filter::Compare(field, op, literal) => {
                let v = &record[field.as_str()];
                let ord = match (v, literal) {
                    (Value::Null, Literal::Null) => Some(Ordering::Equal),
                    (Value::Null, _) | (_, Literal::Null) => None,
                    (Value::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
                    (Value::Number(a), Literal::Number(b)) => {
                        a.as_f64().and_then(|a| a.partial_cmp(b))
                    }
                    (Value::String(a), Literal::Text(b)) => Some(compare_text(a, b)),
                    _ => None,
                };
                match (op, ord) {
                    (Op::Eq, o) => o == Some(Ordering::Equal),
                    (Op::Ne, o) => o != Some(Ordering::Equal),
                    (_, None) => false,
                    (Op::Gt, Some(o)) => o == Ordering::Greater,
                    (Op::Ge, Some(o)) => o != Ordering::Less,
                    (Op::Lt, Some(o)) => o == Ordering::Less,
                    (Op::Le, Some(o)) => o != Ordering::Greater,
                }
            }
        }
    }
}

/// Dates and instants compare as instants where both parse, GUIDs case-insensitively,
/// everything else as text.
fn compare_text(a: &str, b: &str) -> Ordering {
    let instant = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    if let (Some(x), Some(y)) = (instant(a), instant(b)) {
        return x.cmp(&y);
    }
    a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase())
}

/// A parsed `$orderby`: fields with "descending".
pub(crate) fn parse_orderby(
    text: &str,
    fields: &[&str],
) -> Result<Vec<(String, bool)>, QueryError> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let mut words = part.split_whitespace();
        let Some(field) = words.next() else {
            continue;
        };
        if !fields.contains(&field) {
            return Err(QueryError(format!(
                "Could not find a property named '{field}' on the type."
            )));
        }
        let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => return Err(QueryError(format!("unknown direction '{other}'"))),
        };
        out.push((field.to_owned(), desc));
    }
    Ok(out)
}

/// Orders records by `keys`, then by `id` (a stable order for paging).
pub(crate) fn sort(records: &mut [Value], keys: &[(String, bool)]) {
    records.sort_by(|a, b| {
        for (field, desc) in keys {
            let o = match (&a[field.as_str()], &b[field.as_str()]) {
                (Value::String(x), Value::String(y)) => compare_text(x, y),
                (Value::Number(x), Value::Number(y)) => x
                    .as_f64()
                    .partial_cmp(&y.as_f64())
                    .unwrap_or(Ordering::Equal),
                (Value::Null, Value::Null) => Ordering::Equal,
                (Value::Null, _) => Ordering::Less,
                (_, Value::Null) => Ordering::Greater,
                _ => Ordering::Equal,
            };
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        a["id"].as_str().cmp(&b["id"].as_str())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: &[&str] = &["id", "personId", "belongsToDate", "status", "time"];

    #[test]
    fn a_jibble_filter_with_dates_guids_and_strings_matches_as_odata_does() {
        let f = Filter::parse(
            "(personId eq 3fa85f64-5717-4562-b3fc-2c963f66afa6 and belongsToDate ge 2026-03-01 \
             and belongsToDate le 2026-03-31 and status ne 'Archived')",
            FIELDS,
        )
        .unwrap();
        let mut r = json!({"id": "a", "personId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "belongsToDate": "2026-03-31", "status": "Active", "time": "2026-03-31T10:00:00Z"});
        assert!(f.matches(&r));
        r["status"] = json!("Archived");
        assert!(!f.matches(&r));
        r["status"] = json!("Active");
        r["belongsToDate"] = json!("2026-04-01");
        assert!(!f.matches(&r));
        assert!(f.mentions("status"));
    }

    #[test]
    fn or_not_and_instants_work_and_unknown_properties_are_refused() {
        let f = Filter::parse("id eq 'a' or not (time lt 2026-03-02T00:00:00Z)", FIELDS).unwrap();
        assert!(f.matches(&json!({"id": "a", "time": "2026-03-01T00:00:00.000Z"})));
        assert!(f.matches(&json!({"id": "b", "time": "2026-03-02T01:00:00+01:00"})));
        assert!(!f.matches(&json!({"id": "b", "time": "2026-03-01T23:00:00Z"})));
        assert!(Filter::parse("nope eq 1", FIELDS).is_err());
        assert!(Filter::parse("status eq 'unterminated", FIELDS).is_err());
        assert!(Filter::parse("(status eq 'x'", FIELDS).is_err());
    }
}
