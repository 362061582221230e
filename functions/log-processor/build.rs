//! Converts the config files the log processor compiles in from TOML to JSON, once, at build time.
//!
//! A cold start then reads JSON (serde_json, a fraction of the instructions) and the TOML parser
//! is not linked into the Lambda binary at all. A file that is not valid TOML fails the build.

use std::path::{Path, PathBuf};

const FILES: [&str; 4] = ["log-processing", "log-signatures", "services", "monitoring"];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let config = manifest.join("../../config");
    for name in FILES {
        let source = config.join(format!("{name}.toml"));
        println!("cargo::rerun-if-changed={}", source.display());
        let json = convert(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        std::fs::write(out.join(format!("{name}.json")), json).expect("writing OUT_DIR");
    }
}

fn convert(source: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(source)?;
    let table: toml::Table = toml::from_str(&text)?;
    if table.values().any(has_datetime) {
        return Err("holds a TOML datetime, which JSON has no type for".into());
    }
    Ok(serde_json::to_string(&table)?)
}

fn has_datetime(value: &toml::Value) -> bool {
    match value {
        toml::Value::Datetime(_) => true,
        toml::Value::Array(items) => items.iter().any(has_datetime),
        toml::Value::Table(table) => table.values().any(has_datetime),
        _ => false,
    }
}
