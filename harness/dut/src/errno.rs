//! Socket-call errors by POSIX name: the vocabulary packetdrill scripts and real kernels share,
//! so one script can run against every stack.

use core::fmt;

/// A socket descriptor inside one stack under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SockId(pub u32);

/// The errors a socket call can return, by POSIX name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Errno {
    /// Resource temporarily unavailable (nothing to accept/read, buffer full).
    EAGAIN,
    EINPROGRESS,
    ECONNRESET,
    ECONNREFUSED,
    ETIMEDOUT,
    ENOTCONN,
    EPIPE,
    EINVAL,
    EBADF,
    EADDRINUSE,
    EISCONN,
    EALREADY,
    ENOPROTOOPT,
    EOPNOTSUPP,
}

impl Errno {
    pub const ALL: [Errno; 14] = [
        Errno::EAGAIN,
        Errno::EINPROGRESS,
        Errno::ECONNRESET,
        Errno::ECONNREFUSED,
        Errno::ETIMEDOUT,
        Errno::ENOTCONN,
        Errno::EPIPE,
        Errno::EINVAL,
        Errno::EBADF,
        Errno::EADDRINUSE,
        Errno::EISCONN,
        Errno::EALREADY,
        Errno::ENOPROTOOPT,
        Errno::EOPNOTSUPP,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Errno::EAGAIN => "EAGAIN",
            Errno::EINPROGRESS => "EINPROGRESS",
            Errno::ECONNRESET => "ECONNRESET",
            Errno::ECONNREFUSED => "ECONNREFUSED",
            Errno::ETIMEDOUT => "ETIMEDOUT",
            Errno::ENOTCONN => "ENOTCONN",
            Errno::EPIPE => "EPIPE",
            Errno::EINVAL => "EINVAL",
            Errno::EBADF => "EBADF",
            Errno::EADDRINUSE => "EADDRINUSE",
            Errno::EISCONN => "EISCONN",
            Errno::EALREADY => "EALREADY",
            Errno::ENOPROTOOPT => "ENOPROTOOPT",
            Errno::EOPNOTSUPP => "EOPNOTSUPP",
        }
    }

    /// Parses a name such as `ECONNRESET` (`EWOULDBLOCK` is an alias of `EAGAIN`).
    pub fn from_name(s: &str) -> Option<Errno> {
        if s == "EWOULDBLOCK" {
            return Some(Errno::EAGAIN);
        }
        Errno::ALL.into_iter().find(|e| e.name() == s)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
