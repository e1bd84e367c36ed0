//! The generic part of the simulated ORM: field definitions per model, value parsing as
//! Odoo's `fields.py` does it (strict datetimes, dates with a time part cut), output as
//! `read` gives it (`false` for empty, `[id, name]` for many2one), domains, ordering and
//! the error values the RPC layer turns into envelopes.

use std::cmp::Ordering;

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Map, Value, json};

/// The type of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Integer,
    Char,
    Bool,
    Float,
    Date,
    Datetime,
    Selection,
    /// A many2one to the named model.
    Many2one(&'static str),
    /// A one2many/many2many: accepted on write (commands ignored), read as `[]`.
    ToMany,
}

/// One field: name, type, label, required, readonly.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub label: &'static str,
    pub required: bool,
    pub readonly: bool,
}

const fn f(name: &'static str, kind: Kind, label: &'static str) -> Field {
    Field {
        name,
        kind,
        label,
        required: false,
        readonly: false,
    }
}

const fn req(name: &'static str, kind: Kind, label: &'static str) -> Field {
    Field {
        name,
        kind,
        label,
        required: true,
        readonly: false,
    }
}

const fn ro(name: &'static str, kind: Kind, label: &'static str) -> Field {
    Field {
        name,
        kind,
        label,
        required: false,
        readonly: true,
    }
}

const COMMON: [Field; 5] = [
    ro("id", Kind::Integer, "ID"),
    ro("display_name", Kind::Char, "Display Name"),
    ro("create_date", Kind::Datetime, "Created on"),
    ro("write_date", Kind::Datetime, "Last Updated on"),
    ro("create_uid", Kind::Many2one("res.users"), "Created by"),
];

const USERS: &[Field] = &[
    req("name", Kind::Char, "Name"),
    req("login", Kind::Char, "Login"),
    f("email", Kind::Char, "Email"),
    f("tz", Kind::Selection, "Timezone"),
    f("active", Kind::Bool, "Active"),
    f("password", Kind::Char, "Password"),
    f("company_id", Kind::Many2one("res.company"), "Company"),
    f("groups_id", Kind::ToMany, "Groups"),
    f("employee_ids", Kind::ToMany, "Related employee"),
];
const COMPANY: &[Field] = &[req("name", Kind::Char, "Company Name")];
const PARTNER: &[Field] = &[f("name", Kind::Char, "Name")];
const ACCOUNT: &[Field] = &[
    req("name", Kind::Char, "Analytic Account"),
    f("active", Kind::Bool, "Active"),
    f("company_id", Kind::Many2one("res.company"), "Company"),
];
const EMPLOYEE: &[Field] = &[
    req("name", Kind::Char, "Employee Name"),
    f("work_email", Kind::Char, "Work Email"),
    f("user_id", Kind::Many2one("res.users"), "User"),
    f("active", Kind::Bool, "Active"),
    f("company_id", Kind::Many2one("res.company"), "Company"),
    f("tz", Kind::Selection, "Timezone"),
];
const PROJECT: &[Field] = &[
    req("name", Kind::Char, "Name"),
    f("active", Kind::Bool, "Active"),
    f("allow_timesheets", Kind::Bool, "Timesheets"),
    f(
        "account_id",
        Kind::Many2one("account.analytic.account"),
        "Analytic Account",
    ),
    f("partner_id", Kind::Many2one("res.partner"), "Customer"),
    f("company_id", Kind::Many2one("res.company"), "Company"),
];
const STAGE: &[Field] = &[req("name", Kind::Char, "Stage Name")];
const TASK: &[Field] = &[
    req("name", Kind::Char, "Title"),
    f("project_id", Kind::Many2one("project.project"), "Project"),
    f("active", Kind::Bool, "Active"),
    f("stage_id", Kind::Many2one("project.task.type"), "Stage"),
];
const ATTENDANCE: &[Field] = &[
    req("employee_id", Kind::Many2one("hr.employee"), "Employee"),
    req("check_in", Kind::Datetime, "Check In"),
    f("check_out", Kind::Datetime, "Check Out"),
    ro("worked_hours", Kind::Float, "Worked Hours"),
    ro("overtime_hours", Kind::Float, "Over Time"),
    ro("expected_hours", Kind::Float, "Expected Hours"),
    ro("in_mode", Kind::Selection, "Mode"),
    ro("out_mode", Kind::Selection, "Mode"),
];
const LINE: &[Field] = &[
    req("name", Kind::Char, "Description"),
    req("date", Kind::Date, "Date"),
    f("unit_amount", Kind::Float, "Quantity"),
    f("amount", Kind::Float, "Amount"),
    f("project_id", Kind::Many2one("project.project"), "Project"),
    f("task_id", Kind::Many2one("project.task"), "Task"),
    f("employee_id", Kind::Many2one("hr.employee"), "Employee"),
    ro("user_id", Kind::Many2one("res.users"), "User"),
    f(
        "account_id",
        Kind::Many2one("account.analytic.account"),
        "Project Account",
    ),
    f("company_id", Kind::Many2one("res.company"), "Company"),
];
/// `ref` exists on analytic lines only when the Invoicing (`account`) module is installed.
pub(crate) const LINE_REF: Field = f("ref", Kind::Char, "Ref.");

