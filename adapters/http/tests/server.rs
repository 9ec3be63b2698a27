//! The API served on a real loopback listener: the client address reaching
//! the ports is the real peer, chunked bodies are capped, shutdown works.

mod support;

use ferry_http::{HttpSettings, serve};
use std::sync::Arc;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

struct Running {
    addr: std::net::SocketAddr,
    sessions: Arc<FakeSessions>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start() -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sessions = Arc::new(FakeSessions::default());
    let users = Arc::new(FakeUsers::default());
    sessions.grant("all", vec![ferry_domain::AdminPermission::All]);
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let services = services(&sessions, &users);
    let task = tokio::spawn(serve(listener, services, HttpSettings::default(), shutdown));
    Running {
        addr,
        sessions,
        stop,
        task,
    }
}

/// Sends `request` bytes on a fresh connection and reads the reply until the
/// server closes (every request says `Connection: close`). Returns the reply
/// and the client's own address. A server that answers before reading the
/// whole body may reset the connection, so write and read errors only end
/// the exchange; the caller checks what arrived.
async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> (String, std::net::SocketAddr) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let local = stream.local_addr().unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let request = request.to_vec();
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });
    let mut reply = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n @ 1..) = reader.read(&mut buf).await {
        reply.extend_from_slice(&buf[..n]);
    }
    drop(writing.await);
    (String::from_utf8_lossy(&reply).into_owned(), local)
}

#[tokio::test]
async fn the_ports_see_the_real_client_address() {
    let server = start().await;
    let (reply, local) = exchange(
        server.addr,
        b"GET /api/v2/token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cm9vdDpzZWNyZXQ=\r\n\
          Connection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"access_token\""), "{reply}");

    let (reply, local2) = exchange(
        server.addr,
        b"GET /api/v2/version HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer all\r\n\
          Connection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert_eq!(*server.sessions.peers.lock().unwrap(), vec![local, local2]);
    assert_ne!(local.port(), local2.port());

    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn healthz_and_chunked_bodies_over_the_cap() {
    let server = start().await;
    let (reply, _) = exchange(
        server.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("ok"), "{reply}");

    // 2 MiB in 64 KiB chunks, with no Content-Length to check up front.
    let mut request = b"POST /api/v2/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer all\r\n\
        Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        .to_vec();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..32 {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let (reply, _) = exchange(server.addr, &request).await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains("\"error\":\"Payload Too Large\""), "{reply}");

    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn malformed_requests_get_400_and_the_server_goes_on() {
    let server = start().await;
    let garbage: [&[u8]; 3] = [
        b"GARBAGE\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
    ];
    for request in garbage {
        let (reply, _) = exchange(server.addr, request).await;
        assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    }
    let (reply, _) = exchange(
        server.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");

    // A client that connects and says nothing does not hold the shutdown.
    let silent = TcpStream::connect(server.addr).await.unwrap();
    server.stop.send(()).unwrap();
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(5), server.task).await;
    stopped
        .expect("a silent client held the shutdown")
        .unwrap()
        .unwrap();
    drop(silent);
}
