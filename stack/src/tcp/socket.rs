//! The user side: socket handles, options and one error enum per socket command.

use crate::policy::TcpPolicy;
use crate::time::Duration;
use core::fmt;

/// A socket of one [`super::Tcp`] endpoint. Small and `Copy`; never reused within an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketHandle(pub u32);

impl fmt::Display for SocketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A socket option with its value (the `setsockopt` set this harness models).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketOption {
    /// SO_KEEPALIVE.
    KeepAlive(bool),
    /// TCP_KEEPIDLE.
    KeepIdle(Duration),
    /// TCP_KEEPINTVL.
    KeepIntvl(Duration),
    /// TCP_KEEPCNT.
    KeepCnt(u32),
    /// SO_LINGER: `Some(ZERO)` makes close() abort with RST (no TIME-WAIT).
    Linger(Option<Duration>),
    /// TCP_NODELAY (Nagle off).
    NoDelay(bool),
    /// TCP_USER_TIMEOUT (RFC 5482); zero = off.
    UserTimeout(Duration),
    /// SO_REUSEADDR: allow listen/connect on a local address that has TIME-WAIT connections.
    ReuseAddr(bool),
    /// SO_RCVBUF in bytes.
    RecvBuf(usize),
    /// SO_SNDBUF in bytes.
    SendBuf(usize),
}

/// The name of a [`SocketOption`], for [`super::Tcp::get_option`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptionName {
    KeepAlive,
    KeepIdle,
    KeepIntvl,
    KeepCnt,
    Linger,
    NoDelay,
    UserTimeout,
    ReuseAddr,
    RecvBuf,
    SendBuf,
}

/// What a new socket's option reads under `policy` (before any `set_option`).
pub fn default_option(policy: &TcpPolicy, name: OptionName) -> SocketOption {
    Options::from_policy(policy).get(name)
}

impl SocketOption {
    /// The name this value is read back under.
    pub fn name(&self) -> OptionName {
        match self {
            SocketOption::KeepAlive(_) => OptionName::KeepAlive,
            SocketOption::KeepIdle(_) => OptionName::KeepIdle,
            SocketOption::KeepIntvl(_) => OptionName::KeepIntvl,
            SocketOption::KeepCnt(_) => OptionName::KeepCnt,
            SocketOption::Linger(_) => OptionName::Linger,
            SocketOption::NoDelay(_) => OptionName::NoDelay,
            SocketOption::UserTimeout(_) => OptionName::UserTimeout,
            SocketOption::ReuseAddr(_) => OptionName::ReuseAddr,
            SocketOption::RecvBuf(_) => OptionName::RecvBuf,
            SocketOption::SendBuf(_) => OptionName::SendBuf,
        }
    }
}

/// Per-socket option values, initialised from the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Options {
    pub keepalive: bool,
    pub keep_idle: Duration,
    pub keep_intvl: Duration,
    pub keep_cnt: u32,
    pub linger: Option<Duration>,
    pub nodelay: bool,
    pub user_timeout: Option<Duration>,
    pub reuse_addr: bool,
    /// Buffer sizes in bytes, as `u32` (4 bytes less per field in every TCB; `set` bounds
    /// them to 1 GiB anyway): read them with [`Options::rcv_buf`] and [`Options::snd_buf`].
    pub rcv_buf: u32,
    pub snd_buf: u32,
}