/// The models the simulator knows.
pub(crate) const MODELS: [&str; 11] = [
    "res.users",
    "res.company",
    "res.partner",
    "account.analytic.account",
    "hr.employee",
    "project.project",
    "project.task.type",
    "project.task",
    "hr.attendance",
    "account.analytic.line",
    "res.groups",
];

/// The fields of `model` (without the common ones), if the model exists.
pub(crate) fn model_fields(model: &str) -> Option<&'static [Field]> {
    Some(match model {
        "res.users" => USERS,
        "res.company" => COMPANY,
        "res.partner" | "res.groups" => PARTNER,
        "account.analytic.account" => ACCOUNT,
        "hr.employee" => EMPLOYEE,
        "project.project" => PROJECT,
        "project.task.type" => STAGE,
        "project.task" => TASK,
        "hr.attendance" => ATTENDANCE,
        "account.analytic.line" => LINE,
        _ => return None,
    })
}

/// A field of `model` by name (common fields included; `ref` where configured).
pub(crate) fn field(model: &str, name: &str, with_ref: bool) -> Option<Field> {
    if with_ref && model == "account.analytic.line" && name == "ref" {
        return Some(LINE_REF);
    }
    COMMON
        .iter()
        .chain(model_fields(model)?.iter())
        .find(|f| f.name == name)
        .copied()
}

/// Every readable field name of `model`, in definition order.
pub(crate) fn field_names(model: &str, with_ref: bool) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = COMMON.iter().map(|f| f.name).collect();
    if let Some(fields) = model_fields(model) {
        out.extend(
            fields
                .iter()
                .filter(|f| f.name != "password")
                .map(|f| f.name),
        );
    }
    if with_ref && model == "account.analytic.line" {
        out.push("ref");
    }
    out
}

/// Whether the model has an `active` field (archived records are hidden by default).
pub(crate) fn has_active(model: &str) -> bool {
    model_fields(model).is_some_and(|fs| fs.iter().any(|f| f.name == "active"))
}

/// An exception as Odoo serialises it into `error.data`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OdooError {
    /// `data.name`, e.g. `odoo.exceptions.ValidationError`.
    pub name: &'static str,
    /// `data.message` (and the only item of `data.arguments`).
    pub message: String,
    /// The last line of the traceback when it is not `<class>: <message>` (KeyError's
    /// repr).
    pub tail: Option<String>,
}

impl OdooError {
    fn new(name: &'static str, message: impl Into<String>) -> Self {
        OdooError {
            name,
            message: message.into(),
            tail: None,
        }
    }
    pub fn validation(m: impl Into<String>) -> Self {
        Self::new("odoo.exceptions.ValidationError", m)
    }
    pub fn user(m: impl Into<String>) -> Self {
        Self::new("odoo.exceptions.UserError", m)
    }
    pub fn access(m: impl Into<String>) -> Self {
        Self::new("odoo.exceptions.AccessError", m)
    }
    pub fn access_denied(m: impl Into<String>) -> Self {
        Self::new("odoo.exceptions.AccessDenied", m)
    }
    pub fn value(m: impl Into<String>) -> Self {
        Self::new("builtins.ValueError", m)
    }
    pub fn attribute(m: impl Into<String>) -> Self {
        Self::new("builtins.AttributeError", m)
    }
    pub fn exception(m: impl Into<String>) -> Self {
        Self::new("builtins.Exception", m)
    }
    pub fn type_error(m: impl Into<String>) -> Self {
        Self::new("builtins.TypeError", m)
    }
    pub fn key(key: &str) -> Self {
        OdooError {
            name: "builtins.KeyError",
            message: key.to_owned(),
            tail: Some(format!("KeyError: {}", py_str(key))),
        }
    }
    pub fn operational(m: impl Into<String>) -> Self {
        Self::new("psycopg2.OperationalError", m)
    }
    /// MissingError for `ids` of `model`, as user `uid` saw it.
    pub fn missing(model: &str, ids: &[i64], uid: i64) -> Self {
        Self::new(
            "odoo.exceptions.MissingError",
            format!(
                "Record does not exist or has been deleted.\n(Record: {model}{}, User: {uid})",
                py_tuple(ids)
            ),
        )
    }

