//! A failed commit (here: the disk refuses to sync) fails its caller and fences the store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use redb::backends::InMemoryBackend;
use redb::{BackendError, StorageBackend};

use super::EmbeddedStore;
use crate::conformance::sample_payment;
use crate::{InsertOutcome, MemorySettings, Store, StoreError};

/// Memory storage whose `sync_data` fails once `broken` is set.
#[derive(Debug)]
struct FailingDisk {
    inner: InMemoryBackend,
    broken: Arc<AtomicBool>,
}

impl StorageBackend for FailingDisk {
    fn len(&self) -> Result<u64, BackendError> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), BackendError> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), BackendError> {
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> Result<(), BackendError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(BackendError::Io(std::io::Error::other("disk gone")));
        }
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), BackendError> {
        self.inner.write(offset, data)
    }
}

#[tokio::test]
async fn a_failed_commit_fails_its_caller_and_fences_the_store() {
    let broken = Arc::new(AtomicBool::new(false));
    let disk = FailingDisk {
        inner: InMemoryBackend::new(),
        broken: broken.clone(),
    };
    let db = redb::Builder::new().create_with_backend(disk).unwrap();
    let store = EmbeddedStore::on(db, MemorySettings::default()).unwrap();
    let first = sample_payment("p1", "m1", 1);
    assert_eq!(
        store.insert_payment(&first, &[]).await.unwrap(),
        InsertOutcome::Inserted
    );

    broken.store(true, Ordering::SeqCst);
    let second = sample_payment("p2", "m1", 2);
    assert!(matches!(
        store.insert_payment(&second, &[]).await,
        Err(StoreError::Unavailable(_))
    ));
    // Fenced: no further write is acknowledged, and /readyz says so.
    let third = sample_payment("p3", "m1", 3);
    assert!(matches!(
        store.insert_payment(&third, &[]).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(store
        .memory
        .get_payment("m1", "p3")
        .await
        .unwrap()
        .is_none());
    assert!(store.ping().await.is_err());
    // What was durable stays readable.
    assert!(store.get_payment("m1", "p1").await.unwrap().is_some());
}
