//! System calls: the script's socket API mapped onto [`crate::dut::Dut`], with packetdrill's
//! file descriptors, blocking rules and `= -1 ERRNO` results.

use super::engine::{unsupported, Engine, Fd, Pending, PendingKind, Stop, PEER_IP};
use super::setup::{at, input};
use crate::dut::{Dut, Errno, SockId, SockOpt, SockOptName};
use crate::script::{Expr, KnownCall, Location, Syscall};
use core::net::SocketAddrV4;
use stack::tcp::State;
use stack::{Duration, Instant};

/// Linux `O_NONBLOCK` / `SOCK_NONBLOCK` (04000).
const O_NONBLOCK: i64 = 0o4000;
const O_RDWR: i64 = 2;
/// Bytes a `read` asks for when the script gives `...` as its length.
const DEFAULT_READ: usize = 65_536;

/// Integer value of the symbols scripts use (Linux values, as packetdrill on Linux).
fn symbol(name: &str) -> Option<i64> {
    Some(match name {
        "AF_INET" | "PF_INET" => 2,
        "SOCK_STREAM" => 1,
        "SOCK_NONBLOCK" | "O_NONBLOCK" => O_NONBLOCK,
        "IPPROTO_TCP" | "SOL_TCP" => 6,
        "SOL_SOCKET" => 1,
        "O_RDONLY" => 0,
        "O_WRONLY" => 1,
        "O_RDWR" => O_RDWR,
        "F_GETFL" => 3,
        "F_SETFL" => 4,
        "SHUT_RD" => 0,
        "SHUT_WR" => 1,
        "SHUT_RDWR" => 2,
        other => return Errno::from_name(other).map(errno_number),
    })
}

/// Linux errno numbers (SO_ERROR values).
pub(super) fn errno_number(e: Errno) -> i64 {
    match e {
        Errno::EAGAIN => 11,
        Errno::EINPROGRESS => 115,
        Errno::ECONNRESET => 104,
        Errno::ECONNREFUSED => 111,
        Errno::ETIMEDOUT => 110,
        Errno::ENOTCONN => 107,
        Errno::EPIPE => 32,
        Errno::EINVAL => 22,
        Errno::EBADF => 9,
        Errno::EADDRINUSE => 98,
        Errno::EISCONN => 106,
        Errno::EALREADY => 114,
        Errno::ENOPROTOOPT => 92,
        Errno::EOPNOTSUPP => 95,
    }
}

/// The integer an expression stands for: numbers, known symbols, `A|B`, `htons(N)`, `[N]`.
pub(super) fn eval_int(e: &Expr) -> Option<i64> {
    match e {
        Expr::Int(i) => Some(*i),
        Expr::Hex(h) => i64::try_from(*h).ok(),
        Expr::Symbol(s) => symbol(s),
        Expr::BitOr(parts) => parts
            .iter()
            .try_fold(0i64, |acc, p| Some(acc | eval_int(p)?)),
        Expr::Call { name, args } if (name == "htons" || name == "htonl") && args.len() == 1 => {
            eval_int(&args[0])
        }
        Expr::List(items) if items.len() == 1 => eval_int(&items[0]),
        _ => None,
    }
}

fn field<'a>(e: &'a Expr, name: &str, pos: usize) -> Option<&'a Expr> {
    match e {
        Expr::Struct(fields) => fields
            .iter()
            .find(|f| f.name.as_deref() == Some(name))
            .or_else(|| fields.get(pos).filter(|f| f.name.is_none()))
            .map(|f| &f.value),
        _ => None,
    }
}

fn show(r: &Result<i64, Errno>) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => format!("-1 {e}"),
    }
}

impl Engine {
    fn lowest_free_fd(&self) -> i64 {
        (3..).find(|fd| !self.fds.contains_key(fd)).unwrap_or(3)
    }