    /// The `error` object of the JSON-RPC envelope.
    pub fn envelope(&self) -> Value {
        let class = match self.name.strip_prefix("builtins.") {
            Some(short) => short.to_owned(),
            None => self.name.to_owned(),
        };
        let tail = self.tail.clone().unwrap_or_else(|| {
            let full = format!("{class}: {}", self.message);
            full.trim_end()
                .lines()
                .last()
                .unwrap_or_default()
                .to_owned()
        });
        json!({
            "code": 200,
            "message": "Odoo Server Error",
            "data": {
                "name": self.name,
                "debug": format!(
                    "Traceback (most recent call last):\n  File \"timebridge-sim\", line 1, in dispatch\n{tail}"
                ),
                "message": self.message,
                "arguments": [self.message],
                "context": {},
            }
        })
    }
}

/// Python's `repr` of a string.
pub(crate) fn py_str(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\'', "\\'"))
    }
}

/// Python's `repr` of a tuple of ids: `(7,)`, `(1, 2)`.
pub(crate) fn py_tuple(ids: &[i64]) -> String {
    match ids {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            ids.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `repr` of a JSON value (for domain error messages).
pub(crate) fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_str(s),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(_) => v.to_string(),
    }
}

pub(crate) const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Python's `strptime` for the directives Odoo's formats use (`%Y %m %d %H %M %S`), with
/// Python's error texts.
fn strptime(value: &str, format: &str) -> Result<Vec<u32>, OdooError> {
    let mismatch = || {
        OdooError::value(format!(
            "time data {} does not match format {}",
            py_str(value),
            py_str(format)
        ))
    };
    let bytes = value.as_bytes();
    let mut pos = 0usize;
    let mut parts = Vec::new();
    let mut fmt = format.chars().peekable();
    while let Some(c) = fmt.next() {
        if c == '%' {
            let d = fmt.next().ok_or_else(mismatch)?;
            let max = if d == 'Y' { 4 } else { 2 };
            let start = pos;
            while pos < bytes.len() && pos - start < max && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            if pos == start || (d == 'Y' && pos - start != 4) {
                return Err(mismatch());
            }
            parts.push(value[start..pos].parse::<u32>().map_err(|_| mismatch())?);
        } else {
            if pos >= bytes.len() || bytes[pos] as char != c {
                return Err(mismatch());
            }
            pos += 1;
        }
    }
    if pos < value.len() {
        return Err(OdooError::value(format!(
            "unconverted data remains: {}",
            &value[pos..]
        )));
    }
    Ok(parts)
}

/// `fields.Datetime.to_datetime`: `"%Y-%m-%d %H:%M:%S"[:len(value) - 2]`, so a date alone
/// and a time without seconds are accepted, `T`, offsets and fractions are not.
pub(crate) fn parse_datetime_input(value: &str) -> Result<NaiveDateTime, OdooError> {
    let cut = value.len().saturating_sub(2).min(DATETIME_FORMAT.len());
    let format = &DATETIME_FORMAT[..cut];
    let p = strptime(value, format)?;
    let get = |i: usize| p.get(i).copied().unwrap_or(0);
    NaiveDate::from_ymd_opt(get(0) as i32, get(1).max(1), get(2).max(1))
        .and_then(|d| d.and_hms_opt(get(3), get(4), get(5)))
        .filter(|_| p.len() >= 3)
        .ok_or_else(|| {
            OdooError::value(format!(
                "time data {} does not match format {}",
                py_str(value),
                py_str(format)
            ))
        })
}

