//! A data provider whose health a test switches.

use async_trait::async_trait;
use ferry_domain::{Error, Result};
use ferry_ports::ProviderHealth;
use std::sync::atomic::{AtomicBool, Ordering};

/// Answers pings until [`FakeHealth::fail`] is called.
#[derive(Default)]
pub struct FakeHealth {
    down: AtomicBool,
}

impl FakeHealth {
    /// Makes every later ping fail as a dead database would.
    pub fn fail(&self) {
        self.down.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl ProviderHealth for FakeHealth {
    fn driver(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::unavailable("database is unavailable"));
        }
        Ok(())
    }
}
