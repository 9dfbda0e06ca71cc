//! The Asterisk `.conf` format, as `pjsip.conf`, `pjsip_wizard.conf`, `sorcery.conf`,
//! `extconfig.conf` and `extensions.conf` use it.
//!
//! The parser turns text into sections of variables, each variable remembering the file
//! and line it came from, and applies the format's own rules: comments (`;`, nested
//! `;-- --;`, `\;`), `[name]` headers with templates `(!)`, inheritance `(a,b)` copied at
//! parse time and additions `(+)`, `=` / `=>` / `+=`, and the `#include`,
//! `#tryinclude` and `#exec` directives. What the variables mean is for the layers
//! above (the object store).
//!
//! A fatal error (a variable before any header, a missing parent or included file, ...)
//! makes [`load`] fail with the file and line, so that the caller keeps the objects it
//! had; lines that are merely wrong (no `=`, an unknown directive) are skipped with a
//! warning in [`Config::warnings`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod parse;
mod source;

use std::fmt;
use std::sync::Arc;

pub use parse::{load, LoadOptions};
pub use source::{FsSource, MemSource, Source};

/// Where a line came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file, as named in the load or the `#include`.
    pub file: Arc<str>,
    /// The line number, from 1.
    pub line: u32,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One `name = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    /// The name, trimmed.
    pub name: String,
    /// The value, trimmed, comments removed, `\;` turned into `;`.
    pub value: String,
    /// Where the line (or, after `+=`, the first line) was written. Inherited
    /// variables keep the origin of the template line.
    pub origin: Origin,
}

/// One `[name]` section with its variables in order (inherited ones first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The name between the brackets.
    pub name: String,
    /// Declared with `(!)`: only for inheriting, never an object itself.
    pub template: bool,
    /// The names of the sections it inherits from, in order.
    pub parents: Vec<String>,
    /// Where the header line is.
    pub origin: Origin,
    /// The variables, in order.
    pub vars: Vec<Var>,
}

impl Section {
    /// Every variable of this name, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Var> + 'a {
        self.vars.iter().filter(move |v| v.name == name)
    }

    /// The first variable of this name (how res_pjsip reads `type`).
    pub fn first(&self, name: &str) -> Option<&Var> {
        self.vars.iter().find(|v| v.name == name)
    }

    /// The last variable of this name (how a scalar option ends up set).
    pub fn last(&self, name: &str) -> Option<&Var> {
        self.vars.iter().rev().find(|v| v.name == name)
    }
}

/// A problem that does not stop the load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where.
    pub origin: Origin,
    /// What, in words.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

/// Why a file could not be loaded at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfError {
    /// Where the fatal line is (line 0 when the file itself could not be read).
    pub origin: Origin,
    /// What, in words.
    pub message: String,
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

impl std::error::Error for ConfError {}

/// A loaded file with everything it included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Every section, templates included, in file order.
    pub sections: Vec<Section>,
    /// Lines that were skipped, and why.
    pub warnings: Vec<Warning>,
}

impl Config {
    /// Sections that are objects (not templates), in order.
    pub fn objects(&self) -> impl Iterator<Item = &Section> {
        self.sections.iter().filter(|s| !s.template)
    }

    /// Every section of this name (several objects of different types often share a
    /// name in pjsip.conf).
    pub fn sections_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections.iter().filter(move |s| s.name == name)
    }
}