/// `fields.Date.to_date`: the first 10 characters as `%Y-%m-%d` (a time part is dropped).
pub(crate) fn parse_date_input(value: &str) -> Result<NaiveDate, OdooError> {
    let head: String = value.chars().take(10).collect();
    let p = strptime(&head, "%Y-%m-%d")?;
    NaiveDate::from_ymd_opt(p[0] as i32, p[1], p[2]).ok_or_else(|| {
        OdooError::value(format!(
            "time data {} does not match format '%Y-%m-%d'",
            py_str(&head)
        ))
    })
}

/// A datetime or date value in a domain: PostgreSQL reads `T`, `Z`, offsets and dates
/// alone (the zone is ignored for a column without one).
fn parse_domain_datetime(value: &str) -> Option<String> {
    let v = value.trim();
    let (date, time) = match v.split_once(['T', ' ']) {
        Some((d, t)) => (d, t),
        None => (v, "00:00:00"),
    };
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let time: String = time
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ':')
        .collect();
    let t = chrono::NaiveTime::parse_from_str(&time, "%H:%M:%S")
        .or_else(|_| chrono::NaiveTime::parse_from_str(&time, "%H:%M"))
        .ok()?;
    Some(d.and_time(t).format(DATETIME_FORMAT).to_string())
}

/// Converts an input value of field `f` into its stored form (datetimes and dates as
/// canonical text, many2one as id or null, empty as null).
pub(crate) fn to_stored(f: &Field, v: &Value) -> Result<Value, OdooError> {
    if v.is_null() || v == &Value::Bool(false) && f.kind != Kind::Bool {
        return Ok(Value::Null);
    }
    Ok(match f.kind {
        Kind::Datetime => match v {
            Value::String(s) => json!(parse_datetime_input(s)?.format(DATETIME_FORMAT).to_string()),
            other => {
                return Err(OdooError::type_error(format!(
                    "{} is not a datetime",
                    py_repr(other)
                )));
            }
        },
        Kind::Date => match v {
            Value::String(s) => json!(parse_date_input(s)?.format("%Y-%m-%d").to_string()),
            other => {
                return Err(OdooError::type_error(format!(
                    "{} is not a date",
                    py_repr(other)
                )));
            }
        },
        Kind::Many2one(_) => match v {
            Value::Number(n) => json!(n.as_i64().unwrap_or_default()),
            Value::Array(a) => a.first().cloned().unwrap_or(Value::Null),
            other => other.clone(),
        },
        Kind::Float => json!(v.as_f64().unwrap_or_default()),
        Kind::Integer => json!(v.as_i64().unwrap_or_default()),
        Kind::Bool => json!(v.as_bool().unwrap_or(!v.is_null())),
        Kind::Char | Kind::Selection => match v {
            Value::String(s) if s.is_empty() => Value::Null,
            other => other.clone(),
        },
        Kind::ToMany => Value::Null,
    })
}

