//! The live Linux kernel as a stack under test ([`dut::Dut`]).
//!
//! Each [`LinuxDut`] owns a private network namespace ([`ns`]) holding one TAP device
//! (`IFF_TAP | IFF_NO_PI`, `tap`) with the configured MAC and documentation address, IPv6
//! off, and the profile's knobs written as sysctls of that namespace only ([`sysctl`]).
//! Frames the harness sends are written to the TAP file; what the kernel sends (ARP included:
//! the kernel really resolves its peers) is read back. Sockets are created inside the
//! namespace and driven non-blocking. Connection state comes from
//! `/proc/thread-self/net/tcp` read inside the namespace ([`proc_tcp`]).
//!
//! Time is real ([`dut::TimeModel::Real`]): the harness's virtual `now` is mapped onto the
//! kernel's clock by an offset, and every call first waits until the wall clock reaches `now`.
//! [`Dut::poll_at`] asks to be polled every millisecond, so a driver that jumps from deadline
//! to deadline walks through real time in 1 ms steps. Two things keep the harness's own
//! lateness (a loaded machine, a thread woken late) out of the kernel's timings:
//! * every input (a frame, a socket call that may send) that happens later than its virtual
//!   time moves the offset, so the kernel's reactions are measured from the moment it really
//!   got the input;
//! * what the kernel sends is stamped with its transmit time ([`capture`]), not the time the
//!   harness got round to reading it, and handed out when the virtual clock reaches that stamp.

pub mod capture;
pub mod ns;
pub mod proc_tcp;
pub mod sysctl;
mod tap;

use core::net::{Ipv4Addr, SocketAddrV4};
use dut::{
    AdapterSpec, Capabilities, Dut, Errno, Refusal, SockId, SockOpt, SockOptName, StackConfig,
    TimeModel,
};
use nix::sys::socket::{self as nsock, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn};
use ns::Namespace;
use stack::tcp::{FourTuple, State};
use stack::{Duration, Event, Instant};
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::Command;

/// The TAP device's name inside the namespace.
pub const DEV: &str = "tap0";
/// How often a driver is asked to poll (the granularity of real time).
pub const TICK: Duration = Duration::from_millis(1);

/// What the live kernel declares.
pub const CAPABILITIES: Capabilities = Capabilities {
    time: TimeModel::Real,
    events: false,
    state: true,
    reboot: false,
    neighbor_control: true,
    knobs: sysctl::KNOBS,
    all_knobs: false,
    raw_sysctls: true,
};

/// Builds [`LinuxDut`]s.
pub const ADAPTER: AdapterSpec = AdapterSpec {
    name: "linux",
    describe:
        "the live Linux kernel in a private network namespace behind a TAP device (root, real time)",
    capabilities: &CAPABILITIES,
    unavailable: unavailable_reason,
    build: |c| Ok(Box::new(LinuxDut::new(c)?)),
};

/// Why this machine cannot run the live kernel, if it cannot.
pub fn unavailable_reason() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (network namespaces and TAP devices)".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun does not exist".into());
    }
    None
}

enum Sock {
    Listener(TcpListener),
    Stream(TcpStream),
}

impl Sock {
    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Sock::Listener(l) => l.as_fd(),
            Sock::Stream(s) => s.as_fd(),
        }
    }
}

/// The live kernel in its namespace.
pub struct LinuxDut {
    // Field order is drop order: sockets and the TAP file close before the namespace thread
    // ends, so the namespace disappears with the last of them.
    socks: BTreeMap<u32, Sock>,
    tap: File,
    ns: Namespace,
    addr: Ipv4Addr,
    mac: stack::wire::EthernetAddress,
    /// What the kernel transmits, with its transmit times.
    cap: capture::Capture,
    /// Kernel (realtime) clock minus virtual time; set by the first call.
    off: Option<std::time::Duration>,
    now: Instant,
    /// Frames the kernel sent, each at the virtual time it sent it.
    rx: VecDeque<(Instant, Vec<u8>)>,
    next: u32,
    /// The peer of each connected socket, as connect/accept gave it: `getpeername` fails
    /// while a connect is in progress and after a reset, yet the connection still has it.
    peers: BTreeMap<u32, SocketAddrV4>,
    /// A congestion control the script asked for as the default that the host keeps out of
    /// child namespaces ([`sysctl::Written::PerSocketCongestion`]): set on every new socket
    /// (accepted ones inherit it from their listener).
    congestion: Option<String>,
}

