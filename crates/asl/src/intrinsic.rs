//! Intrinsic functions (`States.Format(...)` and the rest): parsed at load time, evaluated per state.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::path::{Path, PathError};

/// The functions Step Functions offers; anything else is refused when the definition loads.
const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("States.Format", 1, usize::MAX),
    ("States.StringToJson", 1, 1),
    ("States.JsonToString", 1, 1),
    ("States.Array", 0, usize::MAX),
    ("States.ArrayPartition", 2, 2),
    ("States.ArrayContains", 2, 2),
    ("States.ArrayRange", 3, 3),
    ("States.ArrayGetItem", 2, 2),
    ("States.ArrayLength", 1, 1),
    ("States.ArrayUnique", 1, 1),
    ("States.Base64Encode", 1, 1),
    ("States.Base64Decode", 1, 1),
    ("States.Hash", 2, 2),
    ("States.JsonMerge", 3, 3),
    ("States.MathRandom", 2, 3),
    ("States.MathAdd", 2, 2),
    ("States.StringSplit", 2, 2),
    ("States.UUID", 0, 0),
];

/// Step Functions refuses ranges and partitions beyond this many elements.
const MAX_ARRAY: usize = 1000;

#[derive(Debug, Clone)]
pub enum Arg {
    Literal(Value),
    Path(Path),
    Call(Box<Intrinsic>),
}

#[derive(Debug, Clone)]
pub struct Intrinsic {
    pub name: String,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntrinsicError {
    #[error("invalid intrinsic function `{text}`: {message}")]
    Syntax { text: String, message: String },
    #[error(transparent)]
    Path(#[from] PathError),
}

/// An evaluation failure: Step Functions names it `States.IntrinsicFailure`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{function}: {message}")]
pub struct IntrinsicFailure {
    pub function: String,
    pub message: String,
}

struct Parser<'a> {
    text: &'a str,
    rest: &'a str,
}

impl Intrinsic {
    pub fn parse(text: &str) -> Result<Intrinsic, IntrinsicError> {
        let mut p = Parser { text, rest: text.trim() };
        let call = p.call()?;
        if !p.rest.trim().is_empty() {
            return Err(p.fail(format!("unexpected `{}` after the call", p.rest.trim())));
        }
        Ok(call)
    }

    /// Whether a `.$` value is an intrinsic call rather than a path.
    pub fn looks_like(text: &str) -> bool {
        text.trim_start().starts_with("States.")
    }

    pub fn evaluate(&self, data: &Value, context: &Value) -> Result<Value, IntrinsicFailure> {
        let fail = |message: String| IntrinsicFailure { function: self.name.clone(), message };
        let mut args = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            args.push(match arg {
                Arg::Literal(v) => v.clone(),
                Arg::Path(p) => {
                    p.select(data, context).ok_or_else(|| fail(format!("path `{}` selects nothing", p.as_str())))?
                }
                Arg::Call(c) => c.evaluate(data, context)?,
            });
        }
        call(&self.name, args).map_err(fail)
    }
}

