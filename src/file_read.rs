//! Neutral: reading a file the configuration names (config file, web config, client secret,
//! certificate and key, federated token, refresh token, state file) so that no file can stall the
//! exporter.
//!
//! - The file is opened with `O_NONBLOCK` (a FIFO would otherwise block in `open` itself), symlinks
//!   are followed (Kubernetes Secrets and projected tokens are symlinks), and the type is checked on
//!   the open descriptor: anything but a regular file (a FIFO, a device, a directory, a socket) is
//!   refused with one line naming the key and the file.
//! - At most `limit` bytes are read: a larger file is refused from its size, before it is read.
//! - The read runs on a thread of its own and is waited for at most [`DEADLINE`]: a hung network
//!   file system cannot stall the async runtime, the server, a reload or a command.
//! - A blocking read cannot be cancelled, so at most one read per file is outstanding. A read of a
//!   file already being read joins it (both get the same bytes); once that read is past its deadline,
//!   a new read fails at once until it returns, rather than adding one more hung thread.
//!
//! [`read`] is for async code (it waits on the blocking pool, never on a runtime worker);
//! [`read_blocking`] for sync code (the configuration loading, which async callers run with
//! `spawn_blocking`).

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a read may take before its caller gives up. A local file or a healthy network file
/// system answers in milliseconds; a hung mount never does. Short enough for `--check-config`,
/// `--once`, a reload or a token renewal to fail within seconds, long enough for a slow mount.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// The most a credential file (client secret, certificate chain, key, federated or refresh token)
/// may hold: far more than any of them needs.
pub const CREDENTIAL_LIMIT: u64 = 1 << 20;

/// Why a file was not read. Never holds any of the file's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// `open` or `read` failed.
    Io { kind: std::io::ErrorKind, message: String },
    /// Not a regular file: what it is instead ("a FIFO (named pipe)", "a directory", …).
    NotRegular(&'static str),
    /// Larger than the limit: its size when known from `fstat` (a file growing while it is read
    /// has none), and the limit.
    TooLarge { len: Option<u64>, limit: u64 },
    /// The read did not finish within its deadline.
    TimedOut(Duration),
    /// An earlier read of the file is past its deadline and has not returned for this long.
    Busy(Duration),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Io { message, .. } => f.write_str(message),
            Problem::NotRegular(kind) => {
                write!(f, "it is {kind}, not a regular file; only a regular file (or a symlink to one) is read")
            }
            Problem::TooLarge { len: Some(len), limit } => {
                write!(f, "{len} bytes, larger than the {} a file may have here", size(*limit))
            }
            Problem::TooLarge { len: None, limit } => {
                write!(f, "larger than the {} a file may have here (it grew while being read)", size(*limit))
            }
            Problem::TimedOut(d) => write!(
                f,
                "reading it did not finish within {} (a hung network file system or mount?); the read is abandoned",
                seconds(*d)
            ),
            Problem::Busy(d) => write!(
                f,
                "an earlier read of it has not returned for {} (a hung network file system or mount?); it is not \
                 read again until that read returns",
                seconds(*d)
            ),
        }
    }
}

fn size(limit: u64) -> String {
    if limit >= 1 << 20 && limit.is_multiple_of(1 << 20) {
        format!("{} MiB", limit >> 20)
    } else {
        format!("{limit} bytes")
    }
}

fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64().round().max(1.0))
}

/// A failed read: what the file is to the exporter (the key and the path, as the message names
/// them) and the problem. Displayed as one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// `client_secret_file /run/secrets/graph`, `config file /etc/exporter.toml`, …
    pub label: String,
    pub problem: Problem,
}

