//! Where configuration text comes from. The parser never touches the file system
//! itself: it asks a [`Source`], so tests (and the realtime layer later) can hand it
//! text from memory, and the file-system rules (relative paths, globs) live in one place.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// A provider of configuration files.
pub trait Source {
    /// The text of the file at `path` (as returned by [`Source::resolve`]).
    fn read(&self, path: &str) -> io::Result<String>;

    /// The files an `#include` argument names, in a stable order: the argument as a
    /// path relative to the configuration directory (or absolute), glob patterns
    /// expanded. An empty list means nothing matched.
    fn resolve(&self, pattern: &str) -> io::Result<Vec<String>>;

    /// The standard output of `#exec` command, run only when the loader was told to
    /// allow it.
    fn exec(&self, command: &str) -> io::Result<String> {
        let _ = command;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this source cannot run commands",
        ))
    }
}

/// Files under a configuration directory.
#[derive(Debug, Clone)]
pub struct FsSource {
    dir: PathBuf,
}

impl FsSource {
    /// Files relative to `dir` (the `--config-dir`).
    pub fn new(dir: impl Into<PathBuf>) -> FsSource {
        FsSource { dir: dir.into() }
    }

    fn full(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }
}

impl Source for FsSource {
    fn read(&self, path: &str) -> io::Result<String> {
        let bytes = std::fs::read(self.full(path))?;
        String::from_utf8(bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()),
            )
        })
    }

    fn resolve(&self, pattern: &str) -> io::Result<Vec<String>> {
        let full = self.full(pattern);
        let text = full.to_string_lossy().into_owned();
        if !text.contains(['*', '?', '[']) {
            return Ok(if full.exists() {
                vec![text]
            } else {
                Vec::new()
            });
        }
        let paths = glob::glob(&text)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let mut out: Vec<String> = paths
            .filter_map(Result::ok)
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        out.sort();
        Ok(out)
    }

    fn exec(&self, command: &str) -> io::Result<String> {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(command)
            .current_dir(&self.dir)
            .output()?;
        String::from_utf8(out.stdout)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "command output is not UTF-8"))
    }
}

/// Files held in memory, by name: for tests and for text that did not come from disk.
#[derive(Debug, Clone, Default)]
pub struct MemSource {
    files: BTreeMap<String, String>,
}

impl MemSource {
    /// An empty set of files.
    pub fn new() -> MemSource {
        MemSource::default()
    }

    /// Adds (or replaces) a file.
    pub fn with(mut self, name: &str, text: &str) -> MemSource {
        self.files.insert(name.to_owned(), text.to_owned());
        self
    }
}

impl Source for MemSource {
    fn read(&self, path: &str) -> io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }

    fn resolve(&self, pattern: &str) -> io::Result<Vec<String>> {
        let pat = glob::Pattern::new(pattern)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        Ok(self
            .files
            .keys()
            .filter(|k| pat.matches(k))
            .cloned()
            .collect())
    }
}
