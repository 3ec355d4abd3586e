//! smoltcp in-process: its `Interface` on the Ethernet medium (its own neighbour cache and ARP
//! run) with one TCP socket per connection, driven by the simulator's virtual clock (smoltcp
//! takes time as an argument, so runs stay deterministic).
//!
//! The socket API maps onto smoltcp's the way a smoltcp application uses it, nothing more:
//! - `listen` opens one listening socket; when it leaves LISTEN (a SYN arrived) it becomes a
//!   pending connection and a new listening socket takes its place, up to `backlog` pending
//!   ones (smoltcp has no accept queue: this is the re-listen loop its applications run);
//! - `connect` picks an ephemeral port (smoltcp needs an explicit one) from the seed;
//! - `close` is smoltcp's `close` (send FIN); with `SO_LINGER` 0 it is `abort` (send RST);
//! - errors: smoltcp reports no reset/refused/timeout cause, so a socket that went CLOSED
//!   reads `ENOTCONN` and `SO_ERROR` is always empty. The harness sees what smoltcp shows.

mod device;
mod knobs;

use crate::{
    AdapterSpec, Capabilities, Dut, Errno, Refusal, SockId, SockOpt, SockOptName, StackConfig,
    TimeModel,
};
use ::smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use ::smoltcp::socket::tcp;
use ::smoltcp::time::{Duration as SDuration, Instant as SInstant};
use ::smoltcp::wire::{EthernetAddress as SMac, HardwareAddress, IpAddress, IpCidr, IpEndpoint};
use core::net::SocketAddrV4;
use device::Device;
use stack::policy::Profile;
use stack::tcp::{FourTuple, State};
use stack::{Duration, Event, Instant};
use std::collections::{BTreeMap, VecDeque};

/// smoltcp 0.14's `CLOSE_DELAY` (socket/tcp.rs): how long its TIME-WAIT lasts.
const SMOLTCP_TIME_WAIT: Duration = Duration::from_secs(10);

/// What the smoltcp adapter declares.
pub const CAPABILITIES: Capabilities = Capabilities {
    time: TimeModel::Virtual,
    events: false,
    state: true,
    reboot: true,
    neighbor_control: false,
    knobs: knobs::KNOBS,
    all_knobs: false,
    raw_sysctls: false,
};

/// Builds [`SmoltcpDut`]s.
pub const ADAPTER: AdapterSpec = AdapterSpec {
    name: "smoltcp",
    describe: "smoltcp 0.14 in-process: Interface + TCP sockets on Ethernet, virtual clock",
    capabilities: &CAPABILITIES,
    unavailable: || None,
    build: |c| Ok(Box::new(SmoltcpDut::new(c)?)),
};

/// The settings the adapter maps from the profile (the knobs smoltcp honours).
#[derive(Clone, Copy, Debug)]
struct Mapped {
    nagle: bool,
    ack_delay: Option<SDuration>,
    keepalive: bool,
    keep_idle: SDuration,
    user_timeout: Option<SDuration>,
    rcv_buf: usize,
    snd_buf: usize,
    mss: usize,
}

impl Mapped {
    fn from(p: &Profile) -> Mapped {
        let t = &p.tcp;
        Mapped {
            nagle: t.nagle,
            ack_delay: t.delayed_ack.map(sdur),
            keepalive: t.keepalive.enabled,
            keep_idle: sdur(t.keepalive.idle),
            user_timeout: t.user_timeout.map(sdur),
            rcv_buf: t.rcv_buf.max(1),
            snd_buf: t.snd_buf.max(1),
            mss: usize::from(t.mss),
        }
    }
}

fn sdur(d: Duration) -> SDuration {
    SDuration::from_micros(d.total_micros())
}

fn sinstant(t: Instant) -> SInstant {
    SInstant::from_micros(i64::try_from(t.total_micros()).unwrap_or(i64::MAX))
}

fn instant(t: SInstant) -> Instant {
    Instant::from_micros(u64::try_from(t.total_micros()).unwrap_or(0))
}