impl Parser<'_> {
    fn fail(&self, message: impl Into<String>) -> IntrinsicError {
        IntrinsicError::Syntax { text: self.text.to_string(), message: message.into() }
    }

    fn skip_ws(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn call(&mut self) -> Result<Intrinsic, IntrinsicError> {
        self.skip_ws();
        let open = self.rest.find('(').ok_or_else(|| self.fail("missing `(`"))?;
        let name = self.rest[..open].trim().to_string();
        let Some(&(_, min, max)) = FUNCTIONS.iter().find(|(n, _, _)| *n == name) else {
            return Err(self.fail(format!("unknown function `{name}`")));
        };
        self.rest = &self.rest[open + 1..];
        let mut args = Vec::new();
        self.skip_ws();
        if let Some(r) = self.rest.strip_prefix(')') {
            self.rest = r;
        } else {
            loop {
                args.push(self.arg()?);
                self.skip_ws();
                if let Some(r) = self.rest.strip_prefix(',') {
                    self.rest = r;
                } else if let Some(r) = self.rest.strip_prefix(')') {
                    self.rest = r;
                    break;
                } else {
                    return Err(self.fail("expected `,` or `)` between arguments"));
                }
            }
        }
        if args.len() < min || args.len() > max {
            return Err(self.fail(format!("`{name}` takes {} arguments, not {}", arity(min, max), args.len())));
        }
        Ok(Intrinsic { name, args })
    }

    fn arg(&mut self) -> Result<Arg, IntrinsicError> {
        self.skip_ws();
        if let Some(r) = self.rest.strip_prefix('\'') {
            let mut out = String::new();
            let mut chars = r.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, e)) => {
                            // `\{` and `\}` stay escaped: States.Format reads them as literal braces.
                            if matches!(e, '{' | '}') {
                                out.push('\\');
                            }
                            out.push(e);
                        }
                        None => return Err(self.fail("string ends in `\\`")),
                    },
                    '\'' => {
                        self.rest = &r[i + 1..];
                        return Ok(Arg::Literal(Value::String(out)));
                    }
                    c => out.push(c),
                }
            }
            return Err(self.fail("unclosed string"));
        }
        if self.rest.starts_with('$') {
            let end = self.rest.find([',', ')']).unwrap_or(self.rest.len());
            // A filter's own parentheses and commas belong to the path: take balanced brackets.
            let end = balanced_end(self.rest).unwrap_or(end);
            let path = Path::parse(self.rest[..end].trim())?;
            self.rest = &self.rest[end..];
            return Ok(Arg::Path(path));
        }
        if self.rest.starts_with("States.") {
            return Ok(Arg::Call(Box::new(self.call()?)));
        }
        let end = self.rest.find([',', ')']).unwrap_or(self.rest.len());
        let token = self.rest[..end].trim();
        let value = match token {
            "null" => Value::Null,
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            t => serde_json::from_str::<serde_json::Number>(t)
                .map(Value::Number)
                .map_err(|_| self.fail(format!("`{t}` is not a string, number, boolean, null, path or call")))?,
        };
        self.rest = &self.rest[end..];
        Ok(Arg::Literal(value))
    }
}

/// End of a path argument: the first `,` or `)` outside brackets and quotes.
fn balanced_end(text: &str) -> Option<usize> {
    let (mut depth, mut quote) = (0i32, None);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ']') => depth -= 1,
            (None, ')') if depth == 0 => return Some(i),
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

fn arity(min: usize, max: usize) -> String {
    match (min, max) {
        (a, b) if a == b => a.to_string(),
        (a, usize::MAX) => format!("at least {a}"),
        (a, b) => format!("{a} to {b}"),
    }
}

fn int(v: &Value, what: &str) -> Result<i64, String> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        .ok_or_else(|| format!("{what} must be an integer, not {v}"))
}

fn string<'v>(v: &'v Value, what: &str) -> Result<&'v str, String> {
    v.as_str().ok_or_else(|| format!("{what} must be a string, not {v}"))
}

fn array<'v>(v: &'v Value, what: &str) -> Result<&'v Vec<Value>, String> {
    v.as_array().ok_or_else(|| format!("{what} must be an array, not {v}"))
}

