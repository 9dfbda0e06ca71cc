//! The store's layering rules on in-memory layers: first layer wins on reads, listing
//! is the union sorted by id, writes go to writable layers, observers hear of changes.

use std::sync::{Arc, Mutex};

use asterisk_conf::Origin;
use sorcery::load::load_type;
use sorcery::object::defaults;
use sorcery::raw::RawObject;
use sorcery::store::{Change, Layer, StoreError, TypeStore};
use sorcery::types::Aor;

fn aor(id: &str, max_contacts: u32) -> Aor {
    let mut a: Aor = defaults();
    a.meta.id = id.into();
    a.max_contacts = max_contacts;
    a
}

fn file_aors(ids: &[(&str, &str)]) -> Vec<Aor> {
    let raws: Vec<RawObject> = ids
        .iter()
        .map(|(id, max)| {
            let o = Origin {
                file: "pjsip.conf".into(),
                line: 1,
            };
            let mut r = RawObject::new("aor", id, o.clone());
            r.push("max_contacts", max, o);
            r
        })
        .collect();
    load_type::<Aor>(&raws, false).objects
}

#[tokio::test]
async fn first_layer_wins_and_listing_is_the_sorted_union() {
    let store = TypeStore::new(vec![Layer::snapshot("config"), Layer::memory("memory")]);
    store.replace_snapshot(0, file_aors(&[("b", "1"), ("a", "2")]), &[]);
    store
        .put(aor("b", 9))
        .await
        .expect("memory layer is writable");
    store.put(aor("c", 3)).await.expect("put");

    assert_eq!(
        store.get("b").await.unwrap().unwrap().max_contacts,
        1,
        "file layer first"
    );
    let all = store.get_all().await.unwrap();
    let got: Vec<(&str, u32)> = all.iter().map(|a| (&*a.meta.id, a.max_contacts)).collect();
    assert_eq!(got, [("a", 2), ("b", 1), ("c", 3)]);
    let found = store.find("max_contacts", "3").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(&*found[0].meta.id, "c");
}

#[tokio::test]
async fn file_layers_are_read_only_and_deletes_report_what_happened() {
    let store = TypeStore::new(vec![Layer::snapshot("config")]);
    store.replace_snapshot(0, file_aors(&[("a", "1")]), &[]);
    assert!(matches!(
        store.put(aor("x", 1)).await,
        Err(StoreError::ReadOnly("aor"))
    ));
    assert!(matches!(
        store.delete("a").await,
        Err(StoreError::ReadOnly("aor"))
    ));
    assert!(matches!(
        store.delete("nobody").await,
        Err(StoreError::NotFound("aor", _))
    ));
}

#[tokio::test]
async fn observers_hear_every_change() {
    let store = TypeStore::new(vec![Layer::memory("memory")]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    store.observe(Arc::new(move |c: &Change<Aor>| {
        let what = match c {
            Change::Created(a) => format!("created {}", a.meta.id),
            Change::Updated(a) => format!("updated {} {}", a.meta.id, a.max_contacts),
            Change::Deleted(a) => format!("deleted {}", a.meta.id),
            Change::Reloaded => "reloaded".to_owned(),
        };
        log.lock().unwrap().push(what);
    }));
    store.put(aor("a", 1)).await.unwrap();
    store.put(aor("a", 2)).await.unwrap();
    store.delete("a").await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["created a", "updated a 2", "deleted a"]
    );
    assert!(store.get("a").await.unwrap().is_none());
}

/// A table that always fails, to show what a write does when the database is down.
struct Down;