/// One descriptor the harness holds.
#[derive(Clone, Debug)]
enum Sock {
    Listener {
        port: u16,
        backlog: usize,
        /// The socket in LISTEN, if one is armed.
        armed: Option<SocketHandle>,
        /// Sockets that left LISTEN, not yet accepted.
        pending: VecDeque<SocketHandle>,
    },
    Conn {
        handle: SocketHandle,
        /// `SO_LINGER` 0: close means abort.
        linger_zero: bool,
        keep_idle: SDuration,
        keepalive: bool,
    },
}

/// smoltcp behind the [`Dut`] trait.
pub struct SmoltcpDut {
    config: StackConfig,
    mapped: Mapped,
    iface: Interface,
    dev: Device,
    sockets: SocketSet<'static>,
    socks: BTreeMap<u32, Sock>,
    /// Sockets the harness closed that smoltcp still runs (FIN-WAIT, TIME-WAIT, ...).
    orphans: Vec<SocketHandle>,
    next_id: u32,
    next_port: u16,
    boots: u64,
    /// The deadline computed after the last poll.
    next: Option<Instant>,
    last_poll: Instant,
}

/// smoltcp panics on a non-unicast hardware address; refuse it first.
fn check_addresses(c: &StackConfig) -> Result<(), Refusal> {
    let invalid = |reason: String| Refusal::Invalid {
        stack: "smoltcp",
        reason,
    };
    if c.mac.0[0] & 1 == 1 || c.mac.0 == [0; 6] {
        return Err(invalid(format!("{} is not a unicast MAC", c.mac)));
    }
    if c.prefix_len > 32 {
        return Err(invalid(format!("prefix length {} > 32", c.prefix_len)));
    }
    let a = c.addr;
    if a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.is_loopback() {
        return Err(invalid(format!("{a} is not a unicast address")));
    }
    Ok(())
}

impl SmoltcpDut {
    pub fn new(c: &StackConfig) -> Result<SmoltcpDut, Refusal> {
        c.check("smoltcp", &CAPABILITIES)?;
        check_addresses(c)?;
        let mapped = Mapped::from(&c.profile);
        let (iface, dev) = Self::interface(c, &mapped, c.seed)?;
        Ok(SmoltcpDut {
            config: c.clone(),
            mapped,
            iface,
            dev,
            sockets: SocketSet::new(Vec::new()),
            socks: BTreeMap::new(),
            orphans: Vec::new(),
            next_id: 3,
            next_port: 49_152 + (c.seed % 16_384) as u16,
            boots: 0,
            next: None,
            last_poll: Instant::ZERO,
        })
    }