fn refuse(reason: impl Into<String>) -> Refusal {
    Refusal::Invalid {
        stack: "linux",
        reason: reason.into(),
    }
}

/// Runs `ip ARGS` (inside the namespace when called from its thread).
fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn write_sysctl(path: &str, value: &str) -> Result<(), String> {
    std::fs::write(format!("/proc/sys/{path}"), value)
        .map_err(|e| format!("sysctl {}={value}: {e}", path.replace('/', ".")))
}

fn mac_str(m: stack::wire::EthernetAddress) -> String {
    m.0.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn parse_mac(s: &str) -> Option<stack::wire::EthernetAddress> {
    let mut m = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut m {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    Some(stack::wire::EthernetAddress(m))
}

fn errno_of(e: nix::Error) -> Errno {
    use nix::errno::Errno as E;
    match e {
        E::EAGAIN => Errno::EAGAIN,
        E::EINPROGRESS => Errno::EINPROGRESS,
        E::ECONNRESET => Errno::ECONNRESET,
        E::ECONNREFUSED => Errno::ECONNREFUSED,
        E::ETIMEDOUT => Errno::ETIMEDOUT,
        E::ENOTCONN => Errno::ENOTCONN,
        E::EPIPE => Errno::EPIPE,
        E::EBADF => Errno::EBADF,
        E::EADDRINUSE => Errno::EADDRINUSE,
        E::EISCONN => Errno::EISCONN,
        E::EALREADY => Errno::EALREADY,
        E::ENOPROTOOPT => Errno::ENOPROTOOPT,
        E::EOPNOTSUPP => Errno::EOPNOTSUPP,
        _ => Errno::EINVAL,
    }
}

fn io_errno(e: &io::Error) -> Errno {
    match e.raw_os_error() {
        Some(n) => errno_of(nix::Error::from_raw(n)),
        None if e.kind() == io::ErrorKind::WouldBlock => Errno::EAGAIN,
        None => Errno::EINVAL,
    }
}

impl LinuxDut {
    /// Creates the namespace, the TAP device and the configuration of `c`.
    pub fn new(c: &StackConfig) -> Result<LinuxDut, Refusal> {
        c.check("linux", &CAPABILITIES)?;
        if let Some(why) = unavailable_reason() {
            return Err(Refusal::Capability {
                stack: "linux",
                what: "run".into(),
                reason: why,
            });
        }
        let ns = Namespace::new().map_err(|e| refuse(e.to_string()))?;
        let settings = sysctl::settings(&c.profile, DEV).map_err(refuse)?;
        let (addr, prefix, mac, gw) = (c.addr, c.prefix_len, c.mac, c.gateway);
        let neighbours = c.static_arp.clone();
        let (tap, cap, mac) = ns
            .run(
                move || -> Result<(File, capture::Capture, stack::wire::EthernetAddress), String> {
                    // IPv6 off before the device exists, so it never autoconfigures.
                    for p in ["all", "default"] {
                        write_sysctl(&format!("net/ipv6/conf/{p}/disable_ipv6"), "1")?;
                    }
                    let tap = tap::open(DEV).map_err(|e| format!("open TAP {DEV}: {e}"))?;
                    ip(&["link", "set", "dev", "lo", "up"])?;
                    ip(&["link", "set", "dev", DEV, "address", &mac_str(mac)])?;
                    ip(&["addr", "add", &format!("{addr}/{prefix}"), "dev", DEV])?;
                    for (path, value) in &settings {
                        write_sysctl(path, value)?;
                    }
                    ip(&["link", "set", "dev", DEV, "up"])?;
                    let index = nix::net::if_::if_nametoindex(DEV)
                        .map_err(|e| format!("index of {DEV}: {e}"))?;
                    let cap = capture::Capture::open(index as usize)
                        .map_err(|e| format!("packet socket on {DEV}: {e}"))?;
                    if let Some(g) = gw {
                        ip(&["route", "add", "default", "via", &g.to_string()])?;
                    }
                    for (a, m) in &neighbours {
                        ip(&[
                            "neigh",
                            "replace",
                            &a.to_string(),
                            "lladdr",
                            &mac_str(*m),
                            "dev",
                            DEV,
                            "nud",
                            "permanent",
                        ])?;
                    }
                    // Read the kernel's MAC back.
                    let link = ip(&["-o", "link", "show", "dev", DEV])?;
                    let kmac = link
                        .split_whitespace()
                        .skip_while(|w| *w != "link/ether")
                        .nth(1)
                        .and_then(parse_mac)
                        .ok_or_else(|| format!("no MAC in `{}`", link.trim()))?;
                    Ok((tap, cap, kmac))
                },
            )
            .map_err(|e| refuse(e.to_string()))?
            .map_err(refuse)?;
        Ok(LinuxDut {
            socks: BTreeMap::new(),
            tap,
            ns,
            addr,
            mac,
            cap,
            off: None,
            now: Instant::ZERO,
            rx: VecDeque::new(),
            next: 3,
            peers: BTreeMap::new(),
            congestion: None,
        })
    }

    /// The kernel's MAC address.
    pub fn mac(&self) -> stack::wire::EthernetAddress {
        self.mac
    }

    /// Waits until the kernel's clock reaches virtual time `now` (the first call fixes the
    /// offset between the two).
    fn wait(&mut self, now: Instant) {
        self.read_tap();
        let virt = std::time::Duration::from_micros(now.total_micros());
        let off = *self
            .off
            .get_or_insert_with(|| capture::realtime().saturating_sub(virt));
        let target = off + virt;
        let wall = capture::realtime();
        if target > wall {
            std::thread::sleep(target - wall);
        }
        self.now = self.now.max(now);
    }

    /// Called right after an input (a frame written, a socket call that may send): if the
    /// harness is late, the offset moves so that the input happened at virtual `now` on the
    /// kernel's clock, and what the kernel does in reply is timed from it. Taken *after* the
    /// call, so that the harness thread losing the CPU between its wait and the call (a
    /// loaded machine preempts it for tens of milliseconds) never shows as a slow kernel.
    fn anchor(&mut self, now: Instant) {
        let virt = std::time::Duration::from_micros(now.total_micros());
        let wall = capture::realtime();
        if let Some(off) = self.off.as_mut() {
            if wall > *off + virt {
                *off = wall - virt;
            }
        }
    }

    /// Drains the TAP file (so its queue never fills) and takes what the kernel sent from the
    /// packet socket, each frame at its transmit time on the virtual clock. Only IPv4 TCP
    /// and ARP are kept (IGMP and the like are the kernel's own business).
    fn read_tap(&mut self) {
        let mut buf = vec![0u8; 65_536];
        while self.tap.read(&mut buf).is_ok() {}
        let off = self.off.unwrap_or_default();
        for (sent, frame) in self.cap.read() {
            if frame.len() < 14 {
                continue;
            }
            let keep = match u16::from_be_bytes([frame[12], frame[13]]) {
                0x0806 => true,
                0x0800 => frame.get(14 + 9) == Some(&6),
                _ => false,
            };
            if !keep {
                continue;
            }
            let micros = u64::try_from(sent.saturating_sub(off).as_micros()).unwrap_or(u64::MAX);
            // Frames keep their order: never before one sent earlier.
            let at =
                Instant::from_micros(micros).max(self.rx.back().map_or(Instant::ZERO, |f| f.0));
            self.rx.push_back((at, frame));
        }
    }

    fn add(&mut self, s: Sock) -> SockId {
        let id = self.next;
        self.next += 1;
        self.socks.insert(id, s);
        SockId(id)
    }

    fn stream(&self, s: SockId) -> Result<&TcpStream, Errno> {
        match self.socks.get(&s.0) {
            Some(Sock::Stream(t)) => Ok(t),
            Some(Sock::Listener(_)) => Err(Errno::ENOTCONN),
            None => Err(Errno::EBADF),
        }
    }

    /// A new non-blocking TCP socket created inside the namespace (with the congestion
    /// control the script made the default, when only a socket can select it).
    fn socket(&self) -> Result<OwnedFd, Errno> {
        let fd = self
            .ns
            .run(|| {
                nsock::socket(
                    AddressFamily::Inet,
                    SockType::Stream,
                    SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
                    None,
                )
            })
            .map_err(|_| Errno::EINVAL)?
            .map_err(errno_of)?;
        if let Some(ca) = &self.congestion {
            nsock::setsockopt(&fd, sockopt::TcpCongestion, &std::ffi::OsString::from(ca))
                .map_err(errno_of)?;
        }
        Ok(fd)
    }

    /// The kernel's TCP table, read inside the namespace.
    fn table(&self) -> Vec<proc_tcp::Entry> {
        self.ns
            .run(|| {
                std::fs::read_to_string("/proc/thread-self/net/tcp")
                    .map(|t| proc_tcp::parse(&t))
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }
}

impl Dut for LinuxDut {
    fn kind(&self) -> &'static str {
        "linux"
    }
    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn set_sysctl(&mut self, now: Instant, s: &dut::RawSysctl) -> Result<(), Refusal> {
        self.wait(now);
        let s = s.clone();
        let done = self
            .ns
            .run(move || sysctl::write_raw(&s, DEV))
            .map_err(|e| refuse(e.to_string()))?
            .map_err(|reason| Refusal::Invalid {
                stack: "linux",
                reason,
            })?;
        if let sysctl::Written::PerSocketCongestion(ca) = done {
            self.congestion = Some(ca);
        }
        Ok(())
    }

    fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        self.wait(now);
        // A frame the kernel refuses (malformed) is simply not delivered, as on a wire.
        let _ = self.tap.write(frame);
        self.anchor(now);
        self.read_tap();
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.wait(now);
        self.read_tap();
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.read_tap();
        if self.rx.front().is_some_and(|f| f.0 <= now.max(self.now)) {
            return self.rx.pop_front().map(|f| f.1);
        }
        None
    }

    fn poll_at(&self) -> Option<Instant> {
        let tick = self.now + TICK;
        Some(
            self.rx
                .front()
                .map_or(tick, |f| f.0.max(self.now).min(tick)),
        )
    }

    fn take_events(&mut self) -> Vec<Event> {
        Vec::new()
    }

    fn listen(&mut self, now: Instant, port: u16, backlog: usize) -> Result<SockId, Errno> {
        self.wait(now);
        let fd = self.socket()?;
        nsock::setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(errno_of)?;
        let local = SockaddrIn::from(SocketAddrV4::new(self.addr, port));
        nsock::bind(fd.as_raw_fd(), &local).map_err(errno_of)?;
        let backlog = nsock::Backlog::new(i32::try_from(backlog).unwrap_or(i32::MAX).max(1))
            .map_err(errno_of)?;
        nsock::listen(&fd, backlog).map_err(errno_of)?;
        Ok(self.add(Sock::Listener(TcpListener::from(fd))))
    }

    fn accept(&mut self, now: Instant, listener: SockId) -> Result<SockId, Errno> {
        self.wait(now);
        let l = match self.socks.get(&listener.0) {
            Some(Sock::Listener(l)) => l,
            Some(Sock::Stream(_)) => return Err(Errno::EINVAL),
            None => return Err(Errno::EBADF),
        };
        let (s, peer) = l.accept().map_err(|e| io_errno(&e))?;
        s.set_nonblocking(true).map_err(|e| io_errno(&e))?;
        let id = self.add(Sock::Stream(s));
        if let std::net::SocketAddr::V4(p) = peer {
            self.peers.insert(id.0, p);
        }
        Ok(id)
    }

    fn connect(
        &mut self,
        now: Instant,
        local_port: u16,
        remote: SocketAddrV4,
    ) -> Result<SockId, Errno> {
        self.wait(now);
        let fd = self.socket()?;
        if local_port != 0 {
            nsock::setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(errno_of)?;
            let local = SockaddrIn::from(SocketAddrV4::new(self.addr, local_port));
            nsock::bind(fd.as_raw_fd(), &local).map_err(errno_of)?;
        }
        let r = nsock::connect(fd.as_raw_fd(), &SockaddrIn::from(remote));
        self.anchor(now);
        match r {
            Ok(()) | Err(nix::errno::Errno::EINPROGRESS) => {}
            Err(e) => return Err(errno_of(e)),
        }
        let id = self.add(Sock::Stream(TcpStream::from(fd)));
        self.peers.insert(id.0, remote);
        self.read_tap();
        Ok(id)
    }

    fn send(&mut self, now: Instant, s: SockId, data: &[u8]) -> Result<usize, Errno> {
        self.wait(now);
        let fd = self.stream(s)?.as_raw_fd();
        let flags = nsock::MsgFlags::MSG_NOSIGNAL | nsock::MsgFlags::MSG_DONTWAIT;
        let r = nsock::send(fd, data, flags).map_err(errno_of);
        self.anchor(now);
        self.read_tap();
        r
    }

    fn recv(&mut self, now: Instant, s: SockId, buf: &mut [u8]) -> Result<usize, Errno> {
        self.wait(now);
        let mut t = self.stream(s)?;
        let r = t.read(buf).map_err(|e| io_errno(&e));
        self.read_tap();
        r
    }

    fn close(&mut self, now: Instant, s: SockId) -> Result<(), Errno> {
        self.wait(now);
        // The socket closes (and the kernel sends its FIN or RST) as it is dropped, here.
        let closed = self.socks.remove(&s.0).map(drop).ok_or(Errno::EBADF);
        self.anchor(now);
        closed?;
        self.peers.remove(&s.0);
        self.read_tap();
        Ok(())
    }

    fn shutdown_write(&mut self, now: Instant, s: SockId) -> Result<(), Errno> {
        self.wait(now);
        let r = self
            .stream(s)?
            .shutdown(Shutdown::Write)
            .map_err(|e| io_errno(&e));
        self.anchor(now);
        self.read_tap();
        r
    }

    fn abort(&mut self, now: Instant, s: SockId) -> Result<(), Errno> {
        self.set_option(s, SockOpt::Linger(Some(stack::Duration::ZERO)))?;
        self.close(now, s)
    }

    fn set_option(&mut self, s: SockId, opt: SockOpt) -> Result<(), Errno> {
        let sock = self.socks.get(&s.0).ok_or(Errno::EBADF)?;
        let fd = sock.fd();
        let secs =
            |d: stack::Duration| u32::try_from(d.total_micros() / 1_000_000).unwrap_or(u32::MAX);
        match opt {
            SockOpt::KeepAlive(on) => nsock::setsockopt(&fd, sockopt::KeepAlive, &on),
            SockOpt::KeepIdle(d) => nsock::setsockopt(&fd, sockopt::TcpKeepIdle, &secs(d).max(1)),
            SockOpt::KeepIntvl(d) => {
                nsock::setsockopt(&fd, sockopt::TcpKeepInterval, &secs(d).max(1))
            }
            SockOpt::KeepCnt(n) => nsock::setsockopt(&fd, sockopt::TcpKeepCount, &n),
            SockOpt::Linger(l) => {
                let v = libc::linger {
                    l_onoff: i32::from(l.is_some()),
                    l_linger: l.map_or(0, |d| i32::try_from(secs(d)).unwrap_or(i32::MAX)),
                };
                nsock::setsockopt(&fd, sockopt::Linger, &v)
            }
            SockOpt::NoDelay(on) => nsock::setsockopt(&fd, sockopt::TcpNoDelay, &on),
            SockOpt::UserTimeout(d) => nsock::setsockopt(
                &fd,
                sockopt::TcpUserTimeout,
                &u32::try_from(d.total_micros() / 1000).unwrap_or(u32::MAX),
            ),
            SockOpt::ReuseAddr(on) => nsock::setsockopt(&fd, sockopt::ReuseAddr, &on),
            SockOpt::RecvBuf(n) => nsock::setsockopt(&fd, sockopt::RcvBuf, &n),
            SockOpt::SendBuf(n) => nsock::setsockopt(&fd, sockopt::SndBuf, &n),
        }
        .map_err(errno_of)
    }

    fn get_option(&self, s: SockId, name: SockOptName) -> Result<SockOpt, Errno> {
        let sock = self.socks.get(&s.0).ok_or(Errno::EBADF)?;
        let fd = sock.fd();
        let secs = |n: u32| stack::Duration::from_secs(u64::from(n));
        Ok(match name {
            SockOptName::KeepAlive => {
                SockOpt::KeepAlive(nsock::getsockopt(&fd, sockopt::KeepAlive).map_err(errno_of)?)
            }
            SockOptName::KeepIdle => SockOpt::KeepIdle(secs(
                nsock::getsockopt(&fd, sockopt::TcpKeepIdle).map_err(errno_of)?,
            )),
            SockOptName::KeepIntvl => SockOpt::KeepIntvl(secs(
                nsock::getsockopt(&fd, sockopt::TcpKeepInterval).map_err(errno_of)?,
            )),
            SockOptName::KeepCnt => {
                SockOpt::KeepCnt(nsock::getsockopt(&fd, sockopt::TcpKeepCount).map_err(errno_of)?)
            }
            SockOptName::Linger => {
                let l = nsock::getsockopt(&fd, sockopt::Linger).map_err(errno_of)?;
                SockOpt::Linger(
                    (l.l_onoff != 0).then(|| secs(u32::try_from(l.l_linger).unwrap_or(0))),
                )
            }
            SockOptName::NoDelay => {
                SockOpt::NoDelay(nsock::getsockopt(&fd, sockopt::TcpNoDelay).map_err(errno_of)?)
            }
            SockOptName::UserTimeout => SockOpt::UserTimeout(stack::Duration::from_millis(
                u64::from(nsock::getsockopt(&fd, sockopt::TcpUserTimeout).map_err(errno_of)?),
            )),
            SockOptName::ReuseAddr => {
                SockOpt::ReuseAddr(nsock::getsockopt(&fd, sockopt::ReuseAddr).map_err(errno_of)?)
            }
            SockOptName::RecvBuf => {
                SockOpt::RecvBuf(nsock::getsockopt(&fd, sockopt::RcvBuf).map_err(errno_of)?)
            }
            SockOptName::SendBuf => {
                SockOpt::SendBuf(nsock::getsockopt(&fd, sockopt::SndBuf).map_err(errno_of)?)
            }
        })
    }

    fn take_error(&mut self, s: SockId) -> Option<Errno> {
        let sock = self.socks.get(&s.0)?;
        match nsock::getsockopt(&sock.fd(), sockopt::SocketError) {
            Ok(0) | Err(_) => None,
            Ok(n) => Some(errno_of(nix::Error::from_raw(n))),
        }
    }

    fn state(&self, s: SockId) -> Option<State> {
        let t = self.four_tuple(s)?;
        let table = self.table();
        match self.socks.get(&s.0)? {
            Sock::Listener(_) => table
                .iter()
                .find(|e| e.local.port() == t.local.port() && e.state == State::Listen)
                .map(|e| e.state),
            // A socket still connecting has no peer address yet: its local address is unique.
            Sock::Stream(_) => table
                .iter()
                .find(|e| {
                    e.local == t.local
                        && (e.remote == t.remote || t.remote.ip().is_unspecified())
                        && e.state != State::Listen
                })
                .map(|e| e.state),
        }
    }

    fn four_tuple(&self, s: SockId) -> Option<FourTuple> {
        let (local, remote) = match self.socks.get(&s.0)? {
            Sock::Listener(l) => (l.local_addr().ok()?, None),
            Sock::Stream(t) => (t.local_addr().ok()?, t.peer_addr().ok()),
        };
        let v4 = |a: std::net::SocketAddr| match a {
            std::net::SocketAddr::V4(a) => Some(a),
            std::net::SocketAddr::V6(_) => None,
        };
        Some(FourTuple {
            local: v4(local)?,
            remote: remote
                .and_then(v4)
                .or_else(|| self.peers.get(&s.0).copied())
                .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
        })
    }

    fn connections(&self) -> Vec<(FourTuple, State)> {
        let mut v: Vec<(FourTuple, State)> = self
            .table()
            .into_iter()
            .filter(|e| e.state != State::Listen)
            .map(|e| {
                (
                    FourTuple {
                        local: e.local,
                        remote: e.remote,
                    },
                    e.state,
                )
            })
            .collect();
        v.sort_by_key(|(t, _)| (t.local.port(), t.remote.ip().octets(), t.remote.port()));
        v
    }

    fn time_wait(&self) -> Option<stack::Duration> {
        // TCP_TIMEWAIT_LEN (include/net/tcp.h): 60 s, whatever the configuration.
        Some(stack::Duration::from_secs(60))
    }

    fn reboot(&mut self, _now: Instant) {
        // Not declared (capabilities.reboot is false): a live kernel cannot forget silently.
    }

    fn expire_neighbor(&mut self, _now: Instant, addr: Ipv4Addr) -> bool {
        self.ns
            .run(move || ip(&["neigh", "del", &addr.to_string(), "dev", DEV]).is_ok())
            .unwrap_or(false)
    }
}