impl sorcery::store::TableBackend for Down {
    fn fetch(&self, _: &str) -> sorcery::store::BoxFuture<'_, Result<Option<RawObject>, String>> {
        Box::pin(async { Err("database down".to_owned()) })
    }
    fn fetch_all(&self) -> sorcery::store::BoxFuture<'_, Result<Vec<RawObject>, String>> {
        Box::pin(async { Err("database down".to_owned()) })
    }
    fn fetch_where<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> sorcery::store::BoxFuture<'a, Result<Vec<RawObject>, String>> {
        Box::pin(async { Err("database down".to_owned()) })
    }
    fn upsert<'a>(
        &'a self,
        _: &'a str,
        _: &'a [(&'static str, String)],
    ) -> sorcery::store::BoxFuture<'a, Result<bool, String>> {
        Box::pin(async { Err("database down".to_owned()) })
    }
    fn delete<'a>(&'a self, _: &'a str) -> sorcery::store::BoxFuture<'a, Result<bool, String>> {
        Box::pin(async { Err("database down".to_owned()) })
    }
}

#[tokio::test]
async fn a_failed_write_leaves_the_cache_alone_and_a_down_table_does_not_hide_later_layers() {
    let mut cache = Layer::memory("cache");
    cache.cache = true;
    let store = TypeStore::new(vec![
        cache,
        Layer::table("realtime ps_aors", Box::new(Down)),
        Layer::snapshot("config"),
    ]);
    store.replace_snapshot(2, file_aors(&[("f", "1")]), &[]);
    assert!(matches!(
        store.put(aor("x", 1)).await,
        Err(StoreError::Backend(_))
    ));
    assert!(
        store.get("x").await.unwrap().is_none(),
        "not cached after a failed write"
    );
    let f = store
        .get("f")
        .await
        .unwrap()
        .expect("file layer still answers");
    assert_eq!(f.max_contacts, 1);
    assert_eq!(store.get_all().await.unwrap().len(), 1);
}

/// A table that serves a fixed set of rows and counts reads.
struct Rows(Arc<std::sync::atomic::AtomicUsize>);

impl sorcery::store::TableBackend for Rows {
    fn fetch(&self, id: &str) -> sorcery::store::BoxFuture<'_, Result<Option<RawObject>, String>> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = id.to_owned();
        Box::pin(async move {
            let o = Origin {
                file: "ps_aors (realtime)".into(),
                line: 0,
            };
            let mut r = RawObject::new("aor", &id, o.clone());
            r.push("max_contacts", "4", o);
            Ok(Some(r))
        })
    }
    fn fetch_all(&self) -> sorcery::store::BoxFuture<'_, Result<Vec<RawObject>, String>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn fetch_where<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> sorcery::store::BoxFuture<'a, Result<Vec<RawObject>, String>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn upsert<'a>(
        &'a self,
        _: &'a str,
        _: &'a [(&'static str, String)],
    ) -> sorcery::store::BoxFuture<'a, Result<bool, String>> {
        Box::pin(async { Ok(true) })
    }
    fn delete<'a>(&'a self, _: &'a str) -> sorcery::store::BoxFuture<'a, Result<bool, String>> {
        Box::pin(async { Ok(true) })
    }
}

#[tokio::test]
async fn a_cache_layer_serves_repeat_reads_and_keeps_at_most_maximum_objects() {
    let mut cache: Layer<Aor> = Layer::memory("memory_cache");
    cache.cache = true;
    cache.policy = sorcery::store::CachePolicy {
        maximum_objects: 2,
        expire_on_reload: true,
        ..Default::default()
    };
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let rows = Rows(Arc::clone(&reads));
    let store = TypeStore::new(vec![
        cache,
        Layer::table("realtime ps_aors", Box::new(rows)),
    ]);
    for id in ["a", "a", "b", "a"] {
        assert_eq!(store.get(id).await.unwrap().unwrap().max_contacts, 4);
    }
    assert_eq!(
        reads.load(std::sync::atomic::Ordering::Relaxed),
        2,
        "repeat reads come from the cache"
    );
    // a and b are cached: listing from the cache layer stops there (it has objects).
    assert_eq!(store.get_all().await.unwrap().len(), 2);
    store.get("c").await.unwrap();
    assert_eq!(
        store.get_all().await.unwrap().len(),
        2,
        "maximum_objects = 2"
    );
    store.expire_caches_on_reload();
    assert!(
        store.get_all().await.unwrap().is_empty(),
        "expire_on_reload emptied it"
    );
}
