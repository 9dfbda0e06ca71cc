//! Option values: how each kind of option text is read, shown and combined when an
//! option is given more than once. One implementation per kind keeps every object type
//! agreeing on what `yes`, a number or a list means, and the accepted-values text in
//! error messages comes from the same place as the parser.

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A hash map with a fast seeded hasher (foldhash) for the store's own tables: keys
/// come from configuration, and SipHash was a tenth of the load time.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The set counterpart of [`FastMap`].
pub type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

/// A string option: empty costs no allocation, and a clone shares the text instead of
/// copying it. Objects are cloned when one is derived from defaults or a template and
/// when a shared settings group is changed; with `Arc` those clones are reference
/// increments, and glibc's smallest chunk (32 bytes) makes the `Arc` header free for
/// short strings.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Text(Option<Arc<str>>);

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Must hash as the `str` it borrows as (maps keyed by Text are read with &str).
        self.as_str().hash(state)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        if s.is_empty() {
            Text(None)
        } else {
            Text(Some(Arc::from(s)))
        }
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::from(s.as_str())
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind of option value.
pub trait OptValue: Sized {
    /// What the option accepts, for error messages ("yes or no", "0 to 86400").
    fn accepted() -> Cow<'static, str>;
    /// Reads one line's value.
    fn parse(text: &str) -> Result<Self, String>;
    /// Writes the value the way `pjsip show` and a realtime row hold it.
    fn show(&self, out: &mut String);
    /// Writes the value as the separate lines a realtime row stores (joined there with
    /// `;`): one for most options, one per item for line-valued lists.
    fn show_each(&self, out: &mut Vec<String>) {
        let mut s = String::new();
        self.show(&mut s);
        out.push(s);
    }
    /// Combines a later line with the current value: the later line wins, except for
    /// options that accumulate (see [`Accum`]).
    fn merge(&mut self, later: Self) {
        *self = later;
    }
}

/// The accepted-values text of the value a field holds (lets the option table name a
/// field without spelling its type).
pub fn accepted_of<T: OptValue>(_field: &T) -> Cow<'static, str> {
    T::accepted()
}

/// Reads a boolean the way res_pjsip does: yes/no, true/false, on/off, 1/0 (any case).
pub fn parse_bool(text: &str) -> Option<bool> {
    const TRUE: [&str; 4] = ["yes", "true", "on", "1"];
    const FALSE: [&str; 4] = ["no", "false", "off", "0"];
    let t = text.trim();
    if TRUE.iter().any(|w| w.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|w| w.eq_ignore_ascii_case(t)) {
        Some(false)
    } else {
        None
    }
}

impl OptValue for bool {
    fn accepted() -> Cow<'static, str> {
        "yes, no, true, false, on, off, 1, 0".into()
    }
    fn parse(text: &str) -> Result<Self, String> {
        parse_bool(text).ok_or_else(|| format!("'{text}' is not a boolean"))
    }
    fn show(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

macro_rules! integer_value {
    ($($t:ty),*) => {$(
        impl OptValue for $t {
            fn accepted() -> Cow<'static, str> {
                format!("a whole number from {} to {}", <$t>::MIN, <$t>::MAX).into()
            }
            fn parse(text: &str) -> Result<Self, String> {
                let t = text.trim();
                t.parse::<$t>().map_err(|_| format!("'{text}' is not a whole number in range"))
            }
            fn show(&self, out: &mut String) {
                let _ = write!(out, "{self}");
            }
        }
    )*};
}
integer_value!(u8, u16, u32, u64, i32, i64);

impl OptValue for f64 {
    fn accepted() -> Cow<'static, str> {
        "a number (decimals allowed)".into()
    }
    fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(format!("'{text}' is not a number")),
        }
    }
    fn show(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

thread_local! {
    static INTERNER: std::cell::RefCell<Option<FastSet<Arc<str>>>> =
        const { std::cell::RefCell::new(None) };
}

/// While alive, option text read on this thread is interned: equal values (the
/// `context` or `transport` every endpoint of a template repeats) share one
/// allocation. Held for the duration of one load; the table is freed with it.
pub struct InternScope {
    outer: Option<FastSet<Arc<str>>>,
}

impl InternScope {
    /// Starts interning on this thread.
    pub fn new() -> InternScope {
        let outer = INTERNER.with(|i| i.borrow_mut().replace(Default::default()));
        InternScope { outer }
    }
}

impl Default for InternScope {
    fn default() -> Self {
        InternScope::new()
    }
}

impl Drop for InternScope {
    fn drop(&mut self) {
        let outer = self.outer.take();
        INTERNER.with(|i| *i.borrow_mut() = outer);
    }
}

impl Text {
    /// The text, sharing an equal value already read in this load (see [`InternScope`]).
    pub fn interned(s: &str) -> Text {
        if s.is_empty() {
            return Text(None);
        }
        INTERNER.with(|i| match i.borrow_mut().as_mut() {
            Some(set) => match set.get(s) {
                Some(a) => Text(Some(Arc::clone(a))),
                None => {
                    let a: Arc<str> = Arc::from(s);
                    set.insert(Arc::clone(&a));
                    Text(Some(a))
                }
            },
            None => Text::from(s),
        })
    }
}

impl OptValue for Text {
    fn accepted() -> Cow<'static, str> {
        "any text".into()
    }
    fn parse(text: &str) -> Result<Self, String> {
        Ok(Text::interned(text))
    }
    fn show(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl<T: OptValue> OptValue for Option<T> {
    fn accepted() -> Cow<'static, str> {
        format!("{}, or empty for none", T::accepted()).into()
    }
    fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            Ok(None)
        } else {
            T::parse(text).map(Some)
        }
    }
    fn show(&self, out: &mut String) {
        if let Some(v) = self {
            v.show(out);
        }
    }
}

