//! External servers run as child processes that end with the test process.
//!
//! Each child is started by a thread of its own that lives as long as the
//! child, reading its output. The child asks the kernel for SIGKILL when
//! that thread ends (`PR_SET_PDEATHSIG`), and the thread only ends with the
//! process or the child, so no server outlives the tests that use it.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a server may take to print its port.
const STARTUP: Duration = Duration::from_secs(60);

/// What to start and how to learn its port.
pub(crate) struct Launch<'a> {
    /// For messages: "Azurite", "moto".
    pub(crate) name: &'a str,
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) cwd: &'a Path,
    /// Text just before the port in the line that announces it, e.g.
    /// `http://127.0.0.1:`.
    pub(crate) port_after: &'a str,
}

/// Starts the server and returns its port once it printed it, or the
/// output it printed before failing.
pub(crate) fn launch(launch: Launch<'_>) -> Result<u16, String> {
    let name = launch.name.to_owned();
    let (reader, writer) = std::io::pipe().map_err(|e| format!("{name}: a pipe: {e}"))?;
    let writer_too = writer
        .try_clone()
        .map_err(|e| format!("{name}: a pipe: {e}"))?;
    let mut command = Command::new(&launch.program);
    command
        .args(&launch.args)
        .current_dir(launch.cwd)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer_too);
    let parent = rustix::process::getpid();
    // SAFETY: the closure only makes two system calls, which is allowed
    // between fork and exec.
    unsafe {
        command.pre_exec(move || {
            use rustix::process::{Signal, getppid, set_parent_process_death_signal};
            set_parent_process_death_signal(Some(Signal::KILL))?;
            // The parent may have ended before the request took effect.
            if getppid() != Some(parent) {
                return Err(std::io::Error::other("the test process is gone"));
            }
            Ok(())
        });
    }
    let (found, port) = mpsc::channel();
    let marker = launch.port_after.to_owned();
    let program = launch.program.display().to_string();
    let keeper = std::thread::Builder::new()
        .name(format!("{name}-keeper"))
        .spawn(move || keep(command, reader, &name, &program, &marker, found));
    keeper.map_err(|e| format!("{}: a thread: {e}", launch.name))?;
    match port.recv_timeout(STARTUP) {
        Ok(result) => result,
        Err(_) => Err(format!(
            "{} printed no port within {} s",
            launch.name,
            STARTUP.as_secs()
        )),
    }
}

/// Runs on the keeper thread for as long as the child lives.
fn keep(
    mut command: Command,
    output: std::io::PipeReader,
    name: &str,
    program: &str,
    marker: &str,
    found: mpsc::Sender<Result<u16, String>>,
) {
    let child = command.spawn();
    // The child holds the pipe's writing ends now; ours must close, or the
    // output would never end.
    drop(command);
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            let _ = found.send(Err(format!("{name}: cannot start {program}: {error}")));
            return;
        }
    };
    // The last lines it printed, to show if it ends early.
    let mut seen = std::collections::VecDeque::new();
    let mut reported = false;
    for line in BufReader::new(output).lines() {
        let Ok(line) = line else { break };
        if !reported && let Some(port) = port_in(&line, marker) {
            let _ = found.send(Ok(port));
            reported = true;
        }
        if seen.len() == 40 {
            seen.pop_front();
        }
        seen.push_back(line);
    }
    let status = child.wait();
    let last: Vec<String> = seen.into();
    let message = format!(
        "{name} ended ({status:?}); it printed:\n{}",
        last.join("\n")
    );
    if reported {
        // The tests using it fail with connection errors: say why.
        eprintln!("{message}");
    } else {
        let _ = found.send(Err(message));
    }
}

/// The port that follows `marker` in `line`.
fn port_in(line: &str, marker: &str) -> Option<u16> {
    let (_, rest) = line.split_once(marker)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A program installed under `.tools/`, or the path an environment
/// variable names instead; the error says how to get it.
pub(crate) fn tool(name: &str, env: &str, relative: &str) -> Result<PathBuf, String> {
    let path = match std::env::var_os(env) {
        Some(path) => PathBuf::from(path),
        None => crate::tools_dir().join(relative),
    };
    if path.is_file() {
        return Ok(path);
    }
    Err(format!(
        "{name} is not installed at {}: run scripts/test, which installs it into .tools/, \
         or set {env} to its launcher",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::port_in;

    #[test]
    fn ports_are_read_from_announcements() {
        let line = "Azurite Blob service successfully listens on http://127.0.0.1:41237";
        assert_eq!(port_in(line, "http://127.0.0.1:"), Some(41237));
        assert_eq!(
            port_in(
                " * Running on http://127.0.0.1:5001 (Press CTRL+C)",
                "127.0.0.1:"
            ),
            Some(5001)
        );
        assert_eq!(port_in("nothing here", "127.0.0.1:"), None);
    }
}