impl ReadError {
    /// The file does not exist (or a component of its path does not).
    pub fn is_not_found(&self) -> bool {
        matches!(self.problem, Problem::Io { kind: std::io::ErrorKind::NotFound, .. })
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            Problem::Io { message, .. } => write!(f, "cannot read {}: {message}", self.label),
            other => write!(f, "{}: {other}", self.label),
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads `path` off the async runtime; see the module documentation. `label` names the file in
/// errors, key first (`client_secret_file /run/secrets/graph`).
pub async fn read(path: &Path, label: impl Into<String>, limit: u64) -> Result<Vec<u8>, ReadError> {
    let label = label.into();
    read_async_with(path.to_path_buf(), limit, DEADLINE, READER.clone())
        .await
        .map_err(|problem| ReadError { label, problem })
}

/// Waits for [`read_with`] on the blocking pool (which it leaves within the deadline).
async fn read_async_with(path: PathBuf, limit: u64, deadline: Duration, reader: Reader) -> Result<Vec<u8>, Problem> {
    match tokio::task::spawn_blocking(move || read_with(&path, limit, deadline, &reader)).await {
        Ok(result) => result,
        Err(e) => Err(Problem::Io { kind: std::io::ErrorKind::Other, message: format!("the read was lost: {e}") }),
    }
}

/// [`read`] for sync code: blocks the calling thread for at most [`DEADLINE`].
pub fn read_blocking(path: &Path, label: impl Into<String>, limit: u64) -> Result<Vec<u8>, ReadError> {
    let label = label.into();
    read_with(path, limit, DEADLINE, &READER).map_err(|problem| ReadError { label, problem })
}

/// [`read`] of a UTF-8 text file.
pub async fn read_string(path: &Path, label: impl Into<String>, limit: u64) -> Result<String, ReadError> {
    let label = label.into();
    let bytes = read(path, label.clone(), limit).await?;
    utf8(bytes, label)
}

/// [`read_blocking`] of a UTF-8 text file.
pub fn read_string_blocking(path: &Path, label: impl Into<String>, limit: u64) -> Result<String, ReadError> {
    let label = label.into();
    let bytes = read_blocking(path, label.clone(), limit)?;
    utf8(bytes, label)
}

fn utf8(bytes: Vec<u8>, label: String) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|_| ReadError {
        label,
        problem: Problem::Io {
            kind: std::io::ErrorKind::InvalidData,
            message: "stream did not contain valid UTF-8".into(),
        },
    })
}

/// What reads a file on the reader thread: [`read_now`], or a stand-in in tests.
type Reader = Arc<dyn Fn(&Path, u64) -> Result<Vec<u8>, Problem> + Send + Sync>;

static READER: LazyLock<Reader> = LazyLock::new(|| Arc::new(read_now));

/// A file and the limit it is read with.
type Key = (PathBuf, u64);

/// The reads outstanding.
static FLIGHTS: LazyLock<Mutex<HashMap<Key, Arc<Flight>>>> = LazyLock::new(Default::default);

/// One read of a file, shared by every caller that asked for it while it ran.
struct Flight {
    started: Instant,
    deadline: Duration,
    outcome: Mutex<Option<Result<Arc<Vec<u8>>, Problem>>>,
    done: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts a read of `path` on a reader thread, or joins the one outstanding, and waits for it until
/// the flight's deadline.
fn read_with(path: &Path, limit: u64, deadline: Duration, reader: &Reader) -> Result<Vec<u8>, Problem> {
    let flight = start(path, limit, deadline, reader)?;
    let until = flight.started + flight.deadline;
    let mut outcome = lock(&flight.outcome);
    loop {
        if let Some(result) = outcome.as_ref() {
            return result.clone().map(|bytes| bytes.as_ref().clone());
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Problem::TimedOut(flight.deadline));
        }
        outcome = flight.done.wait_timeout(outcome, left).unwrap_or_else(|p| p.into_inner()).0;
    }
}

fn start(path: &Path, limit: u64, deadline: Duration, reader: &Reader) -> Result<Arc<Flight>, Problem> {
    let key = (path.to_path_buf(), limit);
    let mut flights = lock(&FLIGHTS);
    if let Some(flight) = flights.get(&key) {
        let age = flight.started.elapsed();
        if age >= flight.deadline {
            return Err(Problem::Busy(age));
        }
        return Ok(flight.clone());
    }
    let flight =
        Arc::new(Flight { started: Instant::now(), deadline, outcome: Mutex::new(None), done: Condvar::new() });
    let (theirs, reader, their_key) = (flight.clone(), reader.clone(), key.clone());
    let spawned = std::thread::Builder::new().name("file-read".into()).spawn(move || {
        let key = their_key;
        let result = reader(&key.0, limit).map(Arc::new);
        // Out of the map before the outcome is published: a read asked for after this one returned
        // reads the file again rather than getting these bytes.
        {
            let mut flights = lock(&FLIGHTS);
            if flights.get(&key).is_some_and(|f| Arc::ptr_eq(f, &theirs)) {
                flights.remove(&key);
            }
        }
        *lock(&theirs.outcome) = Some(result);
        theirs.done.notify_all();
    });
    if let Err(e) = spawned {
        return Err(Problem::Io { kind: e.kind(), message: format!("cannot start a thread to read it: {e}") });
    }
    flights.insert(key, flight.clone());
    Ok(flight)
}