    /// The fd a new socket gets: the one the script expects when it names a free one, as
    /// packetdrill maps the script's fd onto the live one (run_system_call.c `syscall_socket`,
    /// `syscall_accept`: "script_fd" is the expected return value); else the lowest free fd.
    fn fd_for(&self, c: &Syscall) -> i64 {
        match eval_int(&c.result) {
            Some(want) if want >= 0 && !self.fds.contains_key(&want) => want,
            _ => self.lowest_free_fd(),
        }
    }

    /// Compares a call's outcome with its `= result [ERRNO]`.
    fn check_ret(&self, loc: &Location, c: &Syscall, got: Result<i64, Errno>) -> Result<(), Stop> {
        if matches!(c.result, Expr::Ellipsis) {
            return Ok(());
        }
        let want = eval_int(&c.result).ok_or_else(|| {
            Stop::Input(input(
                loc,
                format!("cannot evaluate the result `{}`", c.result),
            ))
        })?;
        let ok = match (&got, want) {
            (Err(e), -1) => c
                .errno
                .as_deref()
                .is_none_or(|n| Errno::from_name(n).map_or(n == e.name(), |w| w == *e)),
            (Ok(v), w) => *v == w,
            _ => false,
        };
        if ok {
            return Ok(());
        }
        let want_s = match &c.errno {
            Some(e) => format!("{} {e}", c.result),
            None => c.result.to_string(),
        };
        Err(Stop::Fail(format!(
            "{}: {}(...) returned {} at {}, expected {want_s}\n  expected: {c}",
            at(loc),
            c.name,
            show(&got),
            self.now
        )))
    }

