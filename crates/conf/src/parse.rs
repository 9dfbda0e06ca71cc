//! The line-by-line reader (the rules are those of Asterisk's `config.c`, restated in
//! `shared/spec/pjsip-behaviour.md` §1).

use std::sync::Arc;

use crate::{ConfError, Config, Origin, Section, Source, Var, Warning};

/// How deep `;-- --;` block comments may nest.
const MAX_COMMENT_DEPTH: usize = 128;

/// Choices a caller makes about a load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Deepest chain of `#include`s (Asterisk: 10).
    pub max_include_depth: usize,
    /// Whether `#exec` may run commands (Asterisk's `execincludes`). Off by default:
    /// a configuration file that runs programs is a decision an operator makes.
    pub allow_exec: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_include_depth: 10,
            allow_exec: false,
        }
    }
}

/// Loads `path` from `source` with everything it includes.
pub fn load(source: &dyn Source, path: &str, opts: &LoadOptions) -> Result<Config, ConfError> {
    let text = source.read(path).map_err(|e| ConfError {
        origin: Origin {
            file: path.into(),
            line: 0,
        },
        message: format!("cannot read {path}: {e}"),
    })?;
    let mut st = Loader {
        cfg: Config::default(),
        current: None,
        opts,
        source,
    };
    st.parse_text(path.into(), &text, 0)?;
    Ok(st.cfg)
}

struct Loader<'a> {
    cfg: Config,
    /// Index of the section that variables go to.
    current: Option<usize>,
    opts: &'a LoadOptions,
    source: &'a dyn Source,
}

fn fatal<T>(origin: &Origin, message: impl Into<String>) -> Result<T, ConfError> {
    Err(ConfError {
        origin: origin.clone(),
        message: message.into(),
    })
}

impl Loader<'_> {
    fn warn(&mut self, origin: &Origin, message: impl Into<String>) {
        self.cfg.warnings.push(Warning {
            origin: origin.clone(),
            message: message.into(),
        });
    }

    fn parse_text(&mut self, file: Arc<str>, text: &str, depth: usize) -> Result<(), ConfError> {
        let mut comment_depth = 0usize;
        let mut last_line = 0u32;
        for (i, raw) in text.split('\n').enumerate() {
            let origin = Origin {
                file: file.clone(),
                line: u32::try_from(i + 1).unwrap_or(u32::MAX),
            };
            last_line = origin.line;
            let mut line = raw.strip_suffix('\r').unwrap_or(raw);
            if i == 0 {
                line = line.strip_prefix('\u{feff}').unwrap_or(line);
            }
            let cleaned = match strip_comments(line, &mut comment_depth) {
                Ok(c) => c,
                Err(m) => return fatal(&origin, m),
            };
            let t = cleaned.trim();
            if !t.is_empty() {
                self.line(t, &origin, depth)?;
            }
        }
        if comment_depth > 0 {
            let origin = Origin {
                file,
                line: last_line,
            };
            self.warn(
                &origin,
                "block comment ';--' not closed with '--;' before the end of the file",
            );
        }
        Ok(())
    }

    fn line(&mut self, t: &str, origin: &Origin, depth: usize) -> Result<(), ConfError> {
        if let Some(rest) = t.strip_prefix('\\') {
            // A leading backslash makes the next character ordinary (e.g. a variable
            // whose name starts with '[' or '#').
            if rest.is_empty() || rest.starts_with(char::is_whitespace) {
                return fatal(
                    origin,
                    "a line cannot start with '\\' followed by nothing or a blank",
                );
            }
            return self.variable(rest, origin);
        }
        match t.as_bytes()[0] {
            b'[' => self.header(t, origin),
            b'#' => self.directive(t, origin, depth),
            _ => self.variable(t, origin),
        }
    }

    fn header(&mut self, t: &str, origin: &Origin) -> Result<(), ConfError> {
        let Some(close) = t.find(']') else {
            return fatal(origin, "section header without ']'");
        };
        let name = t[1..close].trim();
        if name.is_empty() {
            return fatal(origin, "section header with an empty name");
        }
        let rest = t[close + 1..].trim_start();
        let (mut template, mut append, mut parents) = (false, false, Vec::new());
        if let Some(opts) = rest.strip_prefix('(') {
            let Some(end) = opts.find(')') else {
                return fatal(origin, format!("[{name}]: options without ')'"));
            };
            for o in opts[..end].split(',').map(str::trim) {
                match o {
                    "!" => template = true,
                    "+" => append = true,
                    "" => {}
                    p => parents.push(p.to_owned()),
                }
            }
            if !opts[end + 1..].trim().is_empty() {
                self.warn(
                    origin,
                    format!("[{name}]: text after the section options is ignored"),
                );
            }
        } else if !rest.is_empty() {
            self.warn(
                origin,
                format!("[{name}]: text after the section header is ignored"),
            );
        }
        if append {
            let Some(i) = self.cfg.sections.iter().position(|s| s.name == name) else {
                return fatal(
                    origin,
                    format!("[{name}](+): no earlier section [{name}] to add to"),
                );
            };
            self.current = Some(i);
            return Ok(());
        }
        let mut vars = Vec::new();
        for p in &parents {
            let Some(parent) = self
                .cfg
                .sections
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(p))
            else {
                return fatal(
                    origin,
                    format!("[{name}] inherits from '{p}', which is not defined above it"),
                );
            };
            vars.extend(parent.vars.iter().cloned());
        }
        self.cfg.sections.push(Section {
            name: name.to_owned(),
            template,
            parents,
            origin: origin.clone(),
            vars,
        });
        self.current = Some(self.cfg.sections.len() - 1);
        Ok(())
    }

    fn directive(&mut self, t: &str, origin: &Origin, depth: usize) -> Result<(), ConfError> {
        let body = &t[1..];
        let (word, arg) = match body.find(char::is_whitespace) {
            Some(i) => (&body[..i], body[i..].trim()),
            None => (body, ""),
        };
        let arg = unwrap_arg(arg);
        match word.to_ascii_lowercase().as_str() {
            kind @ ("include" | "tryinclude") => {
                let required = kind == "include";
                if arg.is_empty() {
                    if required {
                        return fatal(origin, "#include without a file name");
                    }
                    self.warn(origin, "#tryinclude without a file name");
                    return Ok(());
                }
                if depth + 1 > self.opts.max_include_depth {
                    return fatal(
                        origin,
                        format!(
                            "#{kind} {arg}: includes nested deeper than {}",
                            self.opts.max_include_depth
                        ),
                    );
                }
                let files = self.source.resolve(arg).unwrap_or_default();
                if files.is_empty() {
                    if required {
                        return fatal(origin, format!("#include {arg}: no such file"));
                    }
                    return Ok(());
                }
                for f in files {
                    match self.source.read(&f) {
                        Ok(text) => self.parse_text(f.as_str().into(), &text, depth + 1)?,
                        Err(e) if required => {
                            return fatal(origin, format!("#include {f}: cannot read it: {e}"))
                        }
                        Err(_) => {}
                    }
                }
                Ok(())
            }
            "exec" => {
                if !self.opts.allow_exec {
                    self.warn(
                        origin,
                        format!("#exec {arg}: not run (running commands from configuration is disabled)"),
                    );
                    return Ok(());
                }
                match self.source.exec(arg) {
                    Ok(out) => self.parse_text(format!("#exec {arg}").into(), &out, depth + 1),
                    Err(e) => {
                        self.warn(origin, format!("#exec {arg}: {e}"));
                        Ok(())
                    }
                }
            }
            _ => {
                self.warn(origin, format!("unknown directive #{word} ignored"));
                Ok(())
            }
        }
    }

    fn variable(&mut self, t: &str, origin: &Origin) -> Result<(), ConfError> {
        let Some(eq) = t.find('=') else {
            self.warn(origin, format!("'{t}' has no '=' and is ignored"));
            return Ok(());
        };
        let mut name = &t[..eq];
        let mut value = &t[eq + 1..];
        let append = name.ends_with('+');
        if append {
            name = &name[..name.len() - 1];
        }
        if let Some(v) = value.strip_prefix('>') {
            value = v;
        }
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            self.warn(origin, "a variable without a name is ignored");
            return Ok(());
        }
        let Some(cur) = self.current else {
            return fatal(origin, format!("'{name}' appears before any [section]"));
        };
        let Some(section) = self.cfg.sections.get_mut(cur) else {
            return fatal(origin, "internal: current section lost");
        };
        if append {
            if let Some(v) = section.vars.iter_mut().rev().find(|v| v.name == name) {
                v.value.push_str(value);
                return Ok(());
            }
        }
        section.vars.push(Var {
            name: name.to_owned(),
            value: value.to_owned(),
            origin: origin.clone(),
        });
        Ok(())
    }
}

