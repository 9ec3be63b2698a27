//! Single-threaded runtimes that connections are spread over, one per CPU.
//!
//! A connection's tasks (russh's session, the SFTP workers and writer) all
//! run on its shard's thread. On a multi-threaded runtime each request hops
//! between tasks that the scheduler may place on different threads, and
//! every hop that finds a worker parked wakes it to steal: on two cores a
//! 4 KiB download cost one and a half context switches per round trip and
//! woke the client's processes across CPUs too.
//!
//! Measured with bench/bench.py, 2,000 files of 4 KiB over one session on
//! two cores: the clients' CPU fell from 0.52 s to 0.38 s (sshd's run:
//! 0.34 s) and the ratio to sshd rose from 1.12-1.15 to 1.36-1.38.
// LIMITATION: work is not stolen between shards. A request that blocks its
// thread (local disk I/O runs inline, so a stalled disk) delays the other
// connections on that shard, and a shard whose connections are busy does
// not hand them to an idle one. Sockets that shared clients open (object
// storage, the database) belong to the shard that opened them, which
// drives their I/O for every shard.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;
use tokio::task::{AbortHandle, JoinSet};

/// The shards and the threads that drive them.
pub(crate) struct Shards {
    shards: Vec<Shard>,
}

struct Shard {
    handle: Handle,
    /// Connections running on this shard.
    load: Arc<AtomicUsize>,
    /// Dropped to stop the shard's thread.
    stop: Option<oneshot::Sender<()>>,
}

/// How long a stopping shard waits for its blocking tasks (password hashes).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

impl Shards {
    /// Starts `count` shards (at least one).
    pub fn start(count: usize) -> io::Result<Self> {
        let mut shards = Vec::with_capacity(count.max(1));
        for index in 0..count.max(1) {
            let runtime = Builder::new_current_thread().enable_all().build()?;
            let handle = runtime.handle().clone();
            let (stop, stopped) = oneshot::channel::<()>();
            let thread = std::thread::Builder::new()
                .name(format!("ferry-sftp-{index}"))
                .spawn(move || {
                    runtime.block_on(async {
                        let _ = stopped.await;
                    });
                    // What is left was abandoned by the shutdown grace time.
                    runtime.shutdown_timeout(SHUTDOWN_WAIT);
                })?;
            shards.push(Shard {
                handle,
                load: Arc::new(AtomicUsize::new(0)),
                stop: Some(stop),
            });
            drop(thread);
        }
        Ok(Self { shards })
    }

    /// Runs `task` on the shard with the fewest connections, in `set`.
    pub fn spawn<F>(&self, set: &mut JoinSet<()>, task: F) -> AbortHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let shard = self
            .shards
            .iter()
            .min_by_key(|shard| shard.load.load(Ordering::Acquire))
            .unwrap_or_else(|| unreachable!("there is always one shard"));
        let load = shard.load.clone();
        load.fetch_add(1, Ordering::AcqRel);
        let counted = async move {
            let _leaving = Leaving(load);
            task.await;
        };
        set.spawn_on(counted, &shard.handle)
    }
}

/// Counts a connection out of its shard however its task ends.
struct Leaving(Arc<AtomicUsize>);

impl Drop for Leaving {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Stops every shard's thread; the connections were drained or aborted.
impl Drop for Shards {
    fn drop(&mut self) {
        for shard in &mut self.shards {
            shard.stop.take();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use tokio::sync::{mpsc, watch};

    fn thread_name() -> String {
        std::thread::current().name().unwrap_or_default().to_owned()
    }

    #[tokio::test]
    async fn connections_spread_over_shards_and_keep_their_tasks_on_one_thread() {
        let shards = Shards::start(2).unwrap();
        let mut set = JoinSet::new();
        let (release, released) = watch::channel(false);
        let (seen_tx, mut seen) = mpsc::unbounded_channel();
        for _ in 0..4 {
            let seen_tx = seen_tx.clone();
            let mut released = released.clone();
            shards.spawn(&mut set, async move {
                let outer = thread_name();
                let inner = tokio::spawn(async { thread_name() }).await.unwrap();
                seen_tx.send((outer, inner)).unwrap();
                let _ = released.wait_for(|done| *done).await;
            });
        }
        let mut per_thread = HashMap::new();
        for _ in 0..4 {
            let (outer, inner) = seen.recv().await.unwrap();
            assert_eq!(
                outer, inner,
                "a task spawned by a connection left its shard"
            );
            *per_thread.entry(outer).or_insert(0) += 1;
        }
        let expected: HashMap<String, i32> = [
            ("ferry-sftp-0".to_owned(), 2),
            ("ferry-sftp-1".to_owned(), 2),
        ]
        .into();
        assert_eq!(per_thread, expected);

        release.send(true).unwrap();
        while let Some(ended) = set.join_next().await {
            ended.unwrap();
        }
        for shard in &shards.shards {
            assert_eq!(shard.load.load(Ordering::Acquire), 0);
        }
    }
}
