//! Reads a definition's JSON objects field by field and refuses what is left unread.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{LoadError, Nullable};
use crate::path::{Path, PathError, ReferencePath};
use crate::template::{Template, TemplateError};

/// Fields no state may carry here, with the reason given to the author.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("Credentials", "cross-account task credentials are not supported by the local engine"),
    ("QueryLanguage", "JSONata is not supported: use JSONPath"),
    ("Arguments", "JSONata `Arguments` is not supported: use `Parameters`"),
    ("Output", "JSONata `Output` is not supported: use `OutputPath`/`ResultSelector`"),
    ("Assign", "variables (`Assign`) are not supported"),
    ("ItemReader", "distributed Map (`ItemReader`) is not supported"),
    ("ItemBatcher", "distributed Map (`ItemBatcher`) is not supported"),
    ("ResultWriter", "distributed Map (`ResultWriter`) is not supported"),
    ("Label", "distributed Map (`Label`) is not supported"),
];

/// Reads one JSON object field by field, remembering which were read so the rest can be refused.
pub(super) struct Obj<'a> {
    map: &'a Map<String, Value>,
    at: String,
    read: BTreeSet<&'a str>,
}

impl<'a> Obj<'a> {
    pub(super) fn new(value: &'a Value, at: &str) -> Result<Obj<'a>, LoadError> {
        let map = value.as_object().ok_or_else(|| fail(at, format!("expected an object, found {value}")))?;
        Ok(Obj { map, at: at.to_string(), read: BTreeSet::new() })
    }

    pub(super) fn here(&self, key: &str) -> String {
        format!("{}/{key}", self.at)
    }

    pub(super) fn get(&mut self, key: &'a str) -> Option<&'a Value> {
        self.read.insert(key);
        self.map.get(key)
    }

    pub(super) fn string(&mut self, key: &'a str) -> Result<Option<String>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(fail(&self.here(key), format!("expected a string, found {v}"))),
        }
    }

    pub(super) fn required(&mut self, key: &'a str) -> Result<String, LoadError> {
        self.string(key)?.ok_or_else(|| fail(&self.at, format!("`{key}` is required")))
    }

    pub(super) fn uint(&mut self, key: &'a str) -> Result<Option<u64>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => {
                v.as_u64().map(Some).ok_or_else(|| fail(&self.here(key), format!("expected a whole number, found {v}")))
            }
        }
    }

    pub(super) fn number(&mut self, key: &'a str) -> Result<Option<f64>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .filter(|f| *f >= 0.0)
                .map(Some)
                .ok_or_else(|| fail(&self.here(key), format!("expected a non-negative number, found {v}"))),
        }
    }

    pub(super) fn path(&mut self, key: &'a str) -> Result<Nullable<Path>, LoadError> {
        match self.get(key) {
            None => Ok(Nullable::Default),
            Some(Value::Null) => Ok(Nullable::Null),
            Some(Value::String(s)) => Path::parse(s).map(Nullable::Set).map_err(|e| path_fail(&self.here(key), e)),
            Some(v) => Err(fail(&self.here(key), format!("expected a path string or null, found {v}"))),
        }
    }

    pub(super) fn reference(&mut self, key: &'a str) -> Result<Nullable<ReferencePath>, LoadError> {
        match self.get(key) {
            None => Ok(Nullable::Default),
            Some(Value::Null) => Ok(Nullable::Null),
            Some(Value::String(s)) => {
                ReferencePath::parse(s).map(Nullable::Set).map_err(|e| path_fail(&self.here(key), e))
            }
            Some(v) => Err(fail(&self.here(key), format!("expected a reference path or null, found {v}"))),
        }
    }

    pub(super) fn template(&mut self, key: &'a str) -> Result<Option<Template>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => Template::compile(v).map(Some).map_err(|e: TemplateError| fail(&self.here(key), e.to_string())),
        }
    }

    /// Refuses every field not read: unsupported ones with their reason, others as unknown.
    pub(super) fn finish(self, type_name: &str) -> Result<(), LoadError> {
        for key in self.map.keys() {
            if self.read.contains(key.as_str()) {
                continue;
            }
            let at = format!("{}/{key}", self.at);
            if let Some((_, why)) = UNSUPPORTED.iter().find(|(k, _)| k == key) {
                return Err(fail(&at, (*why).to_string()));
            }
            return Err(fail(&at, format!("field `{key}` is not valid in a {type_name} state")));
        }
        Ok(())
    }
}

pub(super) fn fail(at: &str, message: impl Into<String>) -> LoadError {
    LoadError { at: if at.is_empty() { "/".into() } else { at.to_string() }, message: message.into() }
}

pub(super) fn path_fail(at: &str, e: PathError) -> LoadError {
    fail(at, e.to_string())
}