/// Compares two stored values of one field (nulls first).
pub(crate) fn cmp_stored(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or_default()
            .partial_cmp(&y.as_f64().unwrap_or_default())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// A parsed domain: prefix `&`, `|`, `!` and leaves.
#[derive(Debug, Clone)]
pub(crate) enum Domain {
    And(Box<Domain>, Box<Domain>),
    Or(Box<Domain>, Box<Domain>),
    Not(Box<Domain>),
    Leaf(String, String, Value),
    True,
}

impl Domain {
    /// Parses a domain list; missing operators between terms mean `&`.
    pub fn parse(v: &Value, model: &str, with_ref: bool) -> Result<Domain, OdooError> {
        let items = match v {
            Value::Array(a) => a.clone(),
            Value::Null | Value::Bool(false) => Vec::new(),
            other => {
                return Err(OdooError::value(format!(
                    "Invalid domain {}",
                    py_repr(other)
                )));
            }
        };
        let mut terms: Vec<Domain> = Vec::new();
        let mut i = 0;
        while i < items.len() {
            let (d, next) = Self::parse_one(&items, i, model, with_ref)?;
            terms.push(d);
            i = next;
        }
        Ok(terms
            .into_iter()
            .reduce(|a, b| Domain::And(Box::new(a), Box::new(b)))
            .unwrap_or(Domain::True))
    }

    fn parse_one(
        items: &[Value],
        i: usize,
        model: &str,
        with_ref: bool,
    ) -> Result<(Domain, usize), OdooError> {
        let bad = || OdooError::value("Domain is not well formed");
        match items.get(i).ok_or_else(bad)? {
            Value::String(op) if op == "&" || op == "|" => {
                let (a, n) = Self::parse_one(items, i + 1, model, with_ref)?;
                let (b, n) = Self::parse_one(items, n, model, with_ref)?;
                let d = if op == "&" {
                    Domain::And(Box::new(a), Box::new(b))
                } else {
                    Domain::Or(Box::new(a), Box::new(b))
                };
                Ok((d, n))
            }
            Value::String(op) if op == "!" => {
                let (a, n) = Self::parse_one(items, i + 1, model, with_ref)?;
                Ok((Domain::Not(Box::new(a)), n))
            }
            Value::Array(leaf) if leaf.len() == 3 => {
                let name = leaf[0].as_str().ok_or_else(bad)?;
                let op = leaf[1].as_str().ok_or_else(bad)?.to_lowercase();
                let repr = format!(
                    "({}, {}, {})",
                    py_repr(&leaf[0]),
                    py_repr(&leaf[1]),
                    py_repr(&leaf[2])
                );
                let Some(fd) = field(model, name, with_ref) else {
                    return Err(OdooError::value(format!(
                        "Invalid field {model}.{name} in leaf {repr}"
                    )));
                };
                let allowed = [
                    "=",
                    "!=",
                    "<>",
                    "<",
                    "<=",
                    ">",
                    ">=",
                    "in",
                    "not in",
                    "like",
                    "ilike",
                    "not like",
                    "not ilike",
                    "=like",
                    "=ilike",
                ];
                if !allowed.contains(&op.as_str()) {
                    return Err(OdooError::value(format!("Invalid leaf {repr}")));
                }
                let value = match (&fd.kind, &leaf[2]) {
                    (Kind::Datetime, Value::String(s)) => parse_domain_datetime(s)
                        .map(Value::String)
                        .unwrap_or(leaf[2].clone()),
                    (Kind::Date, Value::String(s)) => json!(s.chars().take(10).collect::<String>()),
                    _ => leaf[2].clone(),
                };
                Ok((Domain::Leaf(name.to_owned(), op, value), i + 1))
            }
            _ => Err(bad()),
        }
    }

    /// Whether the domain names field `name` (then `active_test` does not apply to it).
    pub fn mentions(&self, name: &str) -> bool {
        match self {
            Domain::And(a, b) | Domain::Or(a, b) => a.mentions(name) || b.mentions(name),
            Domain::Not(a) => a.mentions(name),
            Domain::Leaf(f, _, _) => f == name,
            Domain::True => false,
        }
    }

    /// Whether the stored record matches.
    pub fn matches(&self, rec: &Map<String, Value>) -> bool {
        match self {
            Domain::True => true,
            Domain::And(a, b) => a.matches(rec) && b.matches(rec),
            Domain::Or(a, b) => a.matches(rec) || b.matches(rec),
            Domain::Not(a) => !a.matches(rec),
            Domain::Leaf(name, op, value) => {
                let got = rec.get(name).cloned().unwrap_or(Value::Null);
                leaf_matches(&got, op, value)
            }
        }
    }
}

fn as_null(v: &Value) -> Value {
    match v {
        Value::Bool(false) => Value::Null,
        other => other.clone(),
    }
}

fn eq_value(got: &Value, want: &Value) -> bool {
    let want = as_null(want);
    match (got, &want) {
        (Value::Bool(g), Value::Null) => !g,
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => got == &want,
    }
}

fn like(got: &Value, pattern: &str, insensitive: bool, anchored: bool) -> bool {
    let Some(text) = got.as_str() else {
        return false;
    };
    let (t, p) = if insensitive {
        (text.to_lowercase(), pattern.to_lowercase())
    } else {
        (text.to_owned(), pattern.to_owned())
    };
    if anchored {
        sql_like(&t, &p)
    } else {
        t.contains(&p)
    }
}

/// SQL `LIKE` with `%` and `_`.
fn sql_like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    fn go(t: &[char], p: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('%') => (0..=t.len()).any(|i| go(&t[i..], &p[1..])),
            Some('_') => !t.is_empty() && go(&t[1..], &p[1..]),
            Some(c) => t.first() == Some(c) && go(&t[1..], &p[1..]),
        }
    }
    go(&t, &p)
}