fn call(name: &str, args: Vec<Value>) -> Result<Value, String> {
    let arg = |i: usize| args.get(i).unwrap_or(&Value::Null);
    Ok(match name {
        "States.Format" => Value::String(format(string(arg(0), "the template")?, &args[1..])?),
        "States.StringToJson" => {
            serde_json::from_str(string(arg(0), "the argument")?).map_err(|e| format!("not JSON: {e}"))?
        }
        "States.JsonToString" => Value::String(arg(0).to_string()),
        "States.Array" => Value::Array(args),
        "States.ArrayPartition" => {
            let items = array(arg(0), "the first argument")?;
            let size = int(arg(1), "the chunk size")?;
            if size <= 0 {
                return Err(format!("the chunk size must be positive, not {size}"));
            }
            Value::Array(items.chunks(size as usize).map(|c| Value::Array(c.to_vec())).collect())
        }
        "States.ArrayContains" => Value::Bool(array(arg(0), "the first argument")?.contains(arg(1))),
        "States.ArrayRange" => {
            let (start, end, step) = (int(arg(0), "start")?, int(arg(1), "end")?, int(arg(2), "step")?);
            if step == 0 {
                return Err("the step cannot be 0".into());
            }
            let mut out = Vec::new();
            let mut n = start;
            while (step > 0 && n <= end) || (step < 0 && n >= end) {
                if out.len() == MAX_ARRAY {
                    return Err(format!("the range has more than {MAX_ARRAY} elements"));
                }
                out.push(Value::from(n));
                n += step;
            }
            Value::Array(out)
        }
        "States.ArrayGetItem" => {
            let items = array(arg(0), "the first argument")?;
            let index = int(arg(1), "the index")?;
            usize::try_from(index)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .ok_or_else(|| format!("index {index} is out of bounds for {} items", items.len()))?
        }
        "States.ArrayLength" => Value::from(array(arg(0), "the argument")?.len()),
        "States.ArrayUnique" => {
            let mut out: Vec<Value> = Vec::new();
            for v in array(arg(0), "the argument")? {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Value::Array(out)
        }
        "States.Base64Encode" => Value::String(base64_simd::STANDARD.encode_to_string(string(arg(0), "the argument")?)),
        "States.Base64Decode" => {
            let bytes = base64_simd::STANDARD
                .decode_to_vec(string(arg(0), "the argument")?)
                .map_err(|e| format!("not base64: {e}"))?;
            Value::String(String::from_utf8(bytes).map_err(|_| "the decoded bytes are not UTF-8".to_string())?)
        }
        "States.Hash" => Value::String(hash(&value_text(arg(0)), string(arg(1), "the algorithm")?)?),
        "States.JsonMerge" => {
            if arg(2) != &Value::Bool(false) {
                return Err("only a shallow merge (third argument false) is supported, as in Step Functions".into());
            }
            let (Value::Object(a), Value::Object(b)) = (arg(0), arg(1)) else {
                return Err("both arguments must be objects".into());
            };
            let mut merged: Map<String, Value> = a.clone();
            merged.extend(b.clone());
            Value::Object(merged)
        }
        "States.MathRandom" => {
            let (start, end) = (int(arg(0), "start")?, int(arg(1), "end")?);
            if end <= start {
                return Err(format!("end {end} must be greater than start {start}"));
            }
            let mut rng = match args.get(2) {
                Some(seed) => fastrand::Rng::with_seed(int(seed, "the seed")? as u64),
                None => fastrand::Rng::new(),
            };
            Value::from(rng.i64(start..end))
        }
        "States.MathAdd" => {
            let (a, b) = (int(arg(0), "the first argument")?, int(arg(1), "the second argument")?);
            Value::from(a.checked_add(b).ok_or_else(|| format!("{a} + {b} overflows"))?)
        }
        "States.StringSplit" => {
            let text = string(arg(0), "the first argument")?;
            let delimiters: Vec<char> = string(arg(1), "the delimiters")?.chars().collect();
            Value::Array(text.split(&delimiters[..]).filter(|s| !s.is_empty()).map(Value::from).collect())
        }
        "States.UUID" => Value::String(uuid::Uuid::new_v4().to_string()),
        other => return Err(format!("unknown function `{other}`")),
    })
}

/// A value as `States.Format` and `States.Hash` print it: strings bare, everything else as JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn format(template: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut used = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('{' | '}' | '\\' | '\'')) => {
                out.extend(chars.next());
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let v = args
                    .get(used)
                    .ok_or_else(|| format!("the template has more {{}} than the {} arguments", args.len()))?;
                if v.is_object() || v.is_array() {
                    return Err("arguments must be strings, numbers, booleans or null".into());
                }
                out.push_str(&value_text(v));
                used += 1;
            }
            c => out.push(c),
        }
    }
    if used != args.len() {
        return Err(format!("the template has {used} {{}} but {} arguments were given", args.len()));
    }
    Ok(out)
}