    fn interface(c: &StackConfig, m: &Mapped, seed: u64) -> Result<(Interface, Device), Refusal> {
        // smoltcp's MSS is the IP MTU less 40 bytes of headers; the Ethernet MTU adds 14.
        let mut dev = Device::new(m.mss + 40 + 14);
        let mut cfg = Config::new(HardwareAddress::Ethernet(SMac(c.mac.0)));
        cfg.random_seed = seed;
        let mut iface = Interface::new(cfg, &mut dev, SInstant::from_micros(0));
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(c.addr), c.prefix_len));
        });
        if let Some(gw) = c.gateway {
            iface
                .routes_mut()
                .add_default_ipv4_route(gw)
                .map_err(|_| Refusal::Invalid {
                    stack: "smoltcp",
                    reason: format!("cannot route via {gw}"),
                })?;
        }
        Ok((iface, dev))
    }

    fn new_socket(&mut self) -> SocketHandle {
        let rx = tcp::SocketBuffer::new(vec![0u8; self.mapped.rcv_buf]);
        let tx = tcp::SocketBuffer::new(vec![0u8; self.mapped.snd_buf]);
        let mut s = tcp::Socket::new(rx, tx);
        s.set_nagle_enabled(self.mapped.nagle);
        s.set_ack_delay(self.mapped.ack_delay);
        s.set_timeout(self.mapped.user_timeout);
        if self.mapped.keepalive {
            s.set_keep_alive(Some(self.mapped.keep_idle));
        }
        self.sockets.add(s)
    }

    fn sock(&mut self, h: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket<'static>>(h)
    }

    fn sock_ref(&self, h: SocketHandle) -> &tcp::Socket<'static> {
        self.sockets.get::<tcp::Socket<'static>>(h)
    }

    fn conn(&self, s: SockId) -> Result<SocketHandle, Errno> {
        match self.socks.get(&s.0) {
            Some(Sock::Conn { handle, .. }) => Ok(*handle),
            Some(Sock::Listener { .. }) => Err(Errno::ENOTCONN),
            None => Err(Errno::EBADF),
        }
    }

    /// A descriptor for connection socket `h` (accepted or connecting), then a poll.
    fn add_conn(&mut self, now: Instant, h: SocketHandle) -> SockId {
        let id = self.add(Sock::Conn {
            handle: h,
            linger_zero: false,
            keep_idle: self.mapped.keep_idle,
            keepalive: self.mapped.keepalive,
        });
        self.poll(now);
        id
    }

    fn add(&mut self, s: Sock) -> SockId {
        let id = self.next_id;
        self.next_id += 1;
        self.socks.insert(id, s);
        SockId(id)
    }

    /// One smoltcp poll at `now`, then the listeners re-armed, closed orphans dropped and the
    /// next deadline computed.
    fn poll(&mut self, now: Instant) {
        let ts = sinstant(now);
        self.iface.poll(ts, &mut self.dev, &mut self.sockets);
        self.rearm();
        self.reap();
        self.last_poll = now;
        self.next = self
            .iface
            .poll_at(ts, &self.sockets)
            .map(|t| instant(t).max(now));
        // smoltcp may ask to be polled "now" again (e.g. a socket waiting for its neighbour);
        // a zero-length wait would spin the simulator, so wait at least one millisecond.
        if self.next == Some(now) {
            self.next = Some(now + Duration::from_millis(1));
        }
    }

    /// Every listener whose socket left LISTEN gets a fresh one (while its backlog has room).
    fn rearm(&mut self) {
        let ids: Vec<u32> = self.socks.keys().copied().collect();
        for id in ids {
            let Some(Sock::Listener {
                port,
                backlog,
                armed,
                pending,
            }) = self.socks.get(&id).cloned()
            else {
                continue;
            };
            let mut armed = armed;
            let mut pending = pending;
            // A pending socket that an RST sent back to LISTEN (RFC 9293 §3.10.7.4, SYN-RECEIVED
            // from a passive open) listens again: it is armed unless another socket already is.
            let mut relisten = Vec::new();
            pending.retain(|&h| {
                let back =
                    self.sockets.get::<tcp::Socket<'static>>(h).state() == tcp::State::Listen;
                if back {
                    relisten.push(h);
                }
                !back
            });
            for h in relisten {
                if armed.is_none() {
                    armed = Some(h);
                } else {
                    self.sockets.remove(h);
                }
            }
            if let Some(h) = armed {
                if self.sock_ref(h).state() != tcp::State::Listen {
                    pending.push_back(h);
                    armed = None;
                }
            }
            if armed.is_none() && pending.len() < backlog.max(1) {
                let h = self.new_socket();
                if self.sock(h).listen(port).is_ok() {
                    armed = Some(h);
                } else {
                    self.sockets.remove(h);
                }
            }
            self.socks.insert(
                id,
                Sock::Listener {
                    port,
                    backlog,
                    armed,
                    pending,
                },
            );
        }
    }

    /// Drops closed sockets nobody holds any more.
    fn reap(&mut self) {
        let mut keep = Vec::new();
        for h in std::mem::take(&mut self.orphans) {
            if self.sock_ref(h).state() == tcp::State::Closed {
                self.sockets.remove(h);
            } else {
                keep.push(h);
            }
        }
        self.orphans = keep;
    }

    fn ephemeral_port(&mut self) -> u16 {
        let p = self.next_port;
        self.next_port = p.checked_add(1).unwrap_or(49_152);
        p
    }

    fn tuple_of(&self, h: SocketHandle) -> Option<FourTuple> {
        let s = self.sock_ref(h);
        let (l, r) = (s.local_endpoint()?, s.remote_endpoint()?);
        match (l.addr, r.addr) {
            (IpAddress::Ipv4(la), IpAddress::Ipv4(ra)) => {
                Some(FourTuple::new(la, l.port, ra, r.port))
            }
        }
    }
}

