//! This server's name (`systemname` in `asterisk.conf`'s `[options]`).
//!
//! Asterisk stamps it on every contact it stores (`reg_server`), so that servers sharing
//! one realtime `ps_contacts` table each prune only their own connection-bound contacts
//! at start (`prune_on_boot`, spec §6.7). Read once at start, as Asterisk does: changing
//! it needs a restart.

use asterisk_conf::{load, LoadOptions, Source};

/// `systemname`, or empty when `asterisk.conf` or the option is absent (Asterisk's
/// default), and lines for the log.
pub fn read(source: &dyn Source) -> (String, Vec<String>) {
    if source.read("asterisk.conf").is_err() {
        return (String::new(), Vec::new());
    }
    let config = match load(source, "asterisk.conf", &LoadOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            return (
                String::new(),
                vec![format!("{e}; systemname is empty (reg_server unset)")],
            )
        }
    };
    let mut warnings: Vec<String> = config.warnings.iter().map(|w| w.to_string()).collect();
    let mut name = String::new();
    for section in config.objects().filter(|s| s.name == "options") {
        for var in section.vars.iter().filter(|v| v.name == "systemname") {
            let value = var.value.trim();
            if value.chars().any(|c| c.is_whitespace() || c == ';') {
                warnings.push(format!(
                    "{}:{}: systemname '{value}' may not contain spaces or ';'; ignored",
                    var.origin.file, var.origin.line
                ));
                continue;
            }
            name = value.to_owned();
        }
    }
    (name, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use asterisk_conf::MemSource;

    #[test]
    fn absent_file_or_option_is_empty() {
        assert_eq!(read(&MemSource::new()), (String::new(), Vec::new()));
        let src = MemSource::new().with("asterisk.conf", "[options]\nverbose=3\n");
        assert_eq!(read(&src), (String::new(), Vec::new()));
    }

    #[test]
    fn systemname_from_options_and_other_sections_ignored() {
        let src = MemSource::new().with(
            "asterisk.conf",
            "[directories](!)\nastetcdir => /etc/asterisk\n\n[options]\nsystemname = pbx-a\n",
        );
        assert_eq!(read(&src).0, "pbx-a");
    }

    #[test]
    fn a_name_with_spaces_is_refused_with_file_and_line() {
        let src = MemSource::new().with("asterisk.conf", "[options]\nsystemname=pbx a\n");
        let (name, warnings) = read(&src);
        assert_eq!(name, "");
        assert!(
            warnings[0].contains("asterisk.conf:2") && warnings[0].contains("systemname"),
            "{warnings:?}"
        );
    }
}