/// Removes surrounding quotes or angle brackets from a directive's argument.
fn unwrap_arg(arg: &str) -> &str {
    for (open, close) in [('"', '"'), ('<', '>')] {
        if let Some(inner) = arg.strip_prefix(open).and_then(|a| a.strip_suffix(close)) {
            return inner.trim();
        }
    }
    arg
}

/// Removes comments from one line, tracking `;-- --;` blocks across lines in `depth`.
/// `\;` becomes a literal `;`.
fn strip_comments(line: &str, depth: &mut usize) -> Result<String, &'static str> {
    let b = line.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let opens = |i: usize| b[i..].starts_with(b";--") && b.get(i + 3) != Some(&b'-');
    while i < b.len() {
        if *depth > 0 {
            if b[i..].starts_with(b"--;") {
                *depth -= 1;
                i += 3;
            } else if opens(i) {
                *depth += 1;
                if *depth > MAX_COMMENT_DEPTH {
                    return Err("block comments nested more than 128 deep");
                }
                i += 3;
            } else {
                i += 1;
            }
            continue;
        }
        match b[i] {
            b'\\' if b.get(i + 1) == Some(&b';') => {
                out.push(b';');
                i += 2;
            }
            b';' if opens(i) => {
                *depth += 1;
                i += 3;
            }
            b';' => break,
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    // Only whole ASCII sequences were removed, so the rest is still UTF-8.
    String::from_utf8(out).map_err(|_| "line is not valid UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments() {
        let mut d = 0;
        assert_eq!(strip_comments("a=b ; note", &mut d).unwrap(), "a=b ");
        assert_eq!(strip_comments("a=b\\;c", &mut d).unwrap(), "a=b;c");
        assert_eq!(
            strip_comments("a=1 ;-- x --; b=2", &mut d).unwrap(),
            "a=1  b=2"
        );
        assert_eq!(strip_comments("a=1 ;--- plain", &mut d).unwrap(), "a=1 ");
        assert_eq!(strip_comments("x ;-- open", &mut d).unwrap(), "x ");
        assert_eq!(d, 1);
        assert_eq!(
            strip_comments(";-- nested --; still in", &mut d).unwrap(),
            ""
        );
        assert_eq!(d, 1);
        assert_eq!(strip_comments("end --; y", &mut d).unwrap(), " y");
        assert_eq!(d, 0);
    }
}
