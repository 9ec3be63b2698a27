#!/usr/bin/env python3
"""Ferry against OpenSSH's sshd, and Ferry on S3 against a direct S3 client.

The SFTP sides are driven by the same OpenSSH sftp client.

bench/run builds Ferry and ferry-s3-bench and starts this with their paths.
For the SFTP rows both servers serve the same files from homes in one
temporary directory. For the S3 rows Ferry serves a user whose home is a
bucket on a local s3s-fs server (ferry-s3-bench serve), and the reference
is `ferry-s3-bench put`/`get` moving the same file to and from the same
server, shaped as Ferry shapes its requests. Every row runs A B A B (Ferry
first), every transferred file is checked with sha256, and the report gives
medians. Everything started here binds 127.0.0.1 and is ended by its
PID when the benchmark ends, however it ends.

A row is one `Row(...)` entry in `rows()`: a key, a label, the bytes it moves
(for MB/s), a `prepare(side, run)` function returning the client processes
to run at once and how to check and clean up after them, and which pair of
sides it compares (Ferry and sshd, or Ferry on S3 and the direct client).
"""

import argparse
import getpass
import hashlib
import http.client
import json
import os
import queue
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from base64 import b64encode
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
CLK_TCK = os.sysconf("SC_CLK_TCK")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
SSHD = "/usr/sbin/sshd"
AES = "aes128-gcm@openssh.com"
CHACHA = "chacha20-poly1305@openssh.com"
BENCH_USER = "bench"
ADMIN = ("admin", "bench-admin-secret")

# Product targets: minimum ratio sshd time / Ferry time, per row key.
RATIO_TARGETS = {
    "up-aes": 1.6,
    "down-aes": 1.3,
    "up-chacha": 1.4,
    "down-chacha": 1.1,
    "par-up": 2.5,
    "par-down": 1.7,
    "small-up": 1.2,
    "small-down": 1.2,
    "s3-up": 0.8,
    "s3-down": 0.8,
}
# Most Ferry's RSS may grow over its RSS before a run (its peak minus that).
RSS_GROWTH_TARGETS = {
    "s3-up": 64 * MIB,
}
IDLE_RSS_TARGET = 100 * MIB
START_TARGET_S = 0.150

# The S3 server's bucket and test credentials (ferry-test-servers' S3_BUCKET,
# S3_ACCESS_KEY, S3_SECRET), and the S3 user's place in the bucket.
S3_BUCKET = "test"
S3_ACCESS_KEY = "ferry-test-key"
S3_SECRET = "ferry-test-secret-0123456789"
S3_USER = "bench-s3"
# The S3 user's home is the bucket's root: under a key prefix, Ferry keeps a
# `<prefix>/` marker object, which s3s-fs (keys as files) cannot hold. The
# direct client's uploads go under DIRECT_PREFIX, apart from Ferry's.
DIRECT_PREFIX = "direct"
# Ferry's transfer shape for an S3 user who sets none (TransferOptions::default
# in adapters/storage/src/object/mod.rs), which the direct client copies.
S3_PART_SIZE = 5 * MIB
S3_UPLOAD_CONCURRENCY = 2
S3_BLOCK_SIZE = 4 * MIB
S3_READ_AHEAD = 2


class BenchError(Exception):
    """A failure that ends the benchmark with this message."""


def say(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Sizes:
    big: int
    par_count: int
    par_size: int
    small_count: int
    small_size: int
    listing: int
    idle: int
    starts: int
    client_timeout: float
    # The file of the S3 rows: over one part, so that uploads are multipart.
    s3_big: int


FULL = Sizes(GIB, 16, 64 * MIB, 2000, 4 * KIB, 10_000, 500, 7, 900, GIB)
SMOKE = Sizes(4 * MIB, 2, 1 * MIB, 50, 4 * KIB, 200, 20, 3, 60, 12 * MIB)


# ---------------------------------------------------------------- processes


class Processes:
    """Every process the benchmark starts, each in its own process group, so
    that it and the children it forks (ssh under sftp) end by its PID.

    Servers get a session of their own; clients stay in the benchmark's. With
    the scheduler's autogroups (kernel.sched_autogroup_enabled) every session
    gets an equal share of a busy CPU, so a session per client would starve a
    one-process server behind 16 parallel clients."""

    def __init__(self):
        self.live = {}

    def spawn(self, args, server=False, **kw):
        if server:
            kw["start_new_session"] = True
        else:
            kw["process_group"] = 0
        proc = subprocess.Popen(args, **kw)
        self.live[proc.pid] = proc
        return proc

    def stop(self, proc, sig=signal.SIGTERM, grace=10.0):
        if proc.poll() is None:
            _signal_group(proc, sig)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(5)
        self.live.pop(proc.pid, None)

    def forget(self, proc):
        self.live.pop(proc.pid, None)

    def stop_all(self):
        for proc in list(self.live.values()):
            try:
                self.stop(proc, grace=3.0)
            except (OSError, subprocess.TimeoutExpired) as e:
                say(f"could not stop PID {proc.pid}: {e}")


def _signal_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def wait_all(procs, timeout):
    """Waits for every process; returns the monotonic time the last one
    ended. pidfds make the end time exact rather than polled."""
    fds = {os.pidfd_open(p.pid): p for p in procs}
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    try:
        while fds:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"a client ran longer than {timeout:.0f} s")
            ready, _, _ = select.select(list(fds), [], [], left)
            now = time.monotonic()
            for fd in ready:
                fds.pop(fd).wait()
                os.close(fd)
                last = now
    finally:
        for fd in fds:
            os.close(fd)
    return last