fn hash(data: &str, algorithm: &str) -> Result<String, String> {
    use sha2::Digest;
    let digest: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(data.as_bytes()).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data.as_bytes()).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data.as_bytes()).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data.as_bytes()).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data.as_bytes()).to_vec(),
        other => return Err(format!("unknown algorithm `{other}` (MD5, SHA-1, SHA-256, SHA-384, SHA-512)")),
    };
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        let _ = write!(hex, "{b:02x}");
    }
    Ok(hex)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval(text: &str, data: Value) -> Result<Value, IntrinsicFailure> {
        Intrinsic::parse(text).expect("parses").evaluate(&data, &json!({"Execution": {"Name": "run-1"}}))
    }

    #[test]
    fn the_documented_examples() {
        let data = json!({"name": "Ada", "n": 3, "list": [1, 2, 2, 3], "json": "{\"a\":1}"});
        assert_eq!(
            eval("States.Format('Hello, {}! You are {}.', $.name, $.n)", data.clone()).expect("ok"),
            json!("Hello, Ada! You are 3.")
        );
        assert_eq!(
            eval("States.Format('literal \\{\\} and {}', $$.Execution.Name)", data.clone()).expect("ok"),
            json!("literal {} and run-1")
        );
        assert_eq!(eval("States.StringToJson($.json)", data.clone()).expect("ok"), json!({"a": 1}));
        assert_eq!(eval("States.JsonToString($.list)", data.clone()).expect("ok"), json!("[1,2,2,3]"));
        assert_eq!(eval("States.Array('a', 1, true, null)", data.clone()).expect("ok"), json!(["a", 1, true, null]));
        assert_eq!(eval("States.ArrayPartition($.list, 3)", data.clone()).expect("ok"), json!([[1, 2, 2], [3]]));
        assert_eq!(eval("States.ArrayContains($.list, 3)", data.clone()).expect("ok"), json!(true));
        assert_eq!(eval("States.ArrayRange(1, 9, 2)", data.clone()).expect("ok"), json!([1, 3, 5, 7, 9]));
        assert_eq!(eval("States.ArrayGetItem($.list, 3)", data.clone()).expect("ok"), json!(3));
        assert_eq!(eval("States.ArrayLength($.list)", data.clone()).expect("ok"), json!(4));
        assert_eq!(eval("States.ArrayUnique($.list)", data.clone()).expect("ok"), json!([1, 2, 3]));
        assert_eq!(
            eval("States.Base64Encode('Data to encode')", data.clone()).expect("ok"),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            eval("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", data.clone()).expect("ok"),
            json!("Data to encode")
        );
        assert_eq!(
            eval("States.Hash('input data', 'SHA-1')", data.clone()).expect("ok"),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
        assert_eq!(
            eval(
                "States.JsonMerge(States.StringToJson($.json), States.StringToJson('{\"b\":2}'), false)",
                data.clone()
            )
            .expect("ok"),
            json!({"a": 1, "b": 2})
        );
        assert_eq!(eval("States.MathAdd($.n, -1)", data.clone()).expect("ok"), json!(2));
        let r = eval("States.MathRandom(1, 10)", data.clone()).expect("ok").as_i64().expect("int");
        assert!((1..10).contains(&r));
        assert_eq!(
            eval("States.MathRandom(1, 1000, 7)", data.clone()),
            eval("States.MathRandom(1, 1000, 7)", data.clone())
        );
        assert_eq!(eval("States.StringSplit('a,b+c', ',+')", data.clone()).expect("ok"), json!(["a", "b", "c"]));
        assert_eq!(eval("States.UUID()", data).expect("ok").as_str().map(str::len), Some(36));
    }

    #[test]
    fn bad_calls_fail_at_load_or_run() {
        for bad in
            ["States.Nope(1)", "States.UUID(1)", "States.Format('x'", "States.Array('a' 'b')", "States.Array(bare)"]
        {
            assert!(Intrinsic::parse(bad).is_err(), "{bad}");
        }
        assert!(eval("States.Format('{} {}', 1)", json!({})).is_err());
        assert!(eval("States.ArrayGetItem(States.Array(1), 5)", json!({})).is_err());
        assert!(eval("States.ArrayRange(1, 5000, 1)", json!({})).is_err());
        assert!(eval("States.StringToJson($.missing)", json!({})).is_err());
    }
}
