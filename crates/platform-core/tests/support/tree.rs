//! A copy of the repository's config/ to break one thing at a time, shared by the config tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use platform_core::config::{self, ConfigErrors, repository_config_dir};

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).expect("date")
}

/// A copy of the repository's config/ in a temporary folder, to break one thing at a time.
pub struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    pub fn copy() -> Tree {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(&repository_config_dir(), dir.path());
        Tree { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Replaces `from` (which must occur) with `to` in `file`.
    pub fn edit(&self, file: &str, from: &str, to: &str) -> &Tree {
        let path = self.path().join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{file} has no `{from}`");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
        self
    }

    pub fn load(&self) -> Result<config::ConfigTree, ConfigErrors> {
        config::load_as_of(self.path(), today())
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("readdir") {
        let entry = entry.expect("entry");
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// GIVEN the repository's config WHEN `file` has `from` replaced by `to` THEN loading fails with
/// an issue in that file, at `key`, whose message contains `message`.
pub fn rejects(file: &str, from: &str, to: &str, key: &str, message: &str) {
    let tree = Tree::copy();
    tree.edit(file, from, to);
    let errors = tree.load().expect_err("broken config must not load");
    let hit = errors.issues.iter().find(|i| i.file.ends_with(file) && i.key == key && i.message.contains(message));
    assert!(hit.is_some(), "expected {file}: {key}: …{message}…, got:\n{errors}");
}