/// A byte count as stored in [`Options`], saturating at `u32::MAX` (4 GiB).
pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Options {
    /// SO_RCVBUF in bytes.
    pub fn rcv_buf(&self) -> usize {
        self.rcv_buf as usize
    }

    /// SO_SNDBUF in bytes.
    pub fn snd_buf(&self) -> usize {
        self.snd_buf as usize
    }

    pub fn from_policy(p: &TcpPolicy) -> Options {
        Options {
            keepalive: p.keepalive.enabled,
            keep_idle: p.keepalive.idle,
            keep_intvl: p.keepalive.interval,
            keep_cnt: p.keepalive.probes,
            linger: None,
            nodelay: !p.nagle,
            user_timeout: p.user_timeout,
            reuse_addr: false,
            rcv_buf: to_u32(p.rcv_buf),
            snd_buf: to_u32(p.snd_buf),
        }
    }

    pub fn set(&mut self, opt: SocketOption) -> Result<(), OptionError> {
        match opt {
            SocketOption::KeepAlive(b) => self.keepalive = b,
            SocketOption::KeepIdle(d) | SocketOption::KeepIntvl(d) if d == Duration::ZERO => {
                return Err(OptionError::InvalidValue)
            }
            SocketOption::KeepIdle(d) => self.keep_idle = d,
            SocketOption::KeepIntvl(d) => self.keep_intvl = d,
            SocketOption::KeepCnt(0) => return Err(OptionError::InvalidValue),
            SocketOption::KeepCnt(n) => self.keep_cnt = n,
            SocketOption::Linger(l) => self.linger = l,
            SocketOption::NoDelay(b) => self.nodelay = b,
            SocketOption::UserTimeout(d) => {
                self.user_timeout = if d == Duration::ZERO { None } else { Some(d) }
            }
            SocketOption::ReuseAddr(b) => self.reuse_addr = b,
            SocketOption::RecvBuf(0) | SocketOption::SendBuf(0) => {
                return Err(OptionError::InvalidValue)
            }
            SocketOption::RecvBuf(n) => self.rcv_buf = to_u32(n.min(1 << 30)),
            SocketOption::SendBuf(n) => self.snd_buf = to_u32(n.min(1 << 30)),
        }
        Ok(())
    }

    pub fn get(&self, name: OptionName) -> SocketOption {
        match name {
            OptionName::KeepAlive => SocketOption::KeepAlive(self.keepalive),
            OptionName::KeepIdle => SocketOption::KeepIdle(self.keep_idle),
            OptionName::KeepIntvl => SocketOption::KeepIntvl(self.keep_intvl),
            OptionName::KeepCnt => SocketOption::KeepCnt(self.keep_cnt),
            OptionName::Linger => SocketOption::Linger(self.linger),
            OptionName::NoDelay => SocketOption::NoDelay(self.nodelay),
            OptionName::UserTimeout => {
                SocketOption::UserTimeout(self.user_timeout.unwrap_or(Duration::ZERO))
            }
            OptionName::ReuseAddr => SocketOption::ReuseAddr(self.reuse_addr),
            OptionName::RecvBuf => SocketOption::RecvBuf(self.rcv_buf()),
            OptionName::SendBuf => SocketOption::SendBuf(self.snd_buf()),
        }
    }
}

/// A connection error reported once to the user (SO_ERROR), after which the socket is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketError {
    /// An RST arrived in a synchronized state (ECONNRESET).
    ConnectionReset,
    /// An RST answered our SYN (ECONNREFUSED).
    ConnectionRefused,
    /// Retransmissions, keepalive or user timeout gave up (ETIMEDOUT).
    TimedOut,
}

impl fmt::Display for SocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SocketError::ConnectionReset => "connection reset",
            SocketError::ConnectionRefused => "connection refused",
            SocketError::TimedOut => "connection timed out",
        })
    }
}
impl std::error::Error for SocketError {}

macro_rules! error_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident => $msg:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name { $($(#[$vm])* $var),+ }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $($name::$var => $msg),+ })
            }
        }
        impl std::error::Error for $name {}
    };
}

error_enum!(
    /// `listen` failures.
    ListenError {
        /// Another socket listens on (or a connection uses) this local address.
        AddressInUse => "address in use",
        /// Port 0 cannot be listened on.
        InvalidPort => "invalid port",
        /// Backlog 0.
        InvalidBacklog => "invalid backlog",
    }
);

error_enum!(
    /// `accept` failures.
    AcceptError {
        /// No established connection is waiting.
        WouldBlock => "would block",
        /// Not a listening socket.
        NotListening => "not listening",
        /// Unknown handle.
        InvalidHandle => "invalid handle",
    }
);