# ------------------------------------------------------------- /proc reading


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid, children):
    """utime+stime of `pid`, plus the reaped children's when `children`."""
    fields = _stat_fields(pid)
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise BenchError(f"no {key} in /proc/{pid}/status")


def descendants(pid):
    """Every live process below `pid` (this kernel has no .../children file,
    so the parent links of all processes are read)."""
    kids = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(_stat_fields(entry)[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_pss_bytes(pid):
    return sum(pss_kib(p) for p in [pid, *descendants(pid)]) * KIB


class PeakSampler:
    """Samples `measure()` every 100 ms in a thread and keeps the largest."""

    def __init__(self, measure):
        self.measure = measure
        self.peak = 0
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop_event.is_set():
            try:
                self.peak = max(self.peak, self.measure())
            except OSError:
                pass
            self.stop_event.wait(0.1)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()


# ------------------------------------------------------------------ servers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path):
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )


class Ferry:
    """`ferry serve` on 127.0.0.1 port 0 with its own data dir."""

    name = "Ferry"

    def __init__(self, binary, root, procs):
        self.binary = binary
        self.root = root
        self.procs = procs
        self.data = root / "data"
        self.host_key = root / "host_ed25519"
        self.log_path = root / "ferry.log"
        self.user = BENCH_USER
        self.home = self.data / "users" / BENCH_USER
        self.proc = None
        self.port = self.http_port = 0
        root.mkdir()
        self.data.mkdir()
        keygen(self.host_key)

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
        env.update(
            FERRY_DATA_DIR=str(self.data),
            FERRY_SFTPD__BIND="127.0.0.1:0",
            FERRY_HTTPD__BIND="127.0.0.1:0",
            FERRY_SFTPD__HOST_KEYS=str(self.host_key),
            FERRY_DEFAULT_ADMIN__USERNAME=ADMIN[0],
            FERRY_DEFAULT_ADMIN__PASSWORD=ADMIN[1],
            # Cloud storage only on loopback, never with the environment's
            # credentials or a metadata address.
            FERRY_STORAGE__ALLOW_AMBIENT_CREDENTIALS="false",
            FERRY_STORAGE__ALLOWED_ENDPOINTS="127.0.0.1",
        )
        env.pop("RUST_LOG", None)
        return env

    def start(self):
        # Earlier starts wrote to the same log: read only what this one adds.
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.proc = self.procs.spawn(
                [str(self.binary), "serve"],
                server=True,
                cwd=self.root,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        ports = self._wait_listening(offset)
        self.port, self.http_port = ports["sftp"], ports["http"]
        deadline = time.monotonic() + 60
        while healthz(self.http_port) != 200:
            if time.monotonic() > deadline:
                raise BenchError("Ferry's /healthz never answered 200")
            time.sleep(0.02)

    def _wait_listening(self, seen):
        deadline = time.monotonic() + 60
        ports = {}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"Ferry exited at start: see {self.log_path}")
            with open(self.log_path, "rb") as f:
                f.seek(seen)
                text = f.read()
            complete = text[: text.rfind(b"\n") + 1]
            for line in complete.decode(errors="replace").splitlines():
                ports.update(parse_listening(line))
            seen += len(complete)
            if "sftp" in ports and "http" in ports:
                return ports
            time.sleep(0.02)
        raise BenchError("Ferry did not log its listening addresses within 60 s")

    def create_user(self, public_key):
        self._post_user(BENCH_USER, public_key)
        self.home.mkdir(parents=True, exist_ok=True)

    def create_s3_user(self, public_key, endpoint):
        """A user whose home is the bucket, with Ferry's default transfer
        shape (no part sizes given)."""
        s3config = {
            "bucket": S3_BUCKET,
            "region": "us-east-1",
            "endpoint": endpoint,
            "access_key": S3_ACCESS_KEY,
            "access_secret": {"status": "Plain", "payload": S3_SECRET},
            "force_path_style": True,
        }
        self._post_user(S3_USER, public_key, {"provider": 1, "s3config": s3config})

    def _post_user(self, name, public_key, filesystem=None):
        token = api(self.http_port, "GET", "/api/v2/token", basic=ADMIN)["access_token"]
        user = {
            "username": name,
            "status": 1,
            "public_keys": [public_key],
            "permissions": {"/": ["*"]},
        }
        if filesystem:
            user["filesystem"] = filesystem
        api(self.http_port, "POST", "/api/v2/users", token=token, body=user)

    def stop(self):
        self.procs.stop(self.proc)

    def cpu(self):
        return cpu_seconds(self.proc.pid, children=False)

    def reset_peak(self):
        """Resets VmHWM to the current RSS (writing 5 to clear_refs) and
        returns that RSS, the base of the run's growth."""
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")
        return self.memory_now()

    def sample(self):
        return tree_pss_bytes(self.proc.pid)

    def peak(self, _sampler):
        return status_kib(self.proc.pid, "VmHWM") * KIB

    def memory_now(self):
        return status_kib(self.proc.pid, "VmRSS") * KIB

    def settle(self):
        time.sleep(0.1)


class Sshd:
    """A private OpenSSH sshd: own config, host key and port, foreground."""

    name = "sshd"

    def __init__(self, root, procs, client_pub):
        self.root = root
        self.procs = procs
        self.user = getpass.getuser()
        self.home = root / "home"
        self.conf = root / "sshd_config"
        self.log_path = root / "sshd.log"
        self.port = free_port()
        self.proc = None
        root.mkdir()
        self.home.mkdir()
        keygen(root / "host_ed25519")
        (root / "authorized_keys").write_text(client_pub + "\n")
        self.conf.write_text(
            "\n".join(
                [
                    "ListenAddress 127.0.0.1",
                    f"Port {self.port}",
                    f"HostKey {root / 'host_ed25519'}",
                    "PidFile none",
                    f"AuthorizedKeysFile {root / 'authorized_keys'}",
                    # The keys and homes live under the world-writable /tmp
                    # (or /dev/shm), which StrictModes refuses.
                    "StrictModes no",
                    "UsePAM no",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    f"AllowUsers {self.user}",
                    "MaxStartups 100",
                    "UseDNS no",
                    "PrintMotd no",
                    "X11Forwarding no",
                    "AllowTcpForwarding no",
                    f"Subsystem sftp internal-sftp -d {self.home}",
                    "",
                ]
            )
        )

    def start(self):
        check = subprocess.run(
            [SSHD, "-t", "-f", str(self.conf)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise BenchError(f"sshd refuses its configuration: {check.stderr.strip()}")
        with open(self.log_path, "ab") as log:
            self.proc = self.procs.spawn(
                [SSHD, "-D", "-e", "-f", str(self.conf)],
                server=True,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise BenchError(f"sshd exited at start: see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"SSH-"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchError("sshd did not accept connections within 30 s")
            time.sleep(0.05)
        self.settle()

    def stop(self):
        # Session processes call setsid, so the group signal misses them.
        for pid in descendants(self.proc.pid):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        self.procs.stop(self.proc)

    def cpu(self):
        return cpu_seconds(self.proc.pid, children=True)

    def reset_peak(self):
        return None

    def sample(self):
        return tree_pss_bytes(self.proc.pid)

    def peak(self, sampler):
        return sampler.peak

    def memory_now(self):
        return tree_pss_bytes(self.proc.pid)

    def settle(self):
        """Waits until every session process ended and was reaped, so that
        the listener's cutime/cstime hold their CPU time."""
        deadline = time.monotonic() + 15
        while descendants(self.proc.pid):
            if time.monotonic() > deadline:
                raise BenchError("sshd session processes outlived their clients by 15 s")
            time.sleep(0.02)


class S3Store:
    """`ferry-s3-bench serve`: s3s-fs on 127.0.0.1:0 over a directory of its
    own, with the bucket S3_BUCKET; an object is the file at its key there."""

    def __init__(self, binary, root, procs):
        self.binary = binary
        self.root = root
        self.procs = procs
        self.data = root / "store"
        self.port_file = root / "port"
        self.log_path = root / "s3.log"
        self.proc = None
        self.endpoint = None
        root.mkdir()
        self.data.mkdir()

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = self.procs.spawn(
                [
                    str(self.binary), "serve",
                    "--root", str(self.data),
                    "--port-file", str(self.port_file),
                ],  # fmt: skip
                server=True,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while not self.port_file.exists():
            if self.proc.poll() is not None:
                raise BenchError(f"the S3 server exited at start: see {self.log_path}")
            if time.monotonic() > deadline:
                raise BenchError("the S3 server wrote no port within 60 s")
            time.sleep(0.02)
        self.endpoint = f"http://127.0.0.1:{int(self.port_file.read_text())}"

    def object_path(self, key):
        return self.data / S3_BUCKET / key

    def remove(self, key):
        self.object_path(key).unlink()

    def client_args(self, verb, key, local):
        """`ferry-s3-bench put|get` of `key`, shaped as Ferry's transfers."""
        if verb == "put":
            shape = ["--part-size", str(S3_PART_SIZE), "--concurrency", str(S3_UPLOAD_CONCURRENCY)]
        else:
            shape = ["--block-size", str(S3_BLOCK_SIZE), "--read-ahead", str(S3_READ_AHEAD)]
        return [
            str(self.binary), verb, "--endpoint", self.endpoint, "--key", key, "--file", str(local),
            *shape,
        ]  # fmt: skip

    def seed(self, local, key, expected):
        """Stores `local` at `key` and checks what landed."""
        done = subprocess.run(
            self.client_args("put", key, local),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            err = done.stderr.strip()[-2000:]
            raise BenchError(f"storing {key} in the S3 server failed: {err}")
        check_sha(self.object_path(key), expected, f"{key} stored in the S3 server")


class FerryS3:
    """Ferry serving the user whose home is the bucket: the Ferry side of
    the S3 rows, measured as Ferry is."""

    name = "Ferry"

    def __init__(self, ferry):
        self.ferry = ferry
        self.user = S3_USER

    @property
    def port(self):
        return self.ferry.port

    def key(self, name):
        return name

    def upload(self, bench, local, name):
        return bench.sftp(self, [f'put "{local}" {name}'])

    def download(self, bench, name, local):
        return bench.sftp(self, [f'get {name} "{local}"'])

    def settle(self):
        self.ferry.settle()

    def reset_peak(self):
        return self.ferry.reset_peak()

    def cpu(self):
        return self.ferry.cpu()

    def sample(self):
        return self.ferry.sample()

    def peak(self, sampler):
        return self.ferry.peak(sampler)


class Direct:
    """`ferry-s3-bench put|get` straight to the S3 server: the reference of
    the S3 rows. The S3 server serves both sides, so what is measured here
    is the client: its CPU (reaped children's rusage) and its own VmHWM,
    which it prints."""

    name = "direct"

    def __init__(self, store):
        self.store = store
        self.last = None

    def key(self, name):
        return f"{DIRECT_PREFIX}/{name}"

    def upload(self, bench, local, name):
        return self._client(bench, self.store.client_args("put", self.key(name), local))

    def download(self, bench, name, local):
        # The very object Ferry's user downloads.
        return self._client(bench, self.store.client_args("get", name, local))

    def _client(self, bench, args):
        self.last = Client(args, bench.next_path("out"), bench.next_path("err"))
        return self.last

    def settle(self):
        pass

    def reset_peak(self):
        return None

    def cpu(self):
        return children_cpu()

    def sample(self):
        return 0

    def peak(self, _sampler):
        try:
            return int(json.loads(self.last.out.read_text())["peak_rss"])
        except (OSError, ValueError, KeyError, TypeError):
            # A client that failed printed nothing; run_job reports it.
            return 0


def parse_listening(line):
    line = ANSI.sub("", line)
    if "listening" not in line:
        return {}
    service = re.search(r'service="?(\w+)', line)
    address = re.search(r'address="?127\.0\.0\.1:(\d+)', line)
    if service and address:
        return {service.group(1): int(address.group(1))}
    return {}


def healthz(port):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


def api(port, method, path, basic=None, token=None, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    if basic:
        req.add_header("Authorization", "Basic " + b64encode(":".join(basic).encode()).decode())
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, data, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        raise BenchError(f"{method} {path}: {e.code} {e.read().decode(errors='replace')}")


# --------------------------------------------------------------- the client


@dataclass
class Client:
    args: list
    out: Path
    err: Path


@dataclass
class Job:
    clients: list
    verify: Callable[[], None]
    cleanup: Callable[[], None] = lambda: None


class Bench:
    def __init__(self, args, sizes, tmp, procs):
        self.args = args
        self.sizes = sizes
        self.tmp = tmp
        self.procs = procs
        self.work = tmp / "client"
        self.work.mkdir()
        self.key = self.work / "id_ed25519"
        self.counter = 0

    def next_path(self, stem):
        self.counter += 1
        return self.work / f"{stem}-{self.counter}"

    def sftp(self, server, commands, cipher=AES):
        """One `sftp -b` session running `commands` against `server`."""
        batch = self.next_path("batch")
        batch.write_text("\n".join(commands) + "\n")
        args = ["sftp", "-b", str(batch), *self.ssh_options(server, cipher)]
        return Client(args, self.next_path("out"), self.next_path("err"))

    def ssh_options(self, server, cipher):
        return [
            "-F", "/dev/null",
            "-P", str(server.port),
            "-i", str(self.key),
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=30",
            "-o", f"Ciphers={cipher}",
            # The same key exchange on both: OpenSSH's default (sntrup761)
            # is not offered by Ferry.
            "-o", "KexAlgorithms=curve25519-sha256",
            f"{server.user}@127.0.0.1",
        ]  # fmt: skip

    def run_job(self, server, job):
        """Runs the job's clients at once; returns (wall s, server CPU s,
        peak bytes, growth of the peak over the RSS before, or None, client
        CPU s). Client CPU is that of every process the job started and
        reaped (each sftp with its ssh), the direct S3 client included."""
        server.settle()
        before = server.reset_peak()
        cpu0 = server.cpu()
        clients0 = children_cpu()
        procs = []
        with PeakSampler(server.sample) as sampler:
            start = time.monotonic()
            try:
                for c in job.clients:
                    with open(c.out, "wb") as out, open(c.err, "wb") as err:
                        procs.append(
                            self.procs.spawn(c.args, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
                        )
                end = wait_all(procs, self.sizes.client_timeout)
            finally:
                for p in procs:
                    self.procs.stop(p, grace=2)
        clients = children_cpu() - clients0
        server.settle()
        cpu = server.cpu() - cpu0
        peak = server.peak(sampler)
        for p, c in zip(procs, job.clients):
            if p.returncode != 0:
                err = c.err.read_text(errors="replace").strip()[-2000:]
                program = Path(c.args[0]).name
                raise BenchError(f"{program} for {server.name} exited {p.returncode}: {err}")
        job.verify()
        job.cleanup()
        for c in job.clients:
            for path in (c.out, c.err):
                path.unlink(missing_ok=True)
        growth = None if before is None else peak - before
        return end - start, cpu, peak, growth, clients


def children_cpu():
    """CPU seconds of every child process reaped so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MIB):
            h.update(chunk)
    return h.hexdigest()


def check_sha(path, expected, what):
    if not path.is_file():
        raise BenchError(f"CHECKSUM FAILURE: {what}: {path} is missing")
    got = sha256_file(path)
    if got != expected:
        raise BenchError(f"CHECKSUM FAILURE: {what}: {path} has sha256 {got}, expected {expected}")


def write_random(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 * MIB)
            f.write(os.urandom(n))
            left -= n


# --------------------------------------------------------------------- data


class Data:
    """The client-side source files and their checksums."""

    def __init__(self, bench):
        s = bench.sizes
        src = bench.work / "src"
        src.mkdir()
        self.big = src / "big.bin"
        self.par = src / "par.bin"
        self.small = src / "small"
        say(f"writing {s.big // MIB} MiB, {s.par_size // MIB} MiB and {s.small_count} small random files")
        write_random(self.big, s.big)
        write_random(self.par, s.par_size)
        self.small.mkdir()
        self.small_sums = {}
        for i in range(s.small_count):
            path = self.small / f"s{i:05d}.bin"
            write_random(path, s.small_size)
            self.small_sums[path.name] = sha256_file(path)
        self.big_sum = sha256_file(self.big)
        self.par_sum = sha256_file(self.par)
        self.s3_big, self.s3_big_sum = self.big, self.big_sum
        if s.s3_big != s.big:
            say(f"writing {s.s3_big // MIB} MiB for the S3 rows")
            self.s3_big = src / "s3-big.bin"
            write_random(self.s3_big, s.s3_big)
            self.s3_big_sum = sha256_file(self.s3_big)

    def place(self, home, sizes):
        """Puts the download sources and the listing directory in a home."""
        link_or_copy(self.big, home / "big.bin")
        for k in range(sizes.par_count):
            link_or_copy(self.par, home / f"par-{k}.bin")
        shutil.copytree(self.small, home / "small")
        listing = home / "listing"
        listing.mkdir()
        for i in range(sizes.listing):
            (listing / f"e{i:05d}").touch()

    def check_small(self, directory, what):
        names = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
        if names != sorted(self.small_sums):
            raise BenchError(f"CHECKSUM FAILURE: {what}: {directory} holds {len(names)} files, expected {len(self.small_sums)}")
        for name, expected in self.small_sums.items():
            check_sha(directory / name, expected, what)


def link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


# --------------------------------------------------------------------- rows


@dataclass
class Row:
    key: str
    label: str
    payload: int
    prepare: Callable
    # The sides compared: "sftp" (Ferry and sshd) or "s3" (Ferry on S3 and
    # the direct client).
    pair: str = "sftp"


# The reference side of each pair, as the report names it.
REFERENCES = {"sftp": "sshd", "s3": "direct"}


def rows(bench, data, store):
    s = bench.sizes
    size = fmt_size

    def upload(cipher):
        def prepare(server, run):
            name = f"up-{run}.bin"
            return Job(
                [bench.sftp(server, [f'put "{data.big}" {name}'], cipher)],
                lambda: check_sha(server.home / name, data.big_sum, f"upload to {server.name}"),
                lambda: (server.home / name).unlink(),
            )

        return prepare

    def download(cipher):
        def prepare(server, run):
            local = bench.next_path("down")
            return Job(
                [bench.sftp(server, [f'get big.bin "{local}"'], cipher)],
                lambda: check_sha(local, data.big_sum, f"download from {server.name}"),
                lambda: local.unlink(),
            )

        return prepare

    def par_upload(server, run):
        names = [f"pup-{run}-{k}.bin" for k in range(s.par_count)]
        clients = [bench.sftp(server, [f'put "{data.par}" {n}']) for n in names]

        def verify():
            for n in names:
                check_sha(server.home / n, data.par_sum, f"parallel upload to {server.name}")

        return Job(clients, verify, lambda: [(server.home / n).unlink() for n in names])

    def par_download(server, run):
        locals_ = [bench.next_path("pdown") for _ in range(s.par_count)]
        clients = [
            bench.sftp(server, [f'get par-{k}.bin "{local}"']) for k, local in enumerate(locals_)
        ]

        def verify():
            for local in locals_:
                check_sha(local, data.par_sum, f"parallel download from {server.name}")

        return Job(clients, verify, lambda: [p.unlink() for p in locals_])

    def small_upload(server, run):
        remote = f"sup-{run}"
        return Job(
            [bench.sftp(server, [f'put -r "{data.small}" {remote}'])],
            lambda: data.check_small(server.home / remote, f"small files to {server.name}"),
            lambda: shutil.rmtree(server.home / remote),
        )

    def small_download(server, run):
        local = bench.next_path("sdown")
        return Job(
            [bench.sftp(server, [f'get -r small "{local}"'])],
            lambda: data.check_small(local, f"small files from {server.name}"),
            lambda: shutil.rmtree(local),
        )

    def listing(server, run):
        client = bench.sftp(server, ["ls -l listing"])

        def verify():
            lines = client.out.read_text(errors="replace").splitlines()
            entries = sum(1 for line in lines if re.search(r"\be\d{5}$", line))
            if entries != s.listing:
                raise BenchError(f"ls -l on {server.name} listed {entries} entries, expected {s.listing}")

        return Job([client], verify)

    def s3_upload(side, run):
        name = f"s3up-{run}.bin"
        key = side.key(name)
        return Job(
            [side.upload(bench, data.s3_big, name)],
            lambda: check_sha(store.object_path(key), data.s3_big_sum, f"S3 upload by {side.name}"),
            lambda: store.remove(key),
        )

    def s3_download(side, run):
        local = bench.next_path("s3down")
        return Job(
            [side.download(bench, "big.bin", local)],
            lambda: check_sha(local, data.s3_big_sum, f"S3 download by {side.name}"),
            lambda: local.unlink(),
        )

    par = f"{s.par_count} x {size(s.par_size)}"
    small = f"{s.small_count} x {size(s.small_size)}"
    return [
        Row("up-aes", f"{size(s.big)} upload, aes128-gcm", s.big, upload(AES)),
        Row("down-aes", f"{size(s.big)} download, aes128-gcm", s.big, download(AES)),
        Row("up-chacha", f"{size(s.big)} upload, chacha20-poly1305", s.big, upload(CHACHA)),
        Row("down-chacha", f"{size(s.big)} download, chacha20-poly1305", s.big, download(CHACHA)),
        Row("par-up", f"{par} parallel uploads, aes128-gcm", s.par_count * s.par_size, par_upload),
        Row("par-down", f"{par} parallel downloads, aes128-gcm", s.par_count * s.par_size, par_download),
        Row("small-up", f"{small} files, put -r, aes128-gcm", s.small_count * s.small_size, small_upload),
        Row("small-down", f"{small} files, get -r, aes128-gcm", s.small_count * s.small_size, small_download),
        Row("listing", f"ls -l of {s.listing:,} entries, aes128-gcm", 0, listing),
        Row("s3-up", f"{size(s.s3_big)} upload to S3, aes128-gcm", s.s3_big, s3_upload, "s3"),
        Row("s3-down", f"{size(s.s3_big)} download from S3, aes128-gcm", s.s3_big, s3_download, "s3"),
    ]  # fmt: skip


def fmt_size(n):
    for unit, scale in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


# ------------------------------------------------------ idle sessions, start


def idle_sessions(bench, server, count):
    """Opens `count` sftp sessions that wait on a FIFO for commands; returns
    (memory before, memory with them open)."""
    fifo = bench.tmp / f"idle-{server.name}.fifo"
    os.mkfifo(fifo)
    # Held open for writing (O_RDWR never blocks) so that the clients wait;
    # closing it gives every client end of file, and it quits.
    writer = os.open(fifo, os.O_RDWR)
    before = server.memory_now()
    clients = []
    try:
        batch = 25
        for first in range(0, count, batch):
            group = []
            for _ in range(min(batch, count - first)):
                err = bench.next_path("idle-err")
                reader = os.open(fifo, os.O_RDONLY)
                with open(err, "wb") as errf:
                    proc = bench.procs.spawn(
                        ["sftp", *bench.ssh_options(server, AES)],
                        stdin=reader,
                        stdout=subprocess.DEVNULL,
                        stderr=errf,
                    )
                os.close(reader)
                group.append((proc, err))
            wait_connected(group, 60)
            clients += group
        time.sleep(1.0)
        during = server.memory_now()
    finally:
        os.close(writer)
        for proc, _ in clients:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
            bench.procs.stop(proc, grace=2)
        for _, err in clients:
            err.unlink(missing_ok=True)
        fifo.unlink()
    return before, during


def wait_connected(group, timeout):
    deadline = time.monotonic() + timeout
    pending = list(group)
    while pending:
        still = []
        for proc, err in pending:
            text = err.read_text(errors="replace")
            if "Connected to" in text:
                continue
            if proc.poll() is not None:
                raise BenchError(f"an idle sftp session quit: {text.strip()[-1000:]}")
            still.append((proc, err))
        pending = still
        if pending and time.monotonic() > deadline:
            raise BenchError(f"{len(pending)} idle sftp sessions did not connect within {timeout} s")
        time.sleep(0.05)


def time_to_healthy(ferry):
    """Starts `ferry serve` on its existing data dir; returns the seconds from
    spawn to the first 200 from /healthz, then stops it."""
    start = time.monotonic()
    proc = ferry.procs.spawn(
        [str(ferry.binary), "serve"],
        server=True,
        cwd=ferry.root,
        env=ferry.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line.decode(errors="replace"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        port = None
        deadline = start + 60
        while port is None:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise BenchError("Ferry logged no HTTP address within 60 s") from None
            if line is None:
                raise BenchError("Ferry exited before it logged its HTTP address")
            port = parse_listening(line).get("http")
        while healthz(port) != 200:
            if time.monotonic() > deadline:
                raise BenchError("Ferry's /healthz never answered 200")
            time.sleep(0.001)
        return time.monotonic() - start
    finally:
        ferry.procs.stop(proc)


# ------------------------------------------------------------------- report


@dataclass
class Cell:
    times: list = field(default_factory=list)
    cpus: list = field(default_factory=list)
    peaks: list = field(default_factory=list)
    # Peak minus the RSS before the run, where the side measures it (Ferry).
    growths: list = field(default_factory=list)
    client_cpus: list = field(default_factory=list)

    def add(self, wall, cpu, peak, growth, client_cpu):
        self.times.append(wall)
        self.cpus.append(cpu)
        self.peaks.append(peak)
        if growth is not None:
            self.growths.append(growth)
        self.client_cpus.append(client_cpu)


def fmt_time(seconds, payload):
    text = f"{seconds:.2f} s" if seconds >= 0.1 else f"{seconds * 1000:.0f} ms"
    if payload:
        text += f" ({payload / seconds / 1e6:.0f} MB/s)"
    return text


def fmt_target(key):
    parts = []
    if key in RATIO_TARGETS:
        parts.append(f">= {RATIO_TARGETS[key]}")
    if key in RSS_GROWTH_TARGETS:
        parts.append(f"RSS growth < {RSS_GROWTH_TARGETS[key] // MIB} MiB")
    return ", ".join(parts) or "-"


def report(table, row_list, runs, smoke, idle, starts):
    out = []
    out.append(
        f"Medians of {runs} run(s) per side; wall time of the whole client process "
        "(an sftp session, login included, or the direct S3 client); MB/s = 10^6 bytes/s."
    )
    out.append(
        "Reference: sshd (OpenSSH's, same sftp client) or direct (ferry-s3-bench put/get "
        "straight to the same S3 server, Ferry's part size and concurrency)."
    )
    out.append(
        "Ratio = reference time / Ferry time (> 1: Ferry faster). CPU = Ferry's and sshd's "
        "server CPU seconds, the direct client's own (median); clients' CPU = the sftp "
        "clients' (with their ssh) or the direct client's, in Ferry's run and in the "
        "reference's; peak = Ferry's VmHWM "
        "(largest run; + the largest growth over its RSS before a run), sshd's PSS, the "
        "direct client's VmHWM."
    )
    out.append("")
    out.append(
        "| row | Ferry median | reference | reference median "
        "| reference time / Ferry time (> 1: Ferry faster) | target | CPU Ferry "
        "| CPU reference | clients' CPU, Ferry run / reference run "
        "| peak RSS Ferry (+ growth) | peak reference |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    ratios = {}
    for row in row_list:
        f, r = table[row.key]["Ferry"], table[row.key]["reference"]
        ft, rt = statistics.median(f.times), statistics.median(r.times)
        ratios[row.key] = rt / ft
        growth = f" (+{max(f.growths) / MIB:.0f})" if f.growths else ""
        out.append(
            f"| {row.label} | {fmt_time(ft, row.payload)} | {REFERENCES[row.pair]} "
            f"| {fmt_time(rt, row.payload)} | {rt / ft:.2f} | {fmt_target(row.key)} "
            f"| {statistics.median(f.cpus):.2f} s | {statistics.median(r.cpus):.2f} s "
            f"| {statistics.median(f.client_cpus):.2f} s / {statistics.median(r.client_cpus):.2f} s "
            f"| {max(f.peaks) / MIB:.0f} MiB{growth} | {max(r.peaks) / MIB:.0f} MiB |"
        )
    out.append("")
    if idle:
        (fb, fd, n), sshd_idle = idle["Ferry"], idle.get("sshd")
        out.append(
            f"Idle sessions: Ferry RSS {fd / MIB:.1f} MiB with {n} idle SFTP sessions open "
            f"({fb / MIB:.1f} MiB before, {(fd - fb) / n / KIB:.0f} KiB per session)."
        )
        if sshd_idle:
            sb, sd, _ = sshd_idle
            out.append(
                f"sshd for reference: {sd / MIB:.1f} MiB PSS over the listener and its session "
                f"processes with the same {n} sessions ({sb / MIB:.1f} MiB before)."
            )
    if starts:
        out.append(
            f"Start to healthy: median {statistics.median(starts) * 1000:.0f} ms "
            f"(min {min(starts) * 1000:.0f}, max {max(starts) * 1000:.0f}) over {len(starts)} "
            "starts of `ferry serve` on an existing data dir."
        )
    out.append("")
    out.extend(targets(ratios, table, idle, starts, smoke, row_list))
    out.append("")
    out.append("Every run, seconds (Ferry | reference):")
    for row in row_list:
        f, r = table[row.key]["Ferry"], table[row.key]["reference"]
        out.append(
            f"  {row.key:12} {' '.join(f'{t:.2f}' for t in f.times)} | "
            f"{' '.join(f'{t:.2f}' for t in r.times)}"
        )
    return "\n".join(out)


def targets(ratios, table, idle, starts, smoke, row_list):
    if smoke:
        return ["Targets: not judged in --smoke mode (sizes too small to compare)."]
    lines, missed = ["Targets:"], 0
    for row in row_list:
        if row.key in RATIO_TARGETS:
            ok = ratios[row.key] >= RATIO_TARGETS[row.key]
            missed += not ok
            lines.append(
                f"  {'met   ' if ok else 'MISSED'} {row.label}: ratio {ratios[row.key]:.2f}, "
                f"target >= {RATIO_TARGETS[row.key]}"
            )
        if row.key in RSS_GROWTH_TARGETS:
            growth = max(table[row.key]["Ferry"].growths)
            limit = RSS_GROWTH_TARGETS[row.key]
            ok = growth < limit
            missed += not ok
            lines.append(
                f"  {'met   ' if ok else 'MISSED'} {row.label}: Ferry's RSS grew by up to "
                f"{growth / MIB:.1f} MiB over its RSS before the run, target < {limit // MIB} MiB"
            )
    if idle:
        _, during, n = idle["Ferry"]
        ok = during < IDLE_RSS_TARGET
        missed += not ok
        lines.append(
            f"  {'met   ' if ok else 'MISSED'} {n} idle sessions: {during / MIB:.1f} MiB, target < 100 MiB"
        )
    if starts:
        med = statistics.median(starts)
        ok = med < START_TARGET_S
        missed += not ok
        lines.append(
            f"  {'met   ' if ok else 'MISSED'} start to healthy: {med * 1000:.0f} ms, target < 150 ms"
        )
    lines.append(f"  {missed} target(s) missed")
    return lines


# --------------------------------------------------------------------- main


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ferry", required=True, type=Path, help="the ferry binary")
    p.add_argument("--s3-bench", required=True, type=Path, help="the ferry-s3-bench binary")
    p.add_argument("--smoke", action="store_true", help="small sizes, one run")
    p.add_argument("--runs", type=int, help="runs per side and row (default 5; 1 with --smoke)")
    p.add_argument("--rows", help="comma-separated row keys to run (default: all)")
    p.add_argument("--no-idle", action="store_true", help="skip the idle-sessions measure")
    p.add_argument("--no-start", action="store_true", help="skip the start-up measure")
    p.add_argument("--tmpdir", type=Path, help="where the temporary directory goes")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return p.parse_args()


def main():
    args = parse_args()
    sizes = SMOKE if args.smoke else FULL
    runs = args.runs or (1 if args.smoke else 5)
    if runs < 1:
        raise BenchError("--runs must be at least 1")
    for tool in ("sftp", "ssh-keygen", SSHD):
        if not shutil.which(tool):
            raise BenchError(f"{tool} is missing (Debian: apt-get install openssh-client openssh-server)")

    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="ferry-bench-", dir=args.tmpdir))

    def on_signal(signum, _frame):
        raise BenchError(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    failed = True
    try:
        run(args, sizes, runs, tmp, procs)
        failed = False
    finally:
        procs.stop_all()
        if args.keep:
            say(f"kept {tmp}")
        else:
            if failed:
                keep_logs(tmp)
            shutil.rmtree(tmp, ignore_errors=True)


def keep_logs(tmp):
    """Copies the servers' logs out of a failed run's directory, which holds
    gigabytes of data and is removed."""
    logs = sorted(tmp.glob("*/*.log"))
    if not logs:
        return
    kept = Path(tempfile.mkdtemp(prefix="ferry-bench-logs-"))
    for log in logs:
        shutil.copy2(log, kept / f"{log.parent.name}-{log.name}")
    say(f"the servers' logs of the failed run are in {kept}")


def run(args, sizes, runs, tmp, procs):
    say(f"working in {tmp}; {runs} run(s) per side and row")
    bench = Bench(args, sizes, tmp, procs)
    keygen(bench.key)
    public_key = Path(f"{bench.key}.pub").read_text().strip()
    data = Data(bench)

    ferry = Ferry(args.ferry.resolve(), tmp / "ferry", procs)
    ferry.start()
    ferry.create_user(public_key)
    sshd = Sshd(tmp / "sshd", procs, public_key)
    sshd.start()
    servers = [ferry, sshd]
    for server in servers:
        data.place(server.home, sizes)
        bench.run_job(server, Job([bench.sftp(server, ["ls"])], lambda: None))
    say(f"Ferry: sftp 127.0.0.1:{ferry.port}, http :{ferry.http_port}; sshd: 127.0.0.1:{sshd.port}")

    store = S3Store(args.s3_bench.resolve(), tmp / "s3", procs)
    row_list = rows(bench, data, store)
    if args.rows:
        wanted = args.rows.split(",")
        unknown = set(wanted) - {r.key for r in row_list}
        if unknown:
            raise BenchError(f"unknown rows {sorted(unknown)}; rows: {[r.key for r in row_list]}")
        row_list = [r for r in row_list if r.key in wanted]

    pairs = {"sftp": (ferry, sshd)}
    if any(r.pair == "s3" for r in row_list):
        store.start()
        ferry.create_s3_user(public_key, store.endpoint)
        store.seed(data.s3_big, "big.bin", data.s3_big_sum)
        pairs["s3"] = (FerryS3(ferry), Direct(store))
        say(f"S3 server: {store.endpoint}, bucket {S3_BUCKET}, Ferry's user {S3_USER}")

    table = {}
    fresh_for_s3 = False
    for row in row_list:
        if row.pair == "s3" and not fresh_for_s3:
            # Ferry's RSS before the S3 rows is that of a fresh process, so
            # that what earlier rows left in the allocator hides no growth.
            ferry.stop()
            ferry.start()
            fresh_for_s3 = True
        sides = pairs[row.pair]
        table[row.key] = {"Ferry": Cell(), "reference": Cell()}
        for i in range(runs):
            for side, cell in zip(sides, table[row.key].values()):
                wall, cpu, peak, growth, clients = bench.run_job(side, row.prepare(side, i))
                cell.add(wall, cpu, peak, growth, clients)
                grew = "" if growth is None else f" (+{growth / MIB:.0f})"
                say(f"{row.key} run {i + 1}/{runs} {side.name}: {fmt_time(wall, row.payload)}, "
                    f"CPU {cpu:.2f} s, clients' CPU {clients:.2f} s, "
                    f"peak {peak / MIB:.0f} MiB{grew}")  # fmt: skip

    starts = []
    if not args.no_start:
        ferry.stop()
        for i in range(sizes.starts):
            starts.append(time_to_healthy(ferry))
            say(f"start {i + 1}/{sizes.starts}: healthy after {starts[-1] * 1000:.0f} ms")
        ferry.start()

    idle = {}
    if not args.no_idle:
        if args.no_start:
            ferry.stop()
            ferry.start()
        # A fresh process, so earlier transfers' buffers do not count.
        bench.run_job(ferry, Job([bench.sftp(ferry, ["ls"])], lambda: None))
        for server in servers:
            before, during = idle_sessions(bench, server, sizes.idle)
            idle[server.name] = (before, during, sizes.idle)
            say(f"{sizes.idle} idle sessions on {server.name}: {during / MIB:.1f} MiB ({before / MIB:.1f} before)")

    print(report(table, row_list, runs, args.smoke, idle, starts))
    if any(r.key not in table for r in row_list):
        raise BenchError("internal: a row has no results")


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        sys.exit(1)
