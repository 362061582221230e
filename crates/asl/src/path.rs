//! ASL paths: reference paths (one node, readable and writable) and JSONPath queries.

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

/// Where a path reads from: the state's data (`$`) or the context object (`$$`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Data,
    Context,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Field(String),
    Index(usize),
}

/// A path naming at most one node: `$`, `$.a.b`, `$['a b'][0]`, `$$.Execution.Id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferencePath {
    pub root: Root,
    pub steps: Vec<Step>,
    text: String,
}

/// A path as `InputPath`, `OutputPath`, `ItemsPath` and `.$` fields use it: a reference path
/// selects one node; anything else (wildcards, filters, slices) is a JSONPath query whose
/// matches come back as an array.
#[derive(Debug, Clone)]
pub enum Path {
    Reference(ReferencePath),
    Query { root: Root, query: JsonPath, text: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path `{path}`: {message}")]
pub struct PathError {
    pub path: String,
    pub message: String,
}

fn error(path: &str, message: impl Into<String>) -> PathError {
    PathError { path: path.to_string(), message: message.into() }
}

impl ReferencePath {
    pub fn parse(text: &str) -> Result<ReferencePath, PathError> {
        let (root, mut rest) = if let Some(r) = text.strip_prefix("$$") {
            (Root::Context, r)
        } else if let Some(r) = text.strip_prefix('$') {
            (Root::Data, r)
        } else {
            return Err(error(text, "a path starts with `$` or `$$`"));
        };
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('.') {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                let name = &r[..end];
                if name.is_empty() || name.contains(['*', '@', '?', ' ', '(', ')', ':', ',', '\'', '"']) {
                    return Err(error(text, format!("`{name}` is not a plain field name")));
                }
                steps.push(Step::Field(name.to_string()));
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let end = r.find(']').ok_or_else(|| error(text, "unclosed `[`"))?;
                let inner = r[..end].trim();
                if let Some(quoted) = inner
                    .strip_prefix('\'')
                    .and_then(|q| q.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|q| q.strip_suffix('"')))
                {
                    steps.push(Step::Field(quoted.to_string()));
                } else if let Ok(i) = inner.parse::<usize>() {
                    steps.push(Step::Index(i));
                } else {
                    return Err(error(text, format!("`[{inner}]` does not name one field or index")));
                }
                rest = &r[end + 1..];
            } else {
                return Err(error(text, format!("unexpected `{rest}`")));
            }
        }
        Ok(ReferencePath { root, steps, text: text.to_string() })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.steps.iter().try_fold(value, |v, step| match step {
            Step::Field(f) => v.as_object()?.get(f),
            Step::Index(i) => v.as_array()?.get(*i),
        })
    }

    /// `value` with `node` placed at this path, creating objects on the way as `ResultPath` does.
    /// Fails where the path crosses a non-object or an array index that does not exist.
    pub fn set(&self, value: Value, node: Value) -> Result<Value, PathError> {
        if self.root == Root::Context {
            return Err(error(&self.text, "the context object cannot be written"));
        }
        fn place(target: &mut Value, steps: &[Step], node: Value, text: &str) -> Result<(), PathError> {
            let Some((first, rest)) = steps.split_first() else {
                *target = node;
                return Ok(());
            };
            match first {
                Step::Field(f) => {
                    if !target.is_object() {
                        // Step Functions replaces a scalar on the way with an object.
                        *target = Value::Object(Map::new());
                    }
                    let Value::Object(map) = target else { unreachable!("made an object above") };
                    let slot = map.entry(f.clone()).or_insert(Value::Object(Map::new()));
                    place(slot, rest, node, text)
                }
                Step::Index(i) => {
                    let slot = target
                        .as_array_mut()
                        .and_then(|a| a.get_mut(*i))
                        .ok_or_else(|| error(text, format!("index {i} does not exist in the input")))?;
                    place(slot, rest, node, text)
                }
            }
        }
        let mut value = value;
        place(&mut value, &self.steps, node, &self.text)?;
        Ok(value)
    }
}

impl Path {
    pub fn parse(text: &str) -> Result<Path, PathError> {
        if let Ok(reference) = ReferencePath::parse(text) {
            return Ok(Path::Reference(reference));
        }
        let (root, query) = match text.strip_prefix("$$") {
            Some(rest) => (Root::Context, format!("${rest}")),
            None => (Root::Data, text.to_string()),
        };
        let query = JsonPath::parse(&query).map_err(|e| error(text, e.to_string()))?;
        Ok(Path::Query { root, query, text: text.to_string() })
    }

    pub fn root(&self) -> Root {
        match self {
            Path::Reference(r) => r.root,
            Path::Query { root, .. } => *root,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Path::Reference(r) => r.as_str(),
            Path::Query { text, .. } => text,
        }
    }

    /// The node selected in `data` (or `context` for `$$` paths); `None` when a reference path
    /// names nothing there.
    pub fn select(&self, data: &Value, context: &Value) -> Option<Value> {
        let source = if self.root() == Root::Context { context } else { data };
        match self {
            Path::Reference(r) => r.get(source).cloned(),
            Path::Query { query, .. } => Some(Value::Array(query.query(source).all().into_iter().cloned().collect())),
        }
    }
}

/// A JSON value's type, as error messages name it.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reference_paths_read_and_write() {
        let p = ReferencePath::parse("$.a['b c'][1].d").expect("parses");
        assert_eq!(p.steps.len(), 4);
        let v = json!({"a": {"b c": [0, {"d": 7}]}});
        assert_eq!(p.get(&v), Some(&json!(7)));
        let set = ReferencePath::parse("$.x.y").expect("parses").set(json!({"k": 1}), json!(2)).expect("sets");
        assert_eq!(set, json!({"k": 1, "x": {"y": 2}}));
        assert_eq!(ReferencePath::parse("$").expect("root").set(json!(1), json!(2)).expect("replaces"), json!(2));
        assert!(ReferencePath::parse("$.a[3]").expect("parses").set(json!({"a": []}), json!(1)).is_err());
        assert!(ReferencePath::parse("$$.Execution.Id").expect("context").set(json!({}), json!(1)).is_err());
    }

    #[test]
    fn queries_return_every_match_as_an_array() {
        let p = Path::parse("$.items[*].id").expect("parses");
        assert!(matches!(p, Path::Query { .. }));
        let v = json!({"items": [{"id": 1}, {"id": 2}]});
        assert_eq!(p.select(&v, &Value::Null), Some(json!([1, 2])));
        let filter = Path::parse("$.items[?(@.id > 1)]").expect("filter");
        assert_eq!(filter.select(&v, &Value::Null), Some(json!([{"id": 2}])));
        let context = Path::parse("$$.Execution.Input").expect("context");
        assert_eq!(context.select(&Value::Null, &json!({"Execution": {"Input": 5}})), Some(json!(5)));
    }

    #[test]
    fn bad_paths_are_named() {
        for bad in ["a.b", "$.", "$[", "$.a[?(", "$..["] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }
}