error_enum!(
    /// `connect` failures.
    ConnectError {
        /// The 4-tuple is in use (possibly by a TIME-WAIT connection, without SO_REUSEADDR).
        AddressInUse => "address in use",
        /// No free ephemeral port.
        NoEphemeralPort => "no ephemeral port available",
        /// Remote port 0 or unspecified remote address.
        InvalidRemote => "invalid remote address",
    }
);

error_enum!(
    /// `send` failures.
    SendError {
        /// The send buffer is full.
        WouldBlock => "would block",
        /// Not connected, or the write side is shut down (EPIPE).
        NotConnected => "not connected",
        /// The connection was reset (ECONNRESET), reported once.
        ConnectionReset => "connection reset",
        /// Our SYN was refused (ECONNREFUSED), reported once.
        ConnectionRefused => "connection refused",
        /// The connection timed out (ETIMEDOUT), reported once.
        TimedOut => "timed out",
        /// Unknown handle.
        InvalidHandle => "invalid handle",
    }
);

error_enum!(
    /// `recv` failures (EOF is `Ok(0)`).
    RecvError {
        /// No data yet.
        WouldBlock => "would block",
        /// Listening or never-connected socket.
        NotConnected => "not connected",
        ConnectionReset => "connection reset",
        ConnectionRefused => "connection refused",
        TimedOut => "timed out",
        InvalidHandle => "invalid handle",
    }
);

error_enum!(
    /// `close` / `shutdown_write` / `abort` failures.
    CloseError {
        /// Unknown handle (or already closed).
        InvalidHandle => "invalid handle",
        /// `shutdown_write` on a socket that is not connected.
        NotConnected => "not connected",
    }
);

error_enum!(
    /// `set_option` / `get_option` failures.
    OptionError {
        InvalidHandle => "invalid handle",
        /// Value out of range (zero keepalive interval, zero buffer...).
        InvalidValue => "invalid value",
    }
);

impl From<SocketError> for SendError {
    fn from(e: SocketError) -> Self {
        match e {
            SocketError::ConnectionReset => SendError::ConnectionReset,
            SocketError::ConnectionRefused => SendError::ConnectionRefused,
            SocketError::TimedOut => SendError::TimedOut,
        }
    }
}
impl From<SocketError> for RecvError {
    fn from(e: SocketError) -> Self {
        match e {
            SocketError::ConnectionReset => RecvError::ConnectionReset,
            SocketError::ConnectionRefused => RecvError::ConnectionRefused,
            SocketError::TimedOut => RecvError::TimedOut,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_and_errors_print_for_the_user() {
        assert_eq!(SocketHandle(3).to_string(), "#3");
        assert_eq!(SocketError::ConnectionReset.to_string(), "connection reset");
        assert_eq!(
            SendError::from(SocketError::ConnectionRefused),
            SendError::ConnectionRefused
        );
        assert_eq!(RecvError::from(SocketError::TimedOut), RecvError::TimedOut);
    }

    /// Buffer sizes are bounded to 1 GiB; zero sizes, idle times and counts are refused.
    #[test]
    fn option_values_are_bounded_and_zeros_refused() {
        let policy = TcpPolicy::default();
        let mut o = Options::from_policy(&policy);
        o.set(SocketOption::RecvBuf(usize::MAX)).expect("set");
        assert_eq!(o.get(OptionName::RecvBuf), SocketOption::RecvBuf(1 << 30));
        for bad in [
            SocketOption::KeepIdle(Duration::ZERO),
            SocketOption::KeepIntvl(Duration::ZERO),
            SocketOption::KeepCnt(0),
            SocketOption::RecvBuf(0),
            SocketOption::SendBuf(0),
        ] {
            assert_eq!(o.set(bad), Err(OptionError::InvalidValue), "{bad:?}");
        }
        assert_eq!(o, {
            let mut want = Options::from_policy(&policy);
            want.rcv_buf = 1 << 30;
            want
        });
        assert_eq!(
            default_option(&policy, OptionName::NoDelay),
            SocketOption::NoDelay(!policy.nagle)
        );
        assert_eq!(to_u32(usize::MAX), u32::MAX);
    }
}
