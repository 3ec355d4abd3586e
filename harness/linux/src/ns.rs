//! A private network namespace held by one thread.
//!
//! The thread calls `unshare(CLONE_NEWNET)` and then runs, one at a time, the jobs it is sent:
//! everything that must happen *inside* the namespace (creating the TAP device and sockets,
//! running `ip`, writing `/proc/sys/net/...`, reading `/proc/thread-self/net/tcp`). Sockets and
//! the TAP file keep their namespace once created, so they are used from any thread after.
//!
//! Nothing is ever bind-mounted: the namespace lives exactly as long as this thread and the
//! descriptors created in it. Dropping the [`Namespace`] ends the thread; when the process
//! ends for any reason (error, panic, Ctrl-C, kill) the kernel removes the namespace and its
//! devices with it. Nothing can leak into the host's namespace.

use std::sync::mpsc;
use std::thread;

type Job = Box<dyn FnOnce() + Send>;

/// Why the namespace could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum NsError {
    #[error("unshare(CLONE_NEWNET): {0} (needs root or CAP_SYS_ADMIN)")]
    Unshare(nix::Error),
    #[error("the namespace thread is gone")]
    Gone,
    #[error("spawn the namespace thread: {0}")]
    Spawn(std::io::Error),
}

/// A network namespace and the thread that lives in it.
pub struct Namespace {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Namespace {
    /// Creates a new, empty network namespace (only `lo`, down).
    pub fn new() -> Result<Namespace, NsError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let thread = thread::Builder::new()
            .name("linux-netns".into())
            .spawn(move || {
                let r = private_net();
                let ok = r.is_ok();
                let _ = ready_tx.send(r);
                if ok {
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                }
            })
            .map_err(NsError::Spawn)?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Namespace {
                tx: Some(tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(NsError::Unshare(e))
            }
            Err(_) => Err(NsError::Gone),
        }
    }

    /// Runs `f` inside the namespace and returns its result.
    pub fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, NsError> {
        let (rtx, rrx) = mpsc::sync_channel(1);
        self.tx
            .as_ref()
            .ok_or(NsError::Gone)?
            .send(Box::new(move || {
                let _ = rtx.send(f());
            }))
            .map_err(|_| NsError::Gone)?;
        rrx.recv().map_err(|_| NsError::Gone)
    }
}

/// `unshare(CLONE_NEWNET)` twice: the first namespace only sets `tcp_child_ehash_entries`
/// (read when a namespace is created, from its creator's), so that the second, the one kept,
/// gets a TCP hash table of its own, small enough that reading `/proc/net/tcp` (a walk over
/// every bucket) takes microseconds instead of the tens of milliseconds the host-sized table
/// costs. The first namespace is freed when the thread leaves it. Kernels without the setting
/// (before 6.1) keep the shared table.
fn private_net() -> nix::Result<()> {
    let flags = nix::sched::CloneFlags::CLONE_NEWNET;
    nix::sched::unshare(flags)?;
    let _ = std::fs::write("/proc/sys/net/ipv4/tcp_child_ehash_entries", "1024");
    nix::sched::unshare(flags)
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop; the namespace goes when the last
        // descriptor created in it is closed.
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
