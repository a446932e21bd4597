//! Templates are data: literal text with `{name}` placeholders (`{{` and `}}` for braces), parsed
//! and checked against the known variable names when the channel loads. Nothing is evaluated.
//!
//! A string that is exactly one placeholder with `:number` (`"{amount.minor:number}"`) renders as
//! a JSON number; an exactly-one-placeholder field whose variable is absent (no callback address
//! configured) is left out of the body, and so is an object all of whose fields were left out.

use std::collections::BTreeMap;

use serde_json::Value;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

/// A parsed string template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
    /// `{x:number}`: render as a JSON number.
    number: bool,
}

/// The values templates are rendered with (absent names render as absent).
pub type Vars = BTreeMap<&'static str, String>;

impl Template {
    /// Parses `text`, accepting only names in `known`.
    pub fn parse(text: &str, known: &[&str]) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut number = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(format!("unclosed placeholder in \"{text}\"")),
                        }
                    }
                    let (name, format) = match name.split_once(':') {
                        Some((n, f)) => (n.trim().to_owned(), Some(f.trim().to_owned())),
                        None => (name.trim().to_owned(), None),
                    };
                    if !known.contains(&name.as_str()) {
                        return Err(format!(
                            "unknown placeholder {{{name}}} (known here: {})",
                            known.join(", ")
                        ));
                    }
                    match format.as_deref() {
                        None => {}
                        Some("number") => number = true,
                        Some(f) => return Err(format!("unknown format ':{f}' (known: :number)")),
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Var(name));
                }
                '}' => return Err(format!("unmatched '}}' in \"{text}\"")),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        if number && !matches!(parts.as_slice(), [Part::Var(_)]) {
            return Err(":number is only allowed on a template that is one placeholder".into());
        }
        Ok(Template { parts, number })
    }

    /// Whether the template is exactly one placeholder (so it can be left out when absent).
    fn single_var(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Var(name)] => Some(name),
            _ => None,
        }
    }

    /// The rendered text; `Err(name)` when a variable it needs is absent.
    pub fn render(&self, vars: &Vars) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(name) => {
                    out.push_str(vars.get(name.as_str()).ok_or_else(|| name.clone())?)
                }
            }
        }
        Ok(out)
    }

    /// [`Self::render`] with every placeholder value percent-encoded (path and query templates:
    /// an id must not be able to change the path).
    pub fn render_encoded(&self, vars: &Vars) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(name) => {
                    let value = vars.get(name.as_str()).ok_or_else(|| name.clone())?;
                    encode_into(&mut out, value);
                }
            }
        }
        Ok(out)
    }

    /// The names the template uses.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(n) => Some(n.as_str()),
            Part::Text(_) => None,
        })
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_into(out: &mut String, value: &str) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// A JSON body whose strings are templates.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyTemplate {
    Object(Vec<(String, BodyTemplate)>),
    Array(Vec<BodyTemplate>),
    Text(Template),
    /// Numbers, booleans and null, as written.
    Literal(Value),
}

impl BodyTemplate {
    /// Parses a JSON tree (from the TOML channel file); errors carry the JSON path of the field.
    pub fn parse(value: &Value, known: &[&str]) -> Result<BodyTemplate, (String, String)> {
        Self::parse_at(value, known, "")
    }

