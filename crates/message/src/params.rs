//! Parameter lists (`;name=value`) kept as spans into their owner's text, so a parsed
//! header costs one allocation-free index rather than a string per parameter.

use smallvec::SmallVec;

use crate::text::{is_token_char, quoted_string_end, skip_lws, split_token};

/// A byte range inside an owner's text. `u32` keeps a span at 8 bytes; the parser's
/// limits keep every message far below 4 GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    /// "No span": the value of a parameter that has none.
    pub const NONE: Span = Span {
        start: u32::MAX,
        end: u32::MAX,
    };

    /// The span of `sub` inside `base`. `sub` must be a subslice of `base`.
    pub fn of(base: &str, sub: &str) -> Span {
        let start = (sub.as_ptr() as usize).saturating_sub(base.as_ptr() as usize);
        Span {
            start: start as u32,
            end: (start + sub.len()) as u32,
        }
    }

    pub fn get<'a>(&self, base: &'a str) -> &'a str {
        base.get(self.start as usize..self.end as usize)
            .unwrap_or("")
    }
}

/// Case-insensitive name comparison that rejects on length and first byte before
/// comparing the rest; most lookups miss.
#[inline]
pub(crate) fn eq_name(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.as_bytes().first().map(u8::to_ascii_lowercase)
            == b.as_bytes().first().map(u8::to_ascii_lowercase)
        && a.eq_ignore_ascii_case(b)
}

/// One parameter: the name span and, when there is `=value`, the value span
/// ([`Span::NONE`] for a flag such as `lr`; a sentinel rather than an `Option` keeps a
/// parameter at 16 bytes, which matters because typed values are moved by value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Param {
    pub name: Span,
    value: Span,
}

impl Param {
    pub fn new(name: Span, value: Option<Span>) -> Param {
        Param {
            name,
            value: value.unwrap_or(Span::NONE),
        }
    }

    pub fn value(&self) -> Option<Span> {
        (self.value != Span::NONE).then_some(self.value)
    }
}

/// An ordered parameter list, looked up by case-insensitive name, with room for `N`
/// parameters before it allocates (header values carry more than URIs do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Params<const N: usize = 4> {
    items: SmallVec<[Param; N]>,
}

/// URI parameters: `transport`, `lr`, `user=phone` are typical; two fit inline, which
/// keeps a URI small enough to move cheaply.
pub(crate) type UriParams = Params<2>;

impl<const N: usize> Params<N> {
    pub fn get<'a>(&self, base: &'a str, name: &str) -> Option<Option<&'a str>> {
        self.items
            .iter()
            .find(|p| eq_name(p.name.get(base), name))
            .map(|p| p.value().map(|v| v.get(base)))
    }

    pub fn iter<'a>(
        &'a self,
        base: &'a str,
    ) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        self.items
            .iter()
            .map(move |p| (p.name.get(base), p.value().map(|v| v.get(base))))
    }

    /// An empty list with room for `n` parameters (Digest credentials carry about ten;
    /// growing the inline buffer step by step would allocate twice).
    pub fn with_capacity(n: usize) -> Params<N> {
        Params {
            items: SmallVec::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn push(&mut self, p: Param) {
        self.items.push(p);
    }
}

/// Parses `*( SEMI generic-param )` as found after a header's main value
/// (RFC 3261 §25: `generic-param = token [ EQUAL gen-value ]`,
/// `gen-value = token / host / quoted-string`), with LWS allowed around `;` and `=`.
/// `rest` must be a subslice of `base`; the whole of `rest` must be consumed.
pub(crate) fn parse_header_params(base: &str, rest: &str) -> Result<Params, String> {
    let mut params = Params::default();
    let mut s = skip_lws(rest);
    while !s.is_empty() {
        let Some(after_semi) = s.strip_prefix(';') else {
            return Err(format!(
                "unexpected '{}' where ';' was expected",
                first_char(s)
            ));
        };
        s = skip_lws(after_semi);
        let (name, rest) = split_token(s);
        if name.is_empty() {
            return Err(if s.is_empty() || s.starts_with(';') {
                "empty parameter".to_owned()
            } else {
                format!("invalid character '{}' in a parameter name", first_char(s))
            });
        }
        s = skip_lws(rest);
        let mut value = None;
        if let Some(after_eq) = s.strip_prefix('=') {
            s = skip_lws(after_eq);
            let vlen = if s.starts_with('"') {
                quoted_string_end(s.as_bytes(), 0)
                    .ok_or_else(|| format!("unterminated quoted string in parameter '{name}'"))?
            } else {
                s.bytes()
                    .take_while(|&b| is_token_char(b) || b == b'[' || b == b']' || b == b':')
                    .count()
            };
            if vlen == 0 {
                return Err(format!("parameter '{name}' has '=' but no value"));
            }
            value = Some(Span::of(base, &s[..vlen]));
            s = skip_lws(&s[vlen..]);
        }
        params.push(Param::new(Span::of(base, name), value));
    }
    Ok(params)
}

/// Appends `;name` or `;name=value`: how every builder in the crate writes a parameter.
pub(crate) fn write_param(out: &mut String, name: &str, value: Option<&str>) {
    out.push(';');
    out.push_str(name);
    if let Some(v) = value {
        out.push('=');
        out.push_str(v);
    }
}

pub(crate) fn first_char(s: &str) -> char {
    s.chars().next().unwrap_or(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_params_with_lws() {
        let base = " ;   tag    = 1918181833n ; lr ;x=\"a;b\"";
        let p = parse_header_params(base, base).unwrap();
        assert_eq!(p.get(base, "TAG"), Some(Some("1918181833n")));
        assert_eq!(p.get(base, "lr"), Some(None));
        assert_eq!(p.get(base, "x"), Some(Some("\"a;b\"")));
        assert_eq!(p.get(base, "y"), None);
    }

    #[test]
    fn empty_params_are_errors() {
        assert!(parse_header_params(";;", ";;").is_err());
        assert!(parse_header_params(";a=", ";a=").is_err());
        assert!(parse_header_params("x", "x").is_err());
    }
}
