//! Codec preferences: an endpoint's `allow` / `disallow` lines, processed in order into
//! one ordered list, as res_pjsip does (spec §2.2: no `allow` means no codecs).
//!
//! `allow=ulaw,alaw` appends each codec not already listed; `disallow=ulaw` (or
//! `allow=!ulaw`) removes it; `all` stands for every known codec (`disallow=all` and
//! `allow=!all` clear the list, `allow=all` appends every known codec not yet listed).

/// Every codec name Switchboard knows, in the order `allow=all` adds them: audio first,
/// the usual telephony codecs leading, then video and text.
pub const KNOWN_CODECS: &[&str] = &[
    "ulaw", "alaw", "g722", "g729", "opus", "gsm", "ilbc", "g726", "g726aal2", "adpcm", "speex",
    "speex16", "speex32", "siren7", "siren14", "g719", "lpc10", "testlaw", "slin", "slin12",
    "slin16", "slin24", "slin32", "slin44", "slin48", "slin96", "slin192", "codec2", "h261",
    "h263", "h263p", "h264", "h265", "mpeg4", "vp8", "vp9", "jpeg", "png", "red", "t140",
];

/// Whether the line was `allow` or `disallow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `allow=…`
    Allow,
    /// `disallow=…`
    Disallow,
}

/// Applies one `allow`/`disallow` value (a comma list) to `list`. On an unknown codec
/// the list is left as it was and the error names the codec and the accepted names.
pub fn apply(
    list: &mut Vec<&'static str>,
    direction: Direction,
    value: &str,
) -> Result<(), String> {
    let mut next = list.clone();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (negated, name) = match item.strip_prefix('!') {
            Some(n) => (true, n.trim()),
            None => (false, item),
        };
        let allow = (direction == Direction::Allow) != negated;
        if name.eq_ignore_ascii_case("all") {
            if allow {
                for c in KNOWN_CODECS {
                    if !next.contains(c) {
                        next.push(c);
                    }
                }
            } else {
                next.clear();
            }
            continue;
        }
        let Some(codec) = KNOWN_CODECS.iter().find(|c| c.eq_ignore_ascii_case(name)) else {
            return Err(format!(
                "unknown codec '{name}' (known: all, {})",
                KNOWN_CODECS.join(", ")
            ));
        };
        if allow {
            if !next.contains(codec) {
                next.push(codec);
            }
        } else {
            next.retain(|c| c != codec);
        }
    }
    *list = next;
    Ok(())
}

/// Resolves `allow`/`disallow` lines, in order, into the ordered codec list.
pub fn resolve<'a>(
    lines: impl IntoIterator<Item = (Direction, &'a str)>,
) -> Result<Vec<&'static str>, String> {
    let mut list = Vec::new();
    for (d, v) in lines {
        apply(&mut list, d, v)?;
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::Direction::{Allow, Disallow};
    use super::*;

    #[test]
    fn order_and_clearing() {
        assert_eq!(
            resolve([]).unwrap(),
            Vec::<&str>::new(),
            "no allow, no codecs"
        );
        assert_eq!(
            resolve([(Disallow, "all"), (Allow, "g722"), (Allow, "ulaw,alaw")]).unwrap(),
            ["g722", "ulaw", "alaw"]
        );
        assert_eq!(
            resolve([(Allow, "ulaw,alaw"), (Allow, "ULAW"), (Disallow, "ulaw")]).unwrap(),
            ["alaw"]
        );
        assert_eq!(
            resolve([(Allow, "!all,ulaw"), (Allow, "!ulaw,g729")]).unwrap(),
            ["g729"]
        );
        let all = resolve([(Allow, "g722"), (Allow, "all")]).unwrap();
        assert_eq!(all[0], "g722");
        assert_eq!(all.len(), KNOWN_CODECS.len());
        assert_eq!(
            resolve([(Allow, "all"), (Disallow, "all")]).unwrap(),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn unknown_codec_is_an_error_and_changes_nothing() {
        let mut list = vec!["ulaw"];
        let e = apply(&mut list, Allow, "alaw, nosuch").unwrap_err();
        assert!(
            e.starts_with("unknown codec 'nosuch' (known: all, ulaw, alaw,"),
            "{e}"
        );
        assert_eq!(list, ["ulaw"]);
    }
}
