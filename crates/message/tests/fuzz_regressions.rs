//! Replays every input the fuzzer has crashed on (kept in `tests/fuzz-regressions/`,
//! one folder per fuzz target) through the same checks the fuzz targets make.

mod support {
    pub mod fuzz_checks;
}

use std::path::PathBuf;

use support::fuzz_checks::{check_datagram, check_stream, check_uri};

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let data = std::fs::read(&path).expect("regression input");
        check(&data);
        n += 1;
    }
    n
}

#[test]
fn parse_regressions() {
    replay("parse", check_datagram);
}

#[test]
fn framer_regressions() {
    replay("framer", check_stream);
}

#[test]
fn uri_regressions() {
    replay("uri", check_uri);
}

#[test]
fn corpus_messages_pass_the_fuzz_checks() {
    // The RFC 4475 messages are the fuzzer's seeds; they must pass every check too.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/rfc4475");
    for entry in std::fs::read_dir(dir).expect("corpus") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "sip") {
            let data = std::fs::read(&path).expect("message");
            check_datagram(&data);
            let mut stream = vec![7u8];
            stream.extend_from_slice(&data);
            check_stream(&stream);
        }
    }
}
