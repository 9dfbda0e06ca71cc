//! Shared by the services tests: objects loaded from a pjsip.conf text.

use std::sync::Arc;

use asterisk_conf::MemSource;
use sorcery::objects::{Objects, OpenOptions};

/// The objects of `conf` (as pjsip.conf), with no load errors allowed.
pub async fn objects(conf: &str) -> Objects {
    let (objects, report) = Objects::open(OpenOptions {
        source: Arc::new(MemSource::new().with("pjsip.conf", conf)),
        local_store_url: None,
        tables: None,
    })
    .await
    .expect("load");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    objects
}