/// The read itself: open without blocking, refuse what is not a regular file, read at most `limit`.
fn read_now(path: &Path, limit: u64) -> Result<Vec<u8>, Problem> {
    let io = |e: std::io::Error| Problem::Io { kind: e.kind(), message: e.to_string() };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = match options.open(path) {
        Ok(file) => file,
        // Opening a Unix socket fails (ENXIO); say what it is rather than "no such device".
        Err(e) => {
            return Err(match std::fs::metadata(path).ok().and_then(|m| not_regular(&m.file_type())) {
                Some(kind) => Problem::NotRegular(kind),
                None => io(e),
            });
        }
    };
    let meta = file.metadata().map_err(io)?;
    if let Some(kind) = not_regular(&meta.file_type()) {
        return Err(Problem::NotRegular(kind));
    }
    if meta.len() > limit {
        return Err(Problem::TooLarge { len: Some(meta.len()), limit });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(Problem::TooLarge { len: None, limit });
    }
    Ok(bytes)
}

/// What a file that is not regular is, for the message; `None` for a regular file.
fn not_regular(t: &std::fs::FileType) -> Option<&'static str> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_socket() {
            return Some("a socket");
        }
        if t.is_char_device() {
            return Some("a character device");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
    }
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else {
        Some("neither a regular file nor a directory")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    use super::*;

    const LIMIT: u64 = 1 << 20;

    fn refused(path: &Path) -> ReadError {
        read_blocking(path, format!("client_secret_file {}", path.display()), LIMIT).unwrap_err()
    }

    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
    }

    #[test]
    fn a_regular_file_and_a_symlink_to_one_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "value\n").unwrap();
        // Kubernetes mounts a Secret as a symlink to a symlinked directory of the data.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_blocking(&file, "f", LIMIT).unwrap(), b"value\n");
        assert_eq!(read_string_blocking(&link, "f", LIMIT).unwrap(), "value\n");
        // A read asked for after the previous one returned reads the file again (a rotated secret).
        for i in 0..200 {
            std::fs::write(&file, i.to_string()).unwrap();
            assert_eq!(read_string_blocking(&file, "f", LIMIT).unwrap(), i.to_string());
        }
    }

    #[test]
    fn a_fifo_is_refused_at_once_naming_the_key_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("secret");
        mkfifo(&fifo);
        let started = Instant::now();
        let err = refused(&fifo);
        assert!(started.elapsed() < DEADLINE, "a FIFO without a writer must not block");
        assert_eq!(err.problem, Problem::NotRegular("a FIFO (named pipe)"));
        assert_eq!(
            err.to_string(),
            format!(
                "client_secret_file {}: it is a FIFO (named pipe), not a regular file; only a regular file (or a \
                 symlink to one) is read",
                fifo.display()
            )
        );
        // Behind a symlink, too.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        assert_eq!(refused(&link).problem, Problem::NotRegular("a FIFO (named pipe)"));
    }

    #[test]
    fn a_directory_a_device_and_a_socket_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(refused(dir.path()).problem, Problem::NotRegular("a directory"));
        assert_eq!(refused(Path::new("/dev/null")).problem, Problem::NotRegular("a character device"));
        let socket = dir.path().join("socket");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        assert_eq!(refused(&socket).problem, Problem::NotRegular("a socket"));
    }

    #[test]
    fn a_missing_file_and_a_large_one_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let err = refused(&missing);
        assert!(err.is_not_found(), "{err}");
        assert!(err.to_string().starts_with(&format!("cannot read client_secret_file {}: ", missing.display())));
        let large = dir.path().join("large");
        std::fs::File::create(&large).unwrap().set_len(LIMIT + 1).unwrap();
        let err = refused(&large);
        assert_eq!(err.problem, Problem::TooLarge { len: Some(LIMIT + 1), limit: LIMIT });
        assert_eq!(
            err.to_string(),
            format!(
                "client_secret_file {}: 1048577 bytes, larger than the 1 MiB a file may have here",
                large.display()
            )
        );
    }

    #[tokio::test]
    async fn the_async_read_refuses_a_fifo_too() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("token");
        mkfifo(&fifo);
        let err = read_string(&fifo, "refresh_token_file", LIMIT).await.unwrap_err();
        assert_eq!(err.problem, Problem::NotRegular("a FIFO (named pipe)"));
        std::fs::remove_file(&fifo).unwrap();
        std::fs::write(&fifo, "token").unwrap();
        assert_eq!(read_string(&fifo, "refresh_token_file", LIMIT).await.unwrap(), "token");
    }

    /// A reader that blocks until the test releases it, counting its calls.
    fn hanging_reader() -> (Reader, mpsc::Sender<()>, mpsc::Receiver<()>, Arc<AtomicUsize>) {
        let (release, wait) = mpsc::channel::<()>();
        let (entered_tx, entered) = mpsc::channel::<()>();
        let (wait, entered_tx) = (Mutex::new(wait), Mutex::new(entered_tx));
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let reader: Reader = Arc::new(move |_: &Path, _| {
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = lock(&entered_tx).send(());
            let _ = lock(&wait).recv();
            Ok(b"late".to_vec())
        });
        (reader, release, entered, calls)
    }

    fn outstanding(path: &Path) -> Option<Arc<Flight>> {
        lock(&FLIGHTS).get(&(path.to_path_buf(), LIMIT)).cloned()
    }

    /// Polls `done` until it holds, for at most 30 s.
    fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let until = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < until, "{what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_read_that_never_returns_times_out_and_the_next_fails_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hung");
        let (reader, release, _entered, calls) = hanging_reader();
        let deadline = Duration::from_millis(200);
        let started = Instant::now();
        assert_eq!(read_with(&path, LIMIT, deadline, &reader), Err(Problem::TimedOut(deadline)));
        assert!(started.elapsed() >= deadline);
        // The hung read is still outstanding: a second read neither waits nor starts another thread.
        match read_with(&path, LIMIT, deadline, &reader) {
            Err(Problem::Busy(age)) => assert!(age >= deadline),
            other => panic!("expected Busy, got {other:?}"),
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let err =
            ReadError { label: format!("client_secret_file {}", path.display()), problem: Problem::Busy(deadline) };
        assert!(err.to_string().contains("an earlier read of it has not returned"), "{err}");
        // Once it returns, the file is read again.
        release.send(()).unwrap();
        eventually("the hung read's flight ends once it returns", || outstanding(&path).is_none());
        release.send(()).unwrap();
        assert_eq!(read_with(&path, LIMIT, deadline, &reader).unwrap(), b"late");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// The async read waits on the blocking pool: the runtime's only thread goes on with other tasks.
    #[tokio::test]
    async fn an_async_read_that_hangs_leaves_the_runtime_free() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hung-async");
        let (reader, release, _entered, _) = hanging_reader();
        let hung = tokio::spawn(read_async_with(path, LIMIT, Duration::from_secs(600), reader));
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        tokio::spawn(async {}).await.unwrap();
        assert!(!hung.is_finished(), "the read is still hanging");
        release.send(()).unwrap();
        assert_eq!(hung.await.unwrap().unwrap(), b"late");
    }

    /// The same with a real hung system call: a reader that opens a FIFO without `O_NONBLOCK`
    /// blocks in `open` until a writer comes.
    #[test]
    fn a_read_hung_in_open_is_abandoned_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("hung-open");
        mkfifo(&fifo);
        let reader: Reader = Arc::new(|path: &Path, _| {
            std::fs::read(path).map_err(|e| Problem::Io { kind: e.kind(), message: e.to_string() })
        });
        let deadline = Duration::from_millis(200);
        assert_eq!(read_with(&fifo, LIMIT, deadline, &reader), Err(Problem::TimedOut(deadline)));
        assert!(matches!(read_with(&fifo, LIMIT, deadline, &reader), Err(Problem::Busy(_))));
        // A writer releases the hung open (the reader then reads end-of-file); the file can be read again.
        drop(std::fs::OpenOptions::new().write(true).open(&fifo).unwrap());
        eventually("the hung open returns once a writer comes", || outstanding(&fifo).is_none());
        assert_eq!(read_blocking(&fifo, "f", LIMIT).unwrap_err().problem, Problem::NotRegular("a FIFO (named pipe)"));
    }

    #[test]
    fn concurrent_reads_of_one_file_share_one_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared");
        let (reader, release, entered, calls) = hanging_reader();
        let deadline = Duration::from_secs(600);
        let spawn = || {
            let (path, reader) = (path.clone(), reader.clone());
            std::thread::spawn(move || read_with(&path, LIMIT, deadline, &reader))
        };
        let first = spawn();
        entered.recv().unwrap();
        let second = spawn();
        // The map, the reader thread and the two callers hold the flight.
        eventually("the second read joins the first", || {
            outstanding(&path).is_some_and(|f| Arc::strong_count(&f) == 5)
        });
        release.send(()).unwrap();
        assert_eq!(first.join().unwrap().unwrap(), b"late");
        assert_eq!(second.join().unwrap().unwrap(), b"late");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
