//! Revoked admin tokens, kept in this process's memory.

use async_trait::async_trait;
use ferry_domain::Result;
use ferry_ports::{Clock, TokenRevocations};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// A [`TokenRevocations`] list in memory: token id to its expiry.
// LIMITATION: the list lives in this process only and is lost on restart: a
// token revoked on one replica stays valid on the others (and here, after a
// restart) until it expires. A store shared by the replicas would fix both.
pub struct MemoryRevocations {
    revoked: Mutex<HashMap<String, i64>>,
    clock: Arc<dyn Clock>,
}

impl MemoryRevocations {
    /// An empty list; `clock` tells which entries have expired.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            revoked: Mutex::new(HashMap::new()),
            clock,
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, i64>> {
        // The map stays consistent whatever a panicking holder did.
        self.revoked.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for MemoryRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRevocations")
            .field("entries", &self.entries().len())
            .finish()
    }
}

#[async_trait]
impl TokenRevocations for MemoryRevocations {
    async fn revoke(&self, token_id: &str, expires_at: i64) -> Result<()> {
        let now = self.clock.now_ms() / 1000;
        let mut entries = self.entries();
        // Expired entries go here, not in the check every request makes:
        // the map stays bounded by the revocations of one token lifetime.
        entries.retain(|_, expiry| *expiry > now);
        let expiry = entries.entry(token_id.to_owned()).or_insert(expires_at);
        *expiry = (*expiry).max(expires_at);
        Ok(())
    }

    async fn is_revoked(&self, token_id: &str, now: i64) -> Result<bool> {
        let entries = self.entries();
        Ok(entries.get(token_id).is_some_and(|expiry| *expiry > now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    /// A clock that only moves when told, in Unix seconds.
    #[derive(Default)]
    struct FakeClock(AtomicI64);

    impl Clock for FakeClock {
        fn now_ms(&self) -> i64 {
            self.0.load(Ordering::SeqCst) * 1000
        }
    }

    fn list_at(now: i64) -> (MemoryRevocations, Arc<FakeClock>) {
        let clock = Arc::new(FakeClock(AtomicI64::new(now)));
        (MemoryRevocations::new(clock.clone()), clock)
    }

    #[tokio::test]
    async fn a_revoked_token_stays_revoked_until_it_expires() {
        let (list, _) = list_at(1000);
        assert!(!list.is_revoked("a", 1000).await.unwrap());
        list.revoke("a", 1060).await.unwrap();
        assert!(list.is_revoked("a", 1000).await.unwrap());
        assert!(list.is_revoked("a", 1059).await.unwrap());
        assert!(!list.is_revoked("a", 1060).await.unwrap());
        assert!(!list.is_revoked("b", 1000).await.unwrap());
    }

    #[tokio::test]
    async fn revoking_twice_keeps_the_later_expiry() {
        let (list, _) = list_at(1000);
        list.revoke("a", 1060).await.unwrap();
        list.revoke("a", 1010).await.unwrap();
        assert!(list.is_revoked("a", 1030).await.unwrap());
    }

    #[tokio::test]
    async fn expired_entries_are_forgotten() {
        let (list, clock) = list_at(1000);
        list.revoke("short", 1010).await.unwrap();
        list.revoke("long", 1100).await.unwrap();
        clock.0.store(1050, Ordering::SeqCst);
        list.revoke("new", 1200).await.unwrap();
        let entries = list.entries();
        let mut kept: Vec<_> = entries.keys().map(String::as_str).collect();
        kept.sort_unstable();
        assert_eq!(kept, ["long", "new"]);
    }
}