fn state(s: tcp::State) -> State {
    match s {
        tcp::State::Closed => State::Closed,
        tcp::State::Listen => State::Listen,
        tcp::State::SynSent => State::SynSent,
        tcp::State::SynReceived => State::SynReceived,
        tcp::State::Established => State::Established,
        tcp::State::FinWait1 => State::FinWait1,
        tcp::State::FinWait2 => State::FinWait2,
        tcp::State::CloseWait => State::CloseWait,
        tcp::State::Closing => State::Closing,
        tcp::State::LastAck => State::LastAck,
        tcp::State::TimeWait => State::TimeWait,
    }
}

impl Dut for SmoltcpDut {
    fn kind(&self) -> &'static str {
        "smoltcp"
    }

    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        self.dev.rx.push_back(frame.to_vec());
        self.poll(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.poll(now);
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.dev.tx.is_empty() {
            self.poll(now);
        }
        self.dev.tx.pop_front()
    }

    fn poll_at(&self) -> Option<Instant> {
        self.next
    }

    fn take_events(&mut self) -> Vec<Event> {
        Vec::new()
    }

    fn listen(&mut self, now: Instant, port: u16, backlog: usize) -> Result<SockId, Errno> {
        if port == 0 {
            return Err(Errno::EINVAL);
        }
        let taken = self
            .socks
            .values()
            .any(|s| matches!(s, Sock::Listener { port: p, .. } if *p == port));
        if taken {
            return Err(Errno::EADDRINUSE);
        }
        let id = self.add(Sock::Listener {
            port,
            backlog,
            armed: None,
            pending: VecDeque::new(),
        });
        self.poll(now);
        Ok(id)
    }

    fn accept(&mut self, now: Instant, listener: SockId) -> Result<SockId, Errno> {
        let Some(Sock::Listener { pending, .. }) = self.socks.get(&listener.0) else {
            return Err(if self.socks.contains_key(&listener.0) {
                Errno::EINVAL
            } else {
                Errno::EBADF
            });
        };
        // BSD accept returns connections that completed the handshake (or were torn down
        // after it): not those still in SYN-RECEIVED.
        let ready = pending.iter().position(|&h| {
            !matches!(
                self.sock_ref(h).state(),
                tcp::State::SynReceived | tcp::State::Listen
            )
        });
        let Some(i) = ready else {
            return Err(Errno::EAGAIN);
        };
        let h = match self.socks.get_mut(&listener.0) {
            Some(Sock::Listener { pending, .. }) => pending.remove(i),
            _ => None,
        };
        let h = h.ok_or(Errno::EAGAIN)?;
        Ok(self.add_conn(now, h))
    }

    fn connect(
        &mut self,
        now: Instant,
        local_port: u16,
        remote: SocketAddrV4,
    ) -> Result<SockId, Errno> {
        let port = if local_port == 0 {
            self.ephemeral_port()
        } else {
            local_port
        };
        let h = self.new_socket();
        let remote_ep = IpEndpoint::new(IpAddress::Ipv4(*remote.ip()), remote.port());
        let r = self.sockets.get_mut::<tcp::Socket<'static>>(h).connect(
            self.iface.context(),
            remote_ep,
            port,
        );
        if r.is_err() {
            self.sockets.remove(h);
            return Err(Errno::EINVAL);
        }
        Ok(self.add_conn(now, h))
    }

    fn send(&mut self, now: Instant, s: SockId, data: &[u8]) -> Result<usize, Errno> {
        let h = self.conn(s)?;
        let sock = self.sock(h);
        let r = match sock.state() {
            tcp::State::SynSent | tcp::State::SynReceived => Err(Errno::EAGAIN),
            _ if !sock.may_send() => Err(Errno::EPIPE),
            _ => match sock.send_slice(data) {
                Ok(0) if !data.is_empty() => Err(Errno::EAGAIN),
                Ok(n) => Ok(n),
                Err(_) => Err(Errno::EPIPE),
            },
        };
        self.poll(now);
        r
    }

    fn recv(&mut self, now: Instant, s: SockId, buf: &mut [u8]) -> Result<usize, Errno> {
        let h = self.conn(s)?;
        let sock = self.sock(h);
        let r = match sock.recv_slice(buf) {
            Ok(0) if !buf.is_empty() => Err(Errno::EAGAIN),
            Ok(n) => Ok(n),
            Err(tcp::RecvError::Finished) => Ok(0),
            Err(tcp::RecvError::InvalidState) => match sock.state() {
                tcp::State::SynSent | tcp::State::SynReceived => Err(Errno::EAGAIN),
                _ => Err(Errno::ENOTCONN),
            },
        };
        // Reading opens the window: smoltcp may now send a window update.
        self.poll(now);
        r
    }

    fn close(&mut self, now: Instant, s: SockId) -> Result<(), Errno> {
        match self.socks.remove(&s.0) {
            None => return Err(Errno::EBADF),
            Some(Sock::Listener { armed, pending, .. }) => {
                for h in armed.into_iter().chain(pending) {
                    self.sock(h).abort();
                    self.orphans.push(h);
                }
            }
            Some(Sock::Conn {
                handle,
                linger_zero,
                ..
            }) => {
                if linger_zero {
                    self.sock(handle).abort();
                } else {
                    self.sock(handle).close();
                }
                self.orphans.push(handle);
            }
        }
        self.poll(now);
        Ok(())
    }

    fn shutdown_write(&mut self, now: Instant, s: SockId) -> Result<(), Errno> {
        let h = self.conn(s)?;
        let st = self.sock_ref(h).state();
        if matches!(st, tcp::State::Closed | tcp::State::Listen) {
            return Err(Errno::ENOTCONN);
        }
        // smoltcp's `close` closes the transmit half only: it is shutdown(SHUT_WR).
        self.sock(h).close();
        self.poll(now);
        Ok(())
    }

    fn abort(&mut self, now: Instant, s: SockId) -> Result<(), Errno> {
        let h = self.conn(s)?;
        self.sock(h).abort();
        self.poll(now);
        Ok(())
    }

    fn set_option(&mut self, s: SockId, opt: SockOpt) -> Result<(), Errno> {
        let Some(Sock::Conn {
            handle,
            linger_zero,
            keep_idle,
            keepalive,
        }) = self.socks.get(&s.0).cloned()
        else {
            return Err(if self.socks.contains_key(&s.0) {
                Errno::ENOPROTOOPT
            } else {
                Errno::EBADF
            });
        };
        let (mut linger_zero, mut keep_idle, mut keepalive) = (linger_zero, keep_idle, keepalive);
        let sock = self.sock(handle);
        match opt {
            SockOpt::NoDelay(on) => sock.set_nagle_enabled(!on),
            SockOpt::KeepAlive(on) => {
                keepalive = on;
                sock.set_keep_alive(on.then_some(keep_idle));
            }
            SockOpt::KeepIdle(d) => {
                keep_idle = sdur(d);
                if keepalive {
                    sock.set_keep_alive(Some(keep_idle));
                }
            }
            SockOpt::UserTimeout(d) => {
                sock.set_timeout((d != Duration::ZERO).then(|| sdur(d)));
            }
            SockOpt::Linger(Some(d)) if d == Duration::ZERO => linger_zero = true,
            SockOpt::Linger(None) => linger_zero = false,
            // smoltcp has no reuse restriction to lift.
            SockOpt::ReuseAddr(_) => {}
            // No separate probe interval or count, no lingering close, no buffer resize.
            SockOpt::KeepIntvl(_)
            | SockOpt::KeepCnt(_)
            | SockOpt::Linger(Some(_))
            | SockOpt::RecvBuf(_)
            | SockOpt::SendBuf(_) => return Err(Errno::ENOPROTOOPT),
        }
        self.socks.insert(
            s.0,
            Sock::Conn {
                handle,
                linger_zero,
                keep_idle,
                keepalive,
            },
        );
        Ok(())
    }

    fn get_option(&self, s: SockId, name: SockOptName) -> Result<SockOpt, Errno> {
        let Some(Sock::Conn {
            handle,
            linger_zero,
            keep_idle,
            keepalive,
        }) = self.socks.get(&s.0)
        else {
            return Err(if self.socks.contains_key(&s.0) {
                Errno::ENOPROTOOPT
            } else {
                Errno::EBADF
            });
        };
        let sock = self.sock_ref(*handle);
        let dur = |d: SDuration| Duration::from_micros(d.total_micros());
        Ok(match name {
            SockOptName::NoDelay => SockOpt::NoDelay(!sock.nagle_enabled()),
            SockOptName::KeepAlive => SockOpt::KeepAlive(*keepalive),
            SockOptName::KeepIdle => SockOpt::KeepIdle(dur(*keep_idle)),
            SockOptName::UserTimeout => {
                SockOpt::UserTimeout(sock.timeout().map_or(Duration::ZERO, dur))
            }
            SockOptName::Linger => SockOpt::Linger(linger_zero.then_some(Duration::ZERO)),
            SockOptName::RecvBuf => SockOpt::RecvBuf(sock.recv_capacity()),
            SockOptName::SendBuf => SockOpt::SendBuf(sock.send_capacity()),
            SockOptName::ReuseAddr | SockOptName::KeepIntvl | SockOptName::KeepCnt => {
                return Err(Errno::ENOPROTOOPT)
            }
        })
    }

    fn take_error(&mut self, _s: SockId) -> Option<Errno> {
        // smoltcp does not say why a connection ended.
        None
    }

    fn state(&self, s: SockId) -> Option<State> {
        match self.socks.get(&s.0)? {
            Sock::Listener { .. } => Some(State::Listen),
            Sock::Conn { handle, .. } => Some(state(self.sock_ref(*handle).state())),
        }
    }

    fn unread(&self, s: SockId) -> Option<usize> {
        match self.socks.get(&s.0)? {
            Sock::Listener { .. } => None,
            Sock::Conn { handle, .. } => Some(self.sock_ref(*handle).recv_queue()),
        }
    }

    fn four_tuple(&self, s: SockId) -> Option<FourTuple> {
        match self.socks.get(&s.0)? {
            Sock::Listener { .. } => None,
            Sock::Conn { handle, .. } => self.tuple_of(*handle),
        }
    }

    fn connections(&self) -> Vec<(FourTuple, State)> {
        let mut v: Vec<(FourTuple, State)> = self
            .sockets
            .iter()
            .filter_map(|(h, s)| match s {
                ::smoltcp::socket::Socket::Tcp(t) => {
                    let st = t.state();
                    if matches!(st, tcp::State::Closed | tcp::State::Listen) {
                        return None;
                    }
                    Some((self.tuple_of(h)?, state(st)))
                }
            })
            .collect();
        v.sort_by_key(|(t, _)| {
            (
                *t.local.ip(),
                t.local.port(),
                *t.remote.ip(),
                t.remote.port(),
            )
        });
        v
    }

    /// smoltcp's TIME-WAIT is its fixed `CLOSE_DELAY` of 10 s, whatever the profile asks
    /// (`tcp.msl` is [`KnobSupport::Fixed`](crate::KnobSupport::Fixed) at 5 s): declared, so
    /// the oracles judge an early end (RFC 1337 assassination) instead of saying "cannot judge".
    fn time_wait(&self) -> Option<Duration> {
        Some(SMOLTCP_TIME_WAIT)
    }

    fn reboot(&mut self, now: Instant) {
        self.boots += 1;
        let seed = self.config.seed ^ self.boots.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        if let Ok((iface, dev)) = Self::interface(&self.config, &self.mapped, seed) {
            self.iface = iface;
            self.dev = dev;
        }
        self.sockets = SocketSet::new(Vec::new());
        self.socks.clear();
        self.orphans.clear();
        self.next = None;
        self.last_poll = now;
    }
}

#[cfg(test)]
mod tests;