fn leaf_matches(got: &Value, op: &str, want: &Value) -> bool {
    match op {
        "=" => eq_value(got, want),
        "!=" | "<>" => !eq_value(got, want),
        "in" => want
            .as_array()
            .is_some_and(|a| a.iter().any(|w| eq_value(got, w))),
        "not in" => want
            .as_array()
            .is_none_or(|a| !a.iter().any(|w| eq_value(got, w))),
        "like" => like(got, want.as_str().unwrap_or_default(), false, false),
        "ilike" => like(got, want.as_str().unwrap_or_default(), true, false),
        "not like" => !like(got, want.as_str().unwrap_or_default(), false, false),
        "not ilike" => !like(got, want.as_str().unwrap_or_default(), true, false),
        "=like" => like(got, want.as_str().unwrap_or_default(), false, true),
        "=ilike" => like(got, want.as_str().unwrap_or_default(), true, true),
        _ => {
            // Comparisons: NULL never compares (SQL).
            if got.is_null() || as_null(want).is_null() {
                return false;
            }
            let ord = cmp_stored(got, want);
            match op {
                "<" => ord == Ordering::Less,
                "<=" => ord != Ordering::Greater,
                ">" => ord == Ordering::Greater,
                ">=" => ord != Ordering::Less,
                _ => false,
            }
        }
    }
}

/// A parsed `order` specification: `(field, descending)` pairs.
pub(crate) fn parse_order(
    model: &str,
    spec: &str,
    with_ref: bool,
) -> Result<Vec<(String, bool)>, OdooError> {
    let mut out = Vec::new();
    for part in spec.split(',') {
        let mut words = part.split_whitespace();
        let Some(name) = words.next() else { continue };
        let desc = match words.next().map(str::to_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => {
                return Err(OdooError::value(format!(
                    "Invalid \"order\" specified ({spec})."
                )));
            }
        };
        if field(model, name, with_ref).is_none() {
            return Err(OdooError::value(format!(
                "Invalid \"order\" specified ({spec}). A valid \"order\" specification is a comma-separated list of valid field names (optionally followed by asc/desc for the direction)"
            )));
        }
        out.push((name.to_owned(), desc));
    }
    Ok(out)
}

/// Each model's `_order`.
pub(crate) fn default_order(model: &str) -> Vec<(String, bool)> {
    let spec: &[(&str, bool)] = match model {
        "hr.attendance" => &[("check_in", true), ("id", true)],
        "account.analytic.line" => &[("date", true), ("id", true)],
        "hr.employee" | "res.users" | "res.partner" | "res.company" => {
            &[("name", false), ("id", false)]
        }
        "project.task" => &[("id", true)],
        _ => &[("id", false)],
    };
    spec.iter().map(|(n, d)| ((*n).to_owned(), *d)).collect()
}

/// Sorts records by an order specification (ties by id ascending).
pub(crate) fn sort_records(rows: &mut [(i64, &Map<String, Value>)], order: &[(String, bool)]) {
    rows.sort_by(|(ia, a), (ib, b)| {
        for (name, desc) in order {
            let (va, vb) = if name == "id" {
                (json!(*ia), json!(*ib))
            } else {
                (
                    a.get(name).cloned().unwrap_or(Value::Null),
                    b.get(name).cloned().unwrap_or(Value::Null),
                )
            };
            // PostgreSQL: NULLS LAST ascending, NULLS FIRST descending.
            let ord = match (va.is_null(), vb.is_null()) {
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => cmp_stored(&va, &vb),
            };
            let ord = if *desc { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        ia.cmp(ib)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_are_parsed_like_odoo_does() {
        assert!(parse_datetime_input("2026-11-22").is_ok());
        assert!(parse_datetime_input("2026-11-23 08:00").is_ok());
        assert_eq!(
            parse_datetime_input("2026-11-21T08:00:00")
                .unwrap_err()
                .message,
            "time data '2026-11-21T08:00:00' does not match format '%Y-%m-%d %H:%M:%S'"
        );
        assert_eq!(
            parse_datetime_input("2026-11-21 08:00:00+01:00")
                .unwrap_err()
                .message,
            "unconverted data remains: +01:00"
        );
        assert_eq!(
            parse_datetime_input("2026-11-21 08:00:00.123")
                .unwrap_err()
                .message,
            "unconverted data remains: .123"
        );
    }

    #[test]
    fn a_like_pattern_follows_sql() {
        assert!(sql_like("[tb-zammad-1]", "[tb-%"));
        assert!(!sql_like("x", "y%"));
    }
}
