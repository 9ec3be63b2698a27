//! The SFTP protocol spoken packet by packet over `ssh -s sftp`: extension
//! replies, malformed and unknown requests, handles, budgets and limits.

mod common;

use common::{Fields, Packet, RawSftp, TestServer, eventually, framed, fxp, status};
use std::fs;
use std::sync::atomic::Ordering;

fn ext(id: u32, name: &str) -> Packet {
    Packet::new(fxp::EXTENDED).u32(id).str(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_announces_the_extensions_and_they_answer() {
    let server = TestServer::start().await;
    let (mut sftp, extensions) = RawSftp::connect(&server).await;
    for (name, version) in [
        ("posix-rename@openssh.com", "1"),
        ("statvfs@openssh.com", "2"),
        ("limits@openssh.com", "1"),
    ] {
        assert!(
            extensions.contains(&(name.to_owned(), version.to_owned())),
            "{name} missing from {extensions:?}"
        );
    }
    assert!(
        !extensions
            .iter()
            .any(|(name, _)| name == "fsync@openssh.com")
    );

    let limits = sftp.call(&ext(1, "limits@openssh.com").body()).await;
    let mut f = Fields(&limits);
    assert_eq!((f.u8(), f.u32()), (fxp::EXTENDED_REPLY, 1));
    assert_eq!((f.u64(), f.u64(), f.u64()), (262_144, 261_120, 261_120));
    assert!(f.u64() > 0);

    let statvfs = sftp
        .call(&ext(2, "statvfs@openssh.com").str("/").body())
        .await;
    let mut f = Fields(&statvfs);
    assert_eq!((f.u8(), f.u32()), (fxp::EXTENDED_REPLY, 2));
    let fields: Vec<u64> = (0..11).map(|_| f.u64()).collect();
    assert_eq!(
        fields,
        [
            4096, 4096, 1_000_000, 500_000, 400_000, 1000, 900, 800, 7, 0, 255
        ]
    );

    let expanded = sftp
        .call(&ext(3, "expand-path@openssh.com").str("~/x/../y").body())
        .await;
    let mut f = Fields(&expanded);
    assert_eq!((f.u8(), f.u32(), f.u32()), (fxp::NAME, 3, 1));
    assert_eq!(f.string(), "/y");
    sftp.finish().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_status_and_the_session_stays_usable() {
    let server = TestServer::start().await;
    let (mut sftp, _) = RawSftp::connect(&server).await;

    // A STAT whose path string claims more bytes than the packet holds.
    let malformed = Packet::new(fxp::STAT).u32(10).u32(500).body();
    assert_eq!(
        status(&sftp.call(&malformed).await).pair(),
        (10, fxp::BAD_MESSAGE)
    );

    let unknown_ext = ext(11, "nope@example.com").body();
    assert_eq!(
        status(&sftp.call(&unknown_ext).await).pair(),
        (11, fxp::OP_UNSUPPORTED)
    );
    let unknown_kind = Packet::new(99).u32(12).body();
    assert_eq!(
        status(&sftp.call(&unknown_kind).await).pair(),
        (12, fxp::OP_UNSUPPORTED)
    );

    // Too short to carry a request id: nothing to answer, nothing broken.
    sftp.send(&[fxp::STAT, 0]).await;

    let bad_handle = Packet::new(fxp::READ)
        .u32(13)
        .str("nope")
        .u64(0)
        .u32(10)
        .body();
    let (id, code, message) = status(&sftp.call(&bad_handle).await);
    assert_eq!(
        (id, code, message.as_str()),
        (13, fxp::FAILURE, "invalid handle")
    );

    let missing = Packet::new(fxp::STAT).u32(14).str("/missing").body();
    assert_eq!(
        status(&sftp.call(&missing).await).pair(),
        (14, fxp::NO_SUCH_FILE)
    );
    let denied = Packet::new(fxp::STAT).u32(15).str("/forbidden/x").body();
    assert_eq!(
        status(&sftp.call(&denied).await).pair(),
        (15, fxp::PERMISSION_DENIED)
    );

    let root = Packet::new(fxp::STAT).u32(16).str("/").body();
    assert_eq!(sftp.call(&root).await[0], fxp::ATTRS);
    sftp.finish().await;
    server.stop().await;
}

trait Pair {
    fn pair(&self) -> (u32, u32);
}

impl Pair for (u32, u32, String) {
    fn pair(&self) -> (u32, u32) {
        (self.0, self.1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_symlink_readlink_and_eof() {
    let server = TestServer::start().await;
    fs::write(server.remote("a"), "a").unwrap();
    fs::write(server.remote("b"), "b").unwrap();
    let (mut sftp, _) = RawSftp::connect(&server).await;

    let rename = Packet::new(fxp::RENAME).u32(1).str("/a").str("/b").body();
    assert_eq!(status(&sftp.call(&rename).await).pair(), (1, fxp::FAILURE));
    assert_eq!(
        fs::read(server.remote("b")).unwrap(),
        b"b",
        "plain RENAME must not replace"
    );
    let posix = ext(2, "posix-rename@openssh.com")
        .str("/a")
        .str("/b")
        .body();
    assert_eq!(status(&sftp.call(&posix).await).pair(), (2, fxp::OK));
    assert_eq!(fs::read(server.remote("b")).unwrap(), b"a");

    // OpenSSH order: target first, then the link to create.
    let symlink = Packet::new(fxp::SYMLINK).u32(3).str("b").str("/l").body();
    assert_eq!(status(&sftp.call(&symlink).await).pair(), (3, fxp::OK));
    let readlink = sftp
        .call(&Packet::new(fxp::READLINK).u32(4).str("/l").body())
        .await;
    let mut f = Fields(&readlink);
    assert_eq!((f.u8(), f.u32(), f.u32()), (fxp::NAME, 4, 1));
    assert_eq!(f.string(), "b");

    let handle = sftp.open(5, "/b", fxp::READ_FLAG).await;
    let read = |id, offset| {
        Packet::new(fxp::READ)
            .u32(id)
            .str(&handle)
            .u64(offset)
            .u32(100)
    };
    let data = sftp.call(&read(6, 0).body()).await;
    let mut f = Fields(&data);
    assert_eq!((f.u8(), f.u32(), f.bytes()), (fxp::DATA, 6, b"a".to_vec()));
    assert_eq!(
        status(&sftp.call(&read(7, 1).body()).await).pair(),
        (7, fxp::EOF)
    );
    let close = Packet::new(fxp::CLOSE).u32(8).str(&handle).body();
    assert_eq!(status(&sftp.call(&close).await).pair(), (8, fxp::OK));
    let again = Packet::new(fxp::CLOSE).u32(9).str(&handle).body();
    assert_eq!(status(&sftp.call(&again).await).pair(), (9, fxp::FAILURE));
    assert_eq!(server.record.handles_closed.load(Ordering::SeqCst), 1);
    sftp.finish().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readdir_ends_with_eof_and_names_have_long_names() {
    let server = TestServer::start().await;
    fs::create_dir(server.remote("d")).unwrap();
    for i in 0..250 {
        fs::write(server.remote(&format!("d/{i}")), "x").unwrap();
    }
    let (mut sftp, _) = RawSftp::connect(&server).await;
    let open = sftp
        .call(&Packet::new(fxp::OPENDIR).u32(1).str("/d").body())
        .await;
    let mut f = Fields(&open);
    assert_eq!((f.u8(), f.u32()), (fxp::HANDLE, 1));
    let handle = f.bytes();
    let mut seen = 0;
    for id in 2.. {
        let reply = sftp
            .call(&Packet::new(fxp::READDIR).u32(id).str(&handle).body())
            .await;
        if reply[0] == fxp::STATUS {
            assert_eq!(status(&reply).pair(), (id, fxp::EOF));
            break;
        }
        let mut f = Fields(&reply);
        assert_eq!((f.u8(), f.u32()), (fxp::NAME, id));
        let count = f.u32();
        assert!(count <= 100);
        let (name, long) = (f.string(), f.string());
        assert!(long.starts_with("-rw") && long.ends_with(&name), "{long}");
        seen += count;
    }
    assert_eq!(seen, 250);
    sftp.finish().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_upload_is_dropped_not_closed() {
    let server = TestServer::start().await;
    let (mut sftp, _) = RawSftp::connect(&server).await;
    let flags = fxp::WRITE_FLAG | fxp::CREATE_FLAG | fxp::TRUNCATE_FLAG;
    let handle = sftp.open(1, "/partial", flags).await;
    let write = Packet::new(fxp::WRITE)
        .u32(2)
        .str(&handle)
        .u64(0)
        .str(b"half")
        .body();
    assert_eq!(status(&sftp.call(&write).await).pair(), (2, fxp::OK));
    sftp.kill().await;
    let record = server.record.clone();
    eventually("the session to end", || {
        record.sessions_ended.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(record.handles_dropped_unclosed.load(Ordering::SeqCst), 1);
    assert_eq!(record.handles_closed.load(Ordering::SeqCst), 0);
    server.stop().await;
}

/// EOF right behind a pipeline of requests: every request is still done
/// and answered, in order per handle, before the channel closes with exit
/// status 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_sent_before_eof_are_all_answered() {
    let server = TestServer::start().await;
    let (mut sftp, _) = RawSftp::connect(&server).await;
    let flags = fxp::WRITE_FLAG | fxp::CREATE_FLAG | fxp::TRUNCATE_FLAG;
    let handle = sftp.open(1, "/piped", flags).await;
    let chunk = vec![7u8; 40 * 1024];
    let mut pipeline = Vec::new();
    for i in 0..20u32 {
        let write = Packet::new(fxp::WRITE)
            .u32(10 + i)
            .str(&handle)
            .u64(u64::from(i) * chunk.len() as u64)
            .str(&chunk);
        pipeline.extend_from_slice(&framed(&write.body()));
    }
    pipeline.extend_from_slice(&framed(
        &Packet::new(fxp::CLOSE).u32(30).str(&handle).body(),
    ));
    // One write, so the requests and the EOF reach the server together.
    sftp.send_raw(&pipeline).await;
    let (replies, exit) = sftp.drain_after_eof().await;

    let answered: Vec<(u32, u32)> = replies.iter().map(|r| status(r).pair()).collect();
    let expected: Vec<(u32, u32)> = (10..=30).map(|id| (id, fxp::OK)).collect();
    assert_eq!(answered, expected);
    assert_eq!(exit, Some(0));
    let written = fs::read(server.remote("piped")).unwrap();
    assert_eq!(written.len(), 20 * chunk.len());
    assert!(written.iter().all(|b| *b == 7));
    assert_eq!(server.record.handles_closed.load(Ordering::SeqCst), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_packet_closes_the_session() {
    let server = TestServer::start().await;
    let (mut sftp, _) = RawSftp::connect(&server).await;
    sftp.send_raw(&(4 * 1024 * 1024u32).to_be_bytes()).await;
    sftp.send_raw(&[fxp::WRITE; 64]).await;
    assert_eq!(
        sftp.recv().await,
        None,
        "the server should close the channel"
    );
    // The server itself is fine.
    let (mut again, _) = RawSftp::connect(&server).await;
    let root = Packet::new(fxp::STAT).u32(1).str("/").body();
    assert_eq!(again.call(&root).await[0], fxp::ATTRS);
    again.finish().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_before_init_closes_the_session() {
    let server = TestServer::start().await;
    let mut sftp = RawSftp::connect_uninitialised(&server).await;
    sftp.send(&Packet::new(fxp::STAT).u32(1).str("/").body())
        .await;
    assert_eq!(sftp.recv().await, None, "the server answered before INIT");
    server.stop().await;
}

/// A client that piles up requests without reading replies gets FAILURE
/// past the budget, and the session still works once it reads again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_budget_are_refused_not_queued() {
    let server = TestServer::start_with(|s| {
        s.max_requests_in_flight = 64;
        s.max_bytes_in_flight = 8 * 1024 * 1024;
    })
    .await;
    common::random_file(&server.remote("big"), 4 * 1024 * 1024, 3);
    let (mut sftp, _) = RawSftp::connect(&server).await;
    let handle = sftp.open(1, "/big", fxp::READ_FLAG).await;
    let total = 120u32;
    let mut burst = Vec::new();
    for id in 0..total {
        let offset = u64::from(id % 16) * 261_120;
        let read = Packet::new(fxp::READ)
            .u32(100 + id)
            .str(&handle)
            .u64(offset)
            .u32(261_120);
        let body = read.body();
        burst.extend_from_slice(&(body.len() as u32).to_be_bytes());
        burst.extend_from_slice(&body);
    }
    sftp.send_raw(&burst).await;
    let (mut data, mut refused) = (0, 0);
    for _ in 0..total {
        let reply = sftp.recv().await.expect("every request is answered");
        match reply[0] {
            fxp::DATA => data += 1,
            fxp::STATUS => {
                let (_, code, message) = status(&reply);
                assert_eq!(
                    (code, message.as_str()),
                    (fxp::FAILURE, "too many outstanding requests")
                );
                refused += 1;
            }
            other => panic!("unexpected reply type {other}"),
        }
    }
    assert!(refused > 0 && data >= 30, "data {data}, refused {refused}");
    let root = Packet::new(fxp::STAT).u32(1).str("/").body();
    assert_eq!(sftp.call(&root).await[0], fxp::ATTRS);
    sftp.finish().await;
    server.stop().await;
}

/// Reads queued behind a full client window wait for read room instead of
/// piling up file data in the server: while the client reads nothing, the
/// server has read no more than the window, russh's queue and its room
/// (a quarter of what was asked); once the client
/// drains, every read is answered with its data, none with FAILURE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_behind_a_full_window_wait_for_room() {
    const READ: usize = 261_120;
    const READS: usize = 96;
    // OpenSSH's client opens a 2 MiB window; the pipe to the test and the
    // reply the writer is sending add less than two reads to it.
    const CLIENT_WINDOW: usize = 2 * 1024 * 1024;
    // russh's session queue holds ten messages of at most one read each,
    // and one more it has taken but cannot send yet.
    const RUSSH_QUEUE: usize = 11 * READ;
    let room = 4 * READ;
    let server = TestServer::start_with(|s| s.max_reply_bytes = room).await;
    common::random_file(&server.remote("big"), READS * READ, 5);
    let contents = fs::read(server.remote("big")).unwrap();
    let (mut sftp, _) = RawSftp::connect(&server).await;
    let handle = sftp.open(1, "/big", fxp::READ_FLAG).await;
    let mut burst = Vec::new();
    for k in 0..READS {
        let read = Packet::new(fxp::READ)
            .u32(100 + k as u32)
            .str(&handle)
            .u64((k * READ) as u64)
            .u32(READ as u32);
        let body = read.body();
        burst.extend_from_slice(&(body.len() as u32).to_be_bytes());
        burst.extend_from_slice(&body);
    }
    sftp.send_raw(&burst).await;

    let read = || server.record.bytes_read.load(Ordering::SeqCst);
    eventually("the server fills the client's window", || {
        read() >= CLIENT_WINDOW
    })
    .await;
    let bound = CLIENT_WINDOW + RUSSH_QUEUE + room + 2 * READ;
    for _ in 0..20 {
        assert!(
            read() <= bound,
            "read {} bytes ahead, bound {bound}",
            read()
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }

    for k in 0..READS {
        let reply = sftp.recv().await.expect("every read is answered");
        let mut f = Fields(&reply);
        assert_eq!(f.u8(), fxp::DATA, "read {k}: {:?}", status(&reply));
        assert_eq!(f.u32(), 100 + k as u32);
        assert!(f.bytes() == contents[k * READ..(k + 1) * READ], "read {k}");
    }
    assert_eq!(read(), READS * READ);
    sftp.finish().await;
    server.stop().await;
}

/// A client that keeps sending past twice the request cap while its replies
/// cannot leave is disconnected instead of growing the reply queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_is_disconnected() {
    let server = TestServer::start_with(|s| s.max_requests_in_flight = 16).await;
    common::random_file(&server.remote("big"), 4 * 1024 * 1024, 4);
    let (mut sftp, _) = RawSftp::connect(&server).await;
    let handle = sftp.open(1, "/big", fxp::READ_FLAG).await;
    let mut burst = Vec::new();
    for id in 0..400u32 {
        let read = Packet::new(fxp::READ)
            .u32(10 + id)
            .str(&handle)
            .u64(0)
            .u32(261_120);
        let body = read.body();
        burst.extend_from_slice(&(body.len() as u32).to_be_bytes());
        burst.extend_from_slice(&body);
    }
    sftp.send_raw(&burst).await;
    let mut replies = 0;
    while sftp.recv().await.is_some() {
        replies += 1;
    }
    assert!(replies < 400, "the session should have been closed");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_disconnects_clients_and_returns() {
    let server = TestServer::start().await;
    let (mut sftp, _) = RawSftp::connect(&server).await;
    let record = server.record.clone();
    server.stop().await;
    assert_eq!(sftp.recv().await, None);
    eventually("the session to end", || {
        record.sessions_ended.load(Ordering::SeqCst) == 1
    })
    .await;
}