    fn parse_at(value: &Value, known: &[&str], at: &str) -> Result<BodyTemplate, (String, String)> {
        Ok(match value {
            Value::Object(map) => BodyTemplate::Object(
                map.iter()
                    .map(|(k, v)| {
                        Ok::<_, (String, String)>((
                            k.clone(),
                            Self::parse_at(v, known, &format!("{at}.{k}"))?,
                        ))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Value::Array(items) => BodyTemplate::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Self::parse_at(v, known, &format!("{at}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Value::String(s) => {
                BodyTemplate::Text(Template::parse(s, known).map_err(|e| (at.to_owned(), e))?)
            }
            other => BodyTemplate::Literal(other.clone()),
        })
    }

    /// Every placeholder name the body uses.
    pub fn names(&self) -> Vec<&str> {
        match self {
            BodyTemplate::Object(fields) => fields.iter().flat_map(|(_, t)| t.names()).collect(),
            BodyTemplate::Array(items) => items.iter().flat_map(BodyTemplate::names).collect(),
            BodyTemplate::Text(t) => t.names().collect(),
            BodyTemplate::Literal(_) => Vec::new(),
        }
    }

    /// Renders the body. `None`: an optional field left out; `Err(name)`: a required value absent.
    pub fn render(&self, vars: &Vars) -> Result<Option<Value>, String> {
        Ok(Some(match self {
            BodyTemplate::Object(fields) => {
                let mut map = serde_json::Map::new();
                for (k, t) in fields {
                    if let Some(v) = t.render(vars)? {
                        map.insert(k.clone(), v);
                    }
                }
                // An object whose every field was left out is left out too (a `webhook` table
                // without a callback address); a literal `{}` stays.
                if map.is_empty() && !fields.is_empty() {
                    return Ok(None);
                }
                Value::Object(map)
            }
            BodyTemplate::Array(items) => Value::Array(
                items
                    .iter()
                    .filter_map(|t| t.render(vars).transpose())
                    .collect::<Result<_, _>>()?,
            ),
            BodyTemplate::Literal(v) => v.clone(),
            BodyTemplate::Text(t) => {
                if let Some(name) = t.single_var() {
                    let Some(value) = vars.get(name) else {
                        return Ok(None);
                    };
                    if t.number {
                        return value
                            .parse::<serde_json::Number>()
                            .map(|n| Some(Value::Number(n)))
                            .map_err(|_| format!("{name} is not a number"));
                    }
                    return Ok(Some(Value::String(value.clone())));
                }
                Value::String(t.render(vars)?)
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KNOWN: &[&str] = &["amount.minor", "phone.digits", "callback.url", "id"];

    fn vars() -> Vars {
        Vars::from([
            ("amount.minor", "250".to_owned()),
            ("phone.digits", "393400000001".to_owned()),
            ("id", "a/b c".to_owned()),
        ])
    }

    #[test]
    fn placeholders_render_and_escape() {
        let t = Template::parse("/charges/{id}?x={{y}}", KNOWN).unwrap();
        assert_eq!(t.render(&vars()).unwrap(), "/charges/a/b c?x={y}");
        assert_eq!(
            t.render_encoded(&vars()).unwrap(),
            "/charges/a%2Fb%20c?x={y}"
        );
        assert_eq!(t.names().collect::<Vec<_>>(), ["id"]);
    }

    #[test]
    fn bad_templates_are_refused_at_parse() {
        assert!(Template::parse("{nope}", KNOWN)
            .unwrap_err()
            .contains("unknown placeholder {nope}"));
        assert!(Template::parse("{id", KNOWN)
            .unwrap_err()
            .contains("unclosed"));
        assert!(Template::parse("a}", KNOWN)
            .unwrap_err()
            .contains("unmatched"));
        assert!(Template::parse("{id:upper}", KNOWN)
            .unwrap_err()
            .contains("unknown format"));
        assert!(Template::parse("x{id:number}", KNOWN)
            .unwrap_err()
            .contains("one placeholder"));
    }

    #[test]
    fn bodies_render_numbers_and_leave_out_absent_optionals() {
        let spec = json!({
            "amount": "{amount.minor:number}", "msisdn": "{phone.digits}", "fixed": 1,
            "notify_url": "{callback.url}", "tags": ["t-{id}"], "meta": {"label": "m {phone.digits}"}
        });
        let body = BodyTemplate::parse(&spec, KNOWN).unwrap();
        assert_eq!(
            body.render(&vars()).unwrap().unwrap(),
            json!({"amount": 250, "msisdn": "393400000001", "fixed": 1, "tags": ["t-a/b c"],
                   "meta": {"label": "m 393400000001"}})
        );
        let bad = BodyTemplate::parse(&json!({"a": {"b": "{zip}"}}), KNOWN).unwrap_err();
        assert_eq!(bad.0, ".a.b");
        let webhook = json!({"n": 1, "webhook": {"url": "{callback.url}"}, "empty": {}});
        let body = BodyTemplate::parse(&webhook, KNOWN).unwrap();
        assert_eq!(
            body.render(&vars()).unwrap().unwrap(),
            json!({"n": 1, "empty": {}}),
            "an object whose fields are all absent is left out; a literal {{}} stays"
        );
        let mixed = BodyTemplate::parse(&json!({"u": "x {callback.url}"}), KNOWN).unwrap();
        assert_eq!(mixed.render(&vars()), Err("callback.url".into()));
    }
}