    fn arg<'a>(&self, loc: &Location, c: &'a Syscall, i: usize) -> Result<&'a Expr, Stop> {
        c.args.get(i).ok_or_else(|| {
            Stop::Input(input(
                loc,
                format!("{}() needs at least {} arguments", c.name, i + 1),
            ))
        })
    }

    fn int_arg(&self, loc: &Location, c: &Syscall, i: usize) -> Result<i64, Stop> {
        let e = self.arg(loc, c, i)?;
        eval_int(e).ok_or_else(|| {
            Stop::Input(input(
                loc,
                format!("{}(): argument {} `{e}` is not a number", c.name, i + 1),
            ))
        })
    }

    /// Runs one system call at the current time.
    pub(super) fn syscall(&mut self, loc: &Location, c: &Syscall) -> Result<(), Stop> {
        let Some(k) = c.known() else {
            return Err(unsupported(loc, format!("system call `{}`", c.name)));
        };
        if k == KnownCall::Socket {
            let r = self.socket(loc, c)?;
            return self.check_ret(loc, c, r);
        }
        let fd = self.int_arg(loc, c, 0)?;
        if !self.fds.contains_key(&fd) {
            return self.check_ret(loc, c, Err(Errno::EBADF));
        }
        let end = c.end_time.map(|d| Instant::ZERO + d);
        let r = match k {
            KnownCall::Socket => unreachable_socket(),
            KnownCall::Bind => self.bind(loc, c, fd)?,
            KnownCall::Listen => self.listen(loc, c, fd)?,
            KnownCall::Accept => {
                let Some(l) = self.fds.get(&fd).and_then(|f| f.sock) else {
                    return self.check_ret(loc, c, Err(Errno::EINVAL));
                };
                match self.dut.accept(self.now, l) {
                    Err(Errno::EAGAIN) if !self.fds[&fd].nonblocking => {
                        return self.block(loc, c, end, PendingKind::Accept { listener: l })
                    }
                    Ok(s) => Ok(self.accepted(s, c)),
                    Err(e) => Err(e),
                }
            }
            KnownCall::Connect => match self.connect(loc, c, fd)? {
                Some(r) => r,
                None => return Ok(()),
            },
            KnownCall::Write => {
                let n = usize::try_from(self.int_arg(loc, c, 2)?).unwrap_or(0);
                let Some(s) = self.fds[&fd].sock else {
                    return self.check_ret(loc, c, Err(Errno::EPIPE));
                };
                let r = self.dut.send(self.now, s, &vec![0u8; n]);
                match r {
                    Ok(done) if done < n && !self.fds[&fd].nonblocking => {
                        return self.block(
                            loc,
                            c,
                            end,
                            PendingKind::Write {
                                sock: s,
                                left: n - done,
                                done,
                            },
                        )
                    }
                    Err(Errno::EAGAIN) if !self.fds[&fd].nonblocking => {
                        return self.block(
                            loc,
                            c,
                            end,
                            PendingKind::Write {
                                sock: s,
                                left: n,
                                done: 0,
                            },
                        )
                    }
                    r => r.map(|d| i64::try_from(d).unwrap_or(i64::MAX)),
                }
            }
            KnownCall::Read => {
                let max = match self.arg(loc, c, 2)? {
                    Expr::Ellipsis => DEFAULT_READ,
                    _ => usize::try_from(self.int_arg(loc, c, 2)?).unwrap_or(0),
                };
                let Some(s) = self.fds[&fd].sock else {
                    return self.check_ret(loc, c, Err(Errno::ENOTCONN));
                };
                let mut buf = vec![0u8; max];
                match self.dut.recv(self.now, s, &mut buf) {
                    Err(Errno::EAGAIN) if self.fds[&fd].rd_shut => Ok(0),
                    Err(Errno::EAGAIN) if !self.fds[&fd].nonblocking => {
                        return self.block(loc, c, end, PendingKind::Read { sock: s, max })
                    }
                    r => r.map(|d| i64::try_from(d).unwrap_or(i64::MAX)),
                }
            }
            KnownCall::Close => {
                let f = self.fds.remove(&fd).unwrap_or_default();
                match f.sock {
                    Some(s) => {
                        if let Some(t) = self.dut.four_tuple(s) {
                            self.closed.insert(fd, t);
                        }
                        self.dut.close(self.now, s).map(|()| 0)
                    }
                    None => Ok(0),
                }
            }
            KnownCall::Shutdown => {
                let how = self.int_arg(loc, c, 1)?;
                if matches!(how, 0 | 2) && self.fds[&fd].sock.is_some() {
                    if let Some(f) = self.fds.get_mut(&fd) {
                        f.rd_shut = true;
                    }
                }
                match (how, self.fds[&fd].sock) {
                    (_, None) => Err(Errno::ENOTCONN),
                    (0, Some(_)) => Ok(0),
                    (1 | 2, Some(s)) => self.dut.shutdown_write(self.now, s).map(|()| 0),
                    _ => Err(Errno::EINVAL),
                }
            }
            KnownCall::Setsockopt => self.setsockopt(loc, c, fd)?,
            KnownCall::Getsockopt => return self.getsockopt(loc, c, fd),
            KnownCall::Fcntl => {
                let cmd = self.int_arg(loc, c, 1)?;
                match cmd {
                    3 => Ok(O_RDWR
                        | if self.fds[&fd].nonblocking {
                            O_NONBLOCK
                        } else {
                            0
                        }),
                    4 => {
                        let flags = self.int_arg(loc, c, 2)?;
                        if let Some(f) = self.fds.get_mut(&fd) {
                            f.nonblocking = flags & O_NONBLOCK != 0;
                        }
                        Ok(0)
                    }
                    _ => {
                        let cmd = self.arg(loc, c, 1)?;
                        return Err(unsupported(loc, format!("fcntl() command `{cmd}`")));
                    }
                }
            }
        };
        self.settle()?;
        self.check_ret(loc, c, r)
    }

    fn socket(&mut self, loc: &Location, c: &Syscall) -> Result<Result<i64, Errno>, Stop> {
        let ty = self.arg(loc, c, 1)?;
        let ty_v = match ty {
            Expr::Ellipsis => 1,
            e => eval_int(e).unwrap_or(-1),
        };
        if ty_v & !O_NONBLOCK != 1 {
            return Err(unsupported(loc, format!("socket type `{ty}` (TCP only)")));
        }
        for (i, want) in [(0usize, 2i64), (2, 6)] {
            match c.args.get(i) {
                None | Some(Expr::Ellipsis) => {}
                Some(e) => {
                    let v = eval_int(e);
                    if v != Some(want) && !(i == 2 && v == Some(0)) {
                        return Err(unsupported(
                            loc,
                            format!("socket `{e}` (AF_INET / IPPROTO_TCP only)"),
                        ));
                    }
                }
            }
        }
        let fd = self.fd_for(c);
        self.fds.insert(
            fd,
            Fd {
                nonblocking: ty_v & O_NONBLOCK != 0,
                ..Fd::default()
            },
        );
        Ok(Ok(fd))
    }

    /// Port of a sockaddr argument (`...` = `default`).
    fn port_of(&self, loc: &Location, e: &Expr, default: u16) -> Result<u16, Stop> {
        match e {
            Expr::Ellipsis => Ok(default),
            Expr::Struct(_) => {
                if let Some(a) = field(e, "sin_addr", 2) {
                    let ok = match a {
                        Expr::Call { name, args } if name == "inet_addr" => matches!(
                            args.first(),
                            Some(Expr::Str(s)) if s == &PEER_IP.to_string()
                                || s == "192.0.2.1" || s == "0.0.0.0"
                        ),
                        Expr::Symbol(s) => s == "INADDR_ANY",
                        _ => true,
                    };
                    if !ok {
                        return Err(Stop::Input(input(
                            loc,
                            format!("unsupported address `{a}` (the peer is {PEER_IP})"),
                        )));
                    }
                }
                match field(e, "sin_port", 1) {
                    None => Ok(default),
                    Some(p) => eval_int(p)
                        .and_then(|v| u16::try_from(v).ok())
                        .ok_or_else(|| Stop::Input(input(loc, format!("bad port `{p}`")))),
                }
            }
            other => Err(Stop::Input(input(
                loc,
                format!("expected a sockaddr struct or `...`, got `{other}`"),
            ))),
        }
    }

    fn bind(&mut self, loc: &Location, c: &Syscall, fd: i64) -> Result<Result<i64, Errno>, Stop> {
        let port = match c.args.get(1) {
            Some(e) => self.port_of(loc, e, self.bind_port)?,
            None => self.bind_port,
        };
        match self.fds.get_mut(&fd) {
            Some(f) if f.sock.is_some() || f.port.is_some() => Ok(Err(Errno::EINVAL)),
            Some(f) => {
                f.port = Some(port);
                Ok(Ok(0))
            }
            None => Ok(Err(Errno::EBADF)),
        }
    }

    fn listen(&mut self, loc: &Location, c: &Syscall, fd: i64) -> Result<Result<i64, Errno>, Stop> {
        let backlog = match c.args.get(1) {
            None | Some(Expr::Ellipsis) => 128,
            Some(_) => self.int_arg(loc, c, 1)?,
        };
        let f = self.fds[&fd].clone();
        if f.sock.is_some() {
            return Ok(Err(Errno::EINVAL));
        }
        let port = f.port.unwrap_or(self.bind_port);
        let backlog = usize::try_from(backlog.max(1)).unwrap_or(1);
        match self.dut.listen(self.now, port, backlog) {
            Ok(s) => {
                self.adopt(fd, s)?;
                self.listen_port = Some(port);
                Ok(Ok(0))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// Gives `fd` its stack socket and applies the options set before it existed.
    fn adopt(&mut self, fd: i64, s: SockId) -> Result<(), Stop> {
        let opts = match self.fds.get_mut(&fd) {
            Some(f) => {
                f.sock = Some(s);
                std::mem::take(&mut f.opts)
            }
            None => Vec::new(),
        };
        for o in opts {
            // Errors were reported when the option was set.
            let _ = self.dut.set_option(s, o);
        }
        Ok(())
    }

    /// A new fd for an accepted socket, bound to its connection.
    fn accepted(&mut self, s: SockId, c: &Syscall) -> i64 {
        let fd = self.fd_for(c);
        let conn = self.dut.four_tuple(s).map(|t| self.conn_of_tuple(t));
        self.fds.insert(
            fd,
            Fd {
                sock: Some(s),
                conn,
                ..Fd::default()
            },
        );
        fd
    }

    /// `None` when the call blocks (pending).
    fn connect(
        &mut self,
        loc: &Location,
        c: &Syscall,
        fd: i64,
    ) -> Result<Option<Result<i64, Errno>>, Stop> {
        let f = self.fds[&fd].clone();
        if let Some(s) = f.sock {
            // A second connect on a non-blocking socket (RFC 9293 §3.10.1: OPEN on an open
            // connection is an error).
            return Ok(Some(match self.dut.state(s) {
                Some(State::SynSent | State::SynReceived) => Err(Errno::EALREADY),
                Some(State::Listen) => Err(Errno::EINVAL),
                Some(st) if st.is_synchronized() => Err(Errno::EISCONN),
                _ => Err(self.dut.take_error(s).unwrap_or(Errno::ECONNREFUSED)),
            }));
        }
        let port = match c.args.get(1) {
            Some(e) => self.port_of(loc, e, self.connect_port)?,
            None => self.connect_port,
        };
        let s = match self.dut.connect(
            self.now,
            f.port.unwrap_or(0),
            SocketAddrV4::new(PEER_IP, port),
        ) {
            Ok(s) => s,
            Err(e) => return Ok(Some(Err(e))),
        };
        self.adopt(fd, s)?;
        if let Some(t) = self.dut.four_tuple(s) {
            let conn = self.new_conn(Some(t.remote.port()), Some(t.local.port()));
            if let Some(f) = self.fds.get_mut(&fd) {
                f.conn = Some(conn);
            }
        }
        if f.nonblocking {
            return Ok(Some(Err(Errno::EINPROGRESS)));
        }
        let end = c.end_time.map(|d| Instant::ZERO + d);
        self.block(loc, c, end, PendingKind::Connect { sock: s })?;
        Ok(None)
    }

    fn block(
        &mut self,
        loc: &Location,
        c: &Syscall,
        end: Option<Instant>,
        kind: PendingKind,
    ) -> Result<(), Stop> {
        if let Some(p) = &self.pending {
            return Err(Stop::Input(input(
                loc,
                format!(
                    "`{}` blocks while `{}` ({}) is still blocked: one blocking call at a time",
                    c.name,
                    p.call.name,
                    at(&p.loc)
                ),
            )));
        }
        self.pending = Some(Pending {
            loc: loc.clone(),
            call: c.clone(),
            end,
            kind,
        });
        self.settle()
    }

    /// Lets a blocking call return when the stack can complete it.
    pub(super) fn poll_pending(&mut self) -> Result<(), Stop> {
        let Some(mut p) = self.pending.take() else {
            return Ok(());
        };
        let r = match &mut p.kind {
            PendingKind::Accept { listener } => match self.dut.accept(self.now, *listener) {
                Err(Errno::EAGAIN) => None,
                Ok(s) => Some(Ok(self.accepted(s, &p.call))),
                Err(e) => Some(Err(e)),
            },
            PendingKind::Connect { sock } => match self.dut.take_error(*sock) {
                Some(e) => Some(Err(e)),
                None => match self.dut.state(*sock) {
                    Some(State::SynSent | State::SynReceived) => None,
                    Some(st) if st.is_synchronized() => Some(Ok(0)),
                    _ => Some(Err(Errno::ECONNREFUSED)),
                },
            },
            PendingKind::Read { sock, max } => {
                let mut buf = vec![0u8; *max];
                match self.dut.recv(self.now, *sock, &mut buf) {
                    Err(Errno::EAGAIN) => None,
                    r => Some(r.map(|d| i64::try_from(d).unwrap_or(i64::MAX))),
                }
            }
            PendingKind::Write { sock, left, done } => {
                match self.dut.send(self.now, *sock, &vec![0u8; *left]) {
                    Ok(n) if n < *left => {
                        *left -= n;
                        *done += n;
                        None
                    }
                    Ok(n) => Some(Ok(i64::try_from(*done + n).unwrap_or(i64::MAX))),
                    Err(Errno::EAGAIN) => None,
                    Err(e) => Some(Err(e)),
                }
            }
        };
        let Some(r) = r else {
            self.pending = Some(p);
            return Ok(());
        };
        if let Some(end) = p.end {
            let off = if self.now > end {
                self.now - end
            } else {
                end - self.now
            };
            if off > self.tol {
                return Err(Stop::Fail(format!(
                    "{}: blocking {}() returned at {}, expected at {end} (tolerance {})\n  \
                     expected: {}",
                    at(&p.loc),
                    p.call.name,
                    self.now,
                    self.tol,
                    p.call
                )));
            }
        }
        self.check_ret(&p.loc, &p.call, r)
    }

    /// The option a `setsockopt`/`getsockopt` names, with the value it would set.
    fn sockopt(
        &self,
        loc: &Location,
        c: &Syscall,
        value: Option<&Expr>,
    ) -> Result<(SockOptName, Option<SockOpt>), Stop> {
        let level = self.arg(loc, c, 1)?;
        let name = match self.arg(loc, c, 2)? {
            Expr::Symbol(s) => s.as_str(),
            other => {
                return Err(Stop::Input(input(
                    loc,
                    format!("{}(): option name `{other}` is not a symbol", c.name),
                )))
            }
        };
        let _ = level;
        let int = |e: Option<&Expr>| -> Result<Option<i64>, Stop> {
            match e {
                None | Some(Expr::Ellipsis) => Ok(None),
                Some(e) => eval_int(e).map(Some).ok_or_else(|| {
                    Stop::Input(input(loc, format!("{name}: value `{e}` is not a number")))
                }),
            }
        };
        let secs = |v: i64| Duration::from_secs(u64::try_from(v).unwrap_or(0));
        let size = |v: i64| usize::try_from(v).unwrap_or(0);
        Ok(match name {
            "SO_KEEPALIVE" => (
                SockOptName::KeepAlive,
                int(value)?.map(|v| SockOpt::KeepAlive(v != 0)),
            ),
            "TCP_KEEPIDLE" => (
                SockOptName::KeepIdle,
                int(value)?.map(|v| SockOpt::KeepIdle(secs(v))),
            ),
            "TCP_KEEPINTVL" => (
                SockOptName::KeepIntvl,
                int(value)?.map(|v| SockOpt::KeepIntvl(secs(v))),
            ),
            "TCP_KEEPCNT" => (
                SockOptName::KeepCnt,
                int(value)?.map(|v| SockOpt::KeepCnt(u32::try_from(v).unwrap_or(0))),
            ),
            "TCP_NODELAY" => (
                SockOptName::NoDelay,
                int(value)?.map(|v| SockOpt::NoDelay(v != 0)),
            ),
            "SO_REUSEADDR" => (
                SockOptName::ReuseAddr,
                int(value)?.map(|v| SockOpt::ReuseAddr(v != 0)),
            ),
            "SO_RCVBUF" => (
                SockOptName::RecvBuf,
                int(value)?.map(|v| SockOpt::RecvBuf(size(v))),
            ),
            "SO_SNDBUF" => (
                SockOptName::SendBuf,
                int(value)?.map(|v| SockOpt::SendBuf(size(v))),
            ),
            "TCP_USER_TIMEOUT" => (
                SockOptName::UserTimeout,
                int(value)?.map(|v| {
                    SockOpt::UserTimeout(Duration::from_millis(u64::try_from(v).unwrap_or(0)))
                }),
            ),
            "SO_LINGER" => {
                let v = match value {
                    None | Some(Expr::Ellipsis) => None,
                    Some(e) => {
                        // packetdrill writes `{onoff=1, linger=0}`; C spells `l_onoff`.
                        let on = field(e, "l_onoff", 0)
                            .or_else(|| field(e, "onoff", 0))
                            .and_then(eval_int);
                        let secs_v = field(e, "l_linger", 1)
                            .or_else(|| field(e, "linger", 1))
                            .and_then(eval_int);
                        match (on, secs_v) {
                            (Some(0), _) => Some(SockOpt::Linger(None)),
                            (Some(_), Some(s)) => Some(SockOpt::Linger(Some(secs(s)))),
                            _ => {
                                return Err(Stop::Input(input(
                                    loc,
                                    format!(
                                        "SO_LINGER: expected {{l_onoff=N, l_linger=N}}, got `{e}`"
                                    ),
                                )))
                            }
                        }
                    }
                };
                (SockOptName::Linger, v)
            }
            other => return Err(unsupported(loc, format!("socket option `{other}`"))),
        })
    }

    fn setsockopt(
        &mut self,
        loc: &Location,
        c: &Syscall,
        fd: i64,
    ) -> Result<Result<i64, Errno>, Stop> {
        let (_, opt) = self.sockopt(loc, c, c.args.get(3))?;
        let Some(opt) = opt else {
            return Err(Stop::Input(input(
                loc,
                "setsockopt(): the value must be given",
            )));
        };
        match self.fds.get_mut(&fd) {
            Some(f) => match f.sock {
                Some(s) => Ok(self.dut.set_option(s, opt).map(|()| 0)),
                None => {
                    f.opts.push(opt);
                    Ok(Ok(0))
                }
            },
            None => Ok(Err(Errno::EBADF)),
        }
    }

    fn getsockopt(&mut self, loc: &Location, c: &Syscall, fd: i64) -> Result<(), Stop> {
        let want = c.args.get(3);
        let sock = self.fds[&fd].sock;
        // SO_ERROR: the pending error, once (0 when none).
        if matches!(c.args.get(2), Some(Expr::Symbol(s)) if s == "SO_ERROR") {
            let got = sock
                .and_then(|s| self.dut.take_error(s))
                .map_or(0, errno_number);
            if let Some(w) = want.filter(|w| !matches!(w, Expr::Ellipsis)) {
                if eval_int(w) != Some(got) {
                    return Err(Stop::Fail(format!(
                        "{}: getsockopt(SO_ERROR) gave [{got}], expected {w}\n  expected: {c}",
                        at(loc)
                    )));
                }
            }
            return self.check_ret(loc, c, Ok(0));
        }
        let (name, _) = self.sockopt(loc, c, None)?;
        let got = match sock {
            Some(s) => match self.dut.get_option(s, name) {
                Ok(v) => v,
                Err(e) => return self.check_ret(loc, c, Err(e)),
            },
            // A socket not yet in the stack (before listen/connect): what was set on it, else
            // the profile's default for a new socket.
            None => self.fds[&fd]
                .opts
                .iter()
                .rev()
                .find(|o| o.name() == name)
                .copied()
                .unwrap_or_else(|| stack::tcp::socket::default_option(&self.profile.tcp, name)),
        };
        if let Some(w) = want.filter(|w| !matches!(w, Expr::Ellipsis)) {
            let (_, wanted) = self.sockopt(loc, c, Some(w))?;
            if wanted != Some(got) {
                return Err(Stop::Fail(format!(
                    "{}: getsockopt() gave {got:?}, expected {w}\n  expected: {c}",
                    at(loc)
                )));
            }
        }
        self.check_ret(loc, c, Ok(0))
    }
}

fn unreachable_socket() -> Result<i64, Errno> {
    // `socket` is handled before the fd lookup.
    Err(Errno::EINVAL)
}
