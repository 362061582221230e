//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`): `.$` fields resolved per state.

use serde_json::{Map, Value};

use crate::intrinsic::{Intrinsic, IntrinsicError, IntrinsicFailure};
use crate::path::{Path, PathError};

/// A template compiled at load time: every `.$` value is already a parsed path or call.
#[derive(Debug, Clone)]
pub enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path(Path),
    Call(Intrinsic),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("field `{field}`: {source}")]
    Path {
        field: String,
        #[source]
        source: PathError,
    },
    #[error("field `{field}`: {source}")]
    Intrinsic {
        field: String,
        #[source]
        source: IntrinsicError,
    },
    #[error("field `{field}` ends in `.$`, so its value must be a path or an intrinsic call, not {value}")]
    NotAString { field: String, value: String },
}

/// Why a template could not be filled: a path selected nothing (Step Functions: `States.Runtime`),
/// or an intrinsic failed (`States.IntrinsicFailure`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FillError {
    #[error("the JSONPath `{path}` specified for the field `{field}` could not be found in the input")]
    Missing { field: String, path: String },
    #[error(transparent)]
    Intrinsic(#[from] IntrinsicFailure),
}

impl Template {
    pub fn compile(value: &Value) -> Result<Template, TemplateError> {
        Ok(match value {
            Value::Object(map) => {
                let mut fields = Vec::with_capacity(map.len());
                for (key, v) in map {
                    match key.strip_suffix(".$") {
                        Some(name) => {
                            let Value::String(text) = v else {
                                return Err(TemplateError::NotAString { field: key.clone(), value: v.to_string() });
                            };
                            let t = if Intrinsic::looks_like(text) {
                                Template::Call(
                                    Intrinsic::parse(text)
                                        .map_err(|source| TemplateError::Intrinsic { field: key.clone(), source })?,
                                )
                            } else {
                                Template::Path(
                                    Path::parse(text)
                                        .map_err(|source| TemplateError::Path { field: key.clone(), source })?,
                                )
                            };
                            fields.push((name.to_string(), t));
                        }
                        None => fields.push((key.clone(), Template::compile(v)?)),
                    }
                }
                Template::Object(fields)
            }
            Value::Array(items) => Template::Array(items.iter().map(Template::compile).collect::<Result<_, _>>()?),
            other => Template::Literal(other.clone()),
        })
    }

    pub fn fill(&self, data: &Value, context: &Value) -> Result<Value, FillError> {
        self.fill_field(data, context, "")
    }

    fn fill_field(&self, data: &Value, context: &Value, field: &str) -> Result<Value, FillError> {
        Ok(match self {
            Template::Literal(v) => v.clone(),
            Template::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (name, t) in fields {
                    out.insert(name.clone(), t.fill_field(data, context, name)?);
                }
                Value::Object(out)
            }
            Template::Array(items) => {
                Value::Array(items.iter().map(|t| t.fill_field(data, context, field)).collect::<Result<_, _>>()?)
            }
            Template::Path(p) => p
                .select(data, context)
                .ok_or_else(|| FillError::Missing { field: format!("{field}.$"), path: p.as_str().to_string() })?,
            Template::Call(c) => c.evaluate(data, context)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dollar_fields_are_resolved_and_the_rest_kept() {
        let t = Template::compile(&json!({
            "flag": "literal $.not.a.path",
            "id.$": "$.order.id",
            "run.$": "$$.Execution.Name",
            "greeting.$": "States.Format('hi {}', $.who)",
            "nested": {"n.$": "$.n", "list": [{"x.$": "$.n"}, 1]}
        }))
        .expect("compiles");
        let data = json!({"order": {"id": "o-1"}, "who": "ada", "n": 2});
        let out = t.fill(&data, &json!({"Execution": {"Name": "e"}})).expect("fills");
        assert_eq!(
            out,
            json!({"flag": "literal $.not.a.path", "id": "o-1", "run": "e", "greeting": "hi ada",
                   "nested": {"n": 2, "list": [{"x": 2}, 1]}})
        );
    }

    #[test]
    fn a_missing_path_is_a_runtime_error_naming_the_field() {
        let t = Template::compile(&json!({"id.$": "$.missing"})).expect("compiles");
        let err = t.fill(&json!({}), &json!({})).expect_err("missing");
        assert_eq!(err, FillError::Missing { field: "id.$".into(), path: "$.missing".into() });
        assert!(Template::compile(&json!({"id.$": 5})).is_err());
        assert!(Template::compile(&json!({"id.$": "States.Nope()"})).is_err());
    }
}