/// A comma-separated list where each line replaces the previous one (endpoint `aors`,
/// `auth`, `outbound_auth`, `identify_by`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct List<T>(pub Box<[T]>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Box::default())
    }
}

impl<T> Deref for List<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

fn parse_items<T: OptValue>(text: &str) -> Result<Vec<T>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(T::parse)
        .collect()
}

fn show_items<T: OptValue>(items: &[T], out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item.show(out);
    }
}

impl<T: OptValue> OptValue for List<T> {
    fn accepted() -> Cow<'static, str> {
        format!("a comma-separated list of {}", T::accepted()).into()
    }
    fn parse(text: &str) -> Result<Self, String> {
        parse_items(text).map(|v| List(v.into_boxed_slice()))
    }
    fn show(&self, out: &mut String) {
        show_items(&self.0, out);
    }
}

/// A list where every line adds to what earlier lines (and templates) gave: aor
/// `contact`, identify `match`, transport `local_net`, endpoint `set_var`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Accum<T>(pub Box<[T]>);

impl<T> Default for Accum<T> {
    fn default() -> Self {
        Accum(Box::default())
    }
}

impl<T> Deref for Accum<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: OptValue> OptValue for Accum<T> {
    fn accepted() -> Cow<'static, str> {
        format!("{} (repeatable, or comma-separated)", T::accepted()).into()
    }
    fn parse(text: &str) -> Result<Self, String> {
        parse_items(text).map(|v| Accum(v.into_boxed_slice()))
    }
    fn show(&self, out: &mut String) {
        show_items(&self.0, out);
    }
    fn merge(&mut self, later: Self) {
        if later.0.is_empty() {
            return;
        }
        let mut all = std::mem::take(&mut self.0).into_vec();
        all.extend(later.0.into_vec());
        self.0 = all.into_boxed_slice();
    }
}

/// A line-valued accumulating option whose values may contain commas (`set_var`,
/// `match_header`): each line is one item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Lines(pub Box<[Text]>);

impl Deref for Lines {
    type Target = [Text];
    fn deref(&self) -> &[Text] {
        &self.0
    }
}

impl OptValue for Lines {
    fn accepted() -> Cow<'static, str> {
        "any text (repeatable)".into()
    }
    fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Lines::default());
        }
        Ok(Lines(vec![Text::from(text)].into_boxed_slice()))
    }
    fn show(&self, out: &mut String) {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.push_str(item);
        }
    }
    fn show_each(&self, out: &mut Vec<String>) {
        out.extend(self.0.iter().map(|l| l.to_string()));
    }
    fn merge(&mut self, later: Self) {
        let mut all = std::mem::take(&mut self.0).into_vec();
        all.extend(later.0.into_vec());
        self.0 = all.into_boxed_slice();
    }
}

/// A group of settings shared between objects until one of them changes it
/// (copy-on-write). Most endpoints of a deployment are stamped from one template and
/// differ only in a few fields; keeping the rest behind one shared pointer is what
/// keeps 100 000 endpoints small.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Shared<T>(pub Arc<T>);

impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

/// Declares an enumerated option value: the Rust variants and the words that name
/// them in the configuration (first word is the one shown; later words are accepted
/// synonyms).
#[macro_export]
macro_rules! choice {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $var:ident = [$($word:literal),+]),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name { $($(#[$vm])* $var),+ }

        impl Default for $name {
            fn default() -> Self {
                [$($name::$var),+][0]
            }
        }

        impl $name {
            /// Every accepted word with the value it names.
            pub const WORDS: &'static [(&'static str, $name)] = &[$($(($word, $name::$var)),+),+];

            /// The word configuration files use for this value.
            pub fn word(self) -> &'static str {
                match self { $($name::$var => [$($word),+][0]),+ }
            }
        }

        impl $crate::value::OptValue for $name {
            fn accepted() -> std::borrow::Cow<'static, str> {
                let words: Vec<&str> = $name::WORDS.iter().map(|(w, _)| *w).collect();
                words.join(", ").into()
            }
            fn parse(text: &str) -> Result<Self, String> {
                let t = text.trim();
                $name::WORDS
                    .iter()
                    .find(|(w, _)| w.eq_ignore_ascii_case(t))
                    .map(|(_, v)| *v)
                    .ok_or_else(|| format!("'{text}' is not one of the accepted values"))
            }
            fn show(&self, out: &mut String) {
                out.push_str(self.word());
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_take_every_spelling() {
        for t in ["yes", "TRUE", "On", "1"] {
            assert_eq!(bool::parse(t), Ok(true));
        }
        for t in ["no", "False", "off", "0"] {
            assert_eq!(bool::parse(t), Ok(false));
        }
        assert!(bool::parse("maybe").is_err());
    }

    #[test]
    fn lists_replace_and_accumulations_add() {
        let mut l = List::<Text>::parse("a, b").unwrap();
        l.merge(List::parse("c").unwrap());
        assert_eq!(&*l, &["c".into()] as &[Text]);
        let mut a = Accum::<Text>::parse("a, b").unwrap();
        a.merge(Accum::parse("c").unwrap());
        assert_eq!(a.len(), 3);
        let mut s = String::new();
        a.show(&mut s);
        assert_eq!(s, "a,b,c");
    }

    #[test]
    fn numbers_reject_junk() {
        assert_eq!(u32::parse(" 60 "), Ok(60));
        assert!(u32::parse("-1").is_err());
        assert!(u32::parse("6o").is_err());
        assert!(f64::parse("nan").is_err());
    }
}
