//! The reference stack ([`stack::host::Host`]) as a [`Dut`]: every knob honoured, every
//! capability present.

use crate::{
    AdapterSpec, Capabilities, Dut, Errno, Refusal, SockId, SockOpt, SockOptName, StackConfig,
    TimeModel,
};
use core::net::{Ipv4Addr, SocketAddrV4};
use stack::host::{Host, HostConfig};
use stack::tcp::{
    AcceptError, CloseError, ConnectError, FourTuple, ListenError, OptionError, RecvError,
    SendError, SocketError, SocketHandle, State,
};
use stack::{Event, Instant};

/// What the reference stack declares.
pub const CAPABILITIES: Capabilities = Capabilities {
    time: TimeModel::Virtual,
    events: true,
    state: true,
    reboot: true,
    neighbor_control: true,
    knobs: &[],
    all_knobs: true,
    raw_sysctls: false,
};

/// Builds [`ReferenceDut`]s.
pub const ADAPTER: AdapterSpec = AdapterSpec {
    name: "reference",
    describe: "the workspace's own TCP/ARP/IPv4 stack, in-process, every knob honoured",
    capabilities: &CAPABILITIES,
    unavailable: || None,
    build: |c| Ok(Box::new(ReferenceDut::new(c)?)),
};

/// The reference host behind the [`Dut`] trait.
pub struct ReferenceDut {
    host: Host,
    /// 2·MSL of the profile: how long its TIME-WAIT lasts.
    time_wait: stack::Duration,
}

impl ReferenceDut {
    pub fn new(c: &StackConfig) -> Result<ReferenceDut, Refusal> {
        c.check("reference", &CAPABILITIES)?;
        let time_wait = c.profile.tcp.msl + c.profile.tcp.msl;
        let mut host = Host::new(HostConfig {
            mac: c.mac,
            addr: c.addr,
            prefix_len: c.prefix_len,
            gateway: c.gateway,
            // Shared, not copied: a world of many hosts keeps one profile.
            profile: c.profile.clone(),
            seed: c.seed,
        })
        .map_err(|e| Refusal::Invalid {
            stack: "reference",
            reason: e.to_string(),
        })?;
        for &(ip, mac) in &c.static_arp {
            host.iface().add_static_neighbor(Instant::ZERO, ip, mac);
        }
        Ok(ReferenceDut { host, time_wait })
    }

    /// The host, for introspection.
    pub fn host(&mut self) -> &mut Host {
        &mut self.host
    }
}

fn h(s: SockId) -> SocketHandle {
    SocketHandle(s.0)
}

fn sock_errno(e: SocketError) -> Errno {
    match e {
        SocketError::ConnectionReset => Errno::ECONNRESET,
        SocketError::ConnectionRefused => Errno::ECONNREFUSED,
        SocketError::TimedOut => Errno::ETIMEDOUT,
    }
}

fn opt_errno(e: OptionError) -> Errno {
    match e {
        OptionError::InvalidHandle => Errno::EBADF,
        _ => Errno::EINVAL,
    }
}

fn close_errno(e: CloseError) -> Errno {
    match e {
        CloseError::NotConnected => Errno::ENOTCONN,
        _ => Errno::EBADF,
    }
}

impl Dut for ReferenceDut {
    fn kind(&self) -> &'static str {
        "reference"
    }

    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        self.host.handle_frame(now, frame);
    }

    fn ignores_frame(&self, frame: &[u8]) -> bool {
        self.host.ignores_frame(frame)
    }

    fn ignores_arp(
        &self,
        eth_dst: stack::wire::EthernetAddress,
        arp: &stack::wire::ArpRepr,
    ) -> bool {
        self.host.ignores_arp(eth_dst, arp)
    }

    fn arp_interest(&mut self, out: &mut Vec<stack::arp::Interest>) -> bool {
        self.host.watch_arp_interest();
        self.host.drain_arp_interest(out)
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.host.handle_timeout(now);
    }

    fn work(&self) -> u64 {
        self.host.work()
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.host.poll_transmit(now)
    }

    fn poll_at(&self) -> Option<Instant> {
        self.host.poll_at()
    }

    fn take_events(&mut self) -> Vec<Event> {
        self.host.take_events()
    }

    fn discard_events(&mut self) {
        self.host.discard_events();
    }

    fn take_woken(&mut self, out: &mut Vec<SockId>) -> bool {
        out.extend(self.host.tcp().take_woken().map(|s| SockId(s.0)));
        true
    }

    fn listen(&mut self, now: Instant, port: u16, backlog: usize) -> Result<SockId, Errno> {
        let local = SocketAddrV4::new(self.host.addr(), port);
        self.host
            .tcp()
            .listen(now, local, backlog)
            .map(|s| SockId(s.0))
            .map_err(|e| match e {
                ListenError::AddressInUse => Errno::EADDRINUSE,
                _ => Errno::EINVAL,
            })
    }

    fn accept(&mut self, now: Instant, listener: SockId) -> Result<SockId, Errno> {
        self.host
            .tcp()
            .accept(now, h(listener))
            .map(|s| SockId(s.0))
            .map_err(|e| match e {
                AcceptError::WouldBlock => Errno::EAGAIN,
                AcceptError::NotListening => Errno::EINVAL,
                _ => Errno::EBADF,
            })
    }

    fn connect(
        &mut self,
        now: Instant,
        local_port: u16,
        remote: SocketAddrV4,
    ) -> Result<SockId, Errno> {
        let local = SocketAddrV4::new(self.host.addr(), local_port);
        self.host
            .tcp()
            .connect(now, local, remote)
            .map(|s| SockId(s.0))
            .map_err(|e| match e {
                ConnectError::AddressInUse | ConnectError::NoEphemeralPort => Errno::EADDRINUSE,
                _ => Errno::EINVAL,
            })
    }

    fn send(&mut self, now: Instant, s: SockId, data: &[u8]) -> Result<usize, Errno> {
        self.host.tcp().send(now, h(s), data).map_err(|e| match e {
            SendError::WouldBlock => Errno::EAGAIN,
            SendError::NotConnected => Errno::EPIPE,
            SendError::ConnectionReset => Errno::ECONNRESET,
            SendError::ConnectionRefused => Errno::ECONNREFUSED,
            SendError::TimedOut => Errno::ETIMEDOUT,
            _ => Errno::EBADF,
        })
    }

    fn recv(&mut self, now: Instant, s: SockId, buf: &mut [u8]) -> Result<usize, Errno> {
        self.host.tcp().recv(now, h(s), buf).map_err(|e| match e {
            RecvError::WouldBlock => Errno::EAGAIN,
            RecvError::NotConnected => Errno::ENOTCONN,
            RecvError::ConnectionReset => Errno::ECONNRESET,
            RecvError::ConnectionRefused => Errno::ECONNREFUSED,
            RecvError::TimedOut => Errno::ETIMEDOUT,
            _ => Errno::EBADF,
        })
    }

    fn close(&mut self, now: Instant, s: SockId) -> Result<(), Errno> {
        self.host.tcp().close(now, h(s)).map_err(close_errno)
    }

    fn shutdown_write(&mut self, now: Instant, s: SockId) -> Result<(), Errno> {
        self.host
            .tcp()
            .shutdown_write(now, h(s))
            .map_err(close_errno)
    }

    fn abort(&mut self, now: Instant, s: SockId) -> Result<(), Errno> {
        self.host.tcp().abort(now, h(s)).map_err(close_errno)
    }

    fn set_option(&mut self, s: SockId, opt: SockOpt) -> Result<(), Errno> {
        self.host.tcp().set_option(h(s), opt).map_err(opt_errno)
    }

    fn get_option(&self, s: SockId, name: SockOptName) -> Result<SockOpt, Errno> {
        self.host
            .tcp_ref()
            .get_option(h(s), name)
            .map_err(opt_errno)
    }

    fn take_error(&mut self, s: SockId) -> Option<Errno> {
        self.host.tcp().take_error(h(s)).map(sock_errno)
    }

    fn state(&self, s: SockId) -> Option<State> {
        self.host.tcp_ref().state(h(s))
    }

    fn unread(&self, s: SockId) -> Option<usize> {
        self.host.tcp_ref().tcb_info(h(s)).map(|t| t.rx_queued)
    }

    fn congestion(&self, s: SockId) -> Option<crate::Congestion> {
        self.host
            .tcp_ref()
            .tcb_info(h(s))
            .map(|t| crate::Congestion {
                cwnd: t.cwnd as usize,
                flight: t.snd_nxt.diff(t.snd_una).max(0) as usize,
            })
    }

    fn four_tuple(&self, s: SockId) -> Option<FourTuple> {
        self.host.tcp_ref().four_tuple(h(s))
    }

    fn connections(&self) -> Vec<(FourTuple, State)> {
        self.host
            .tcp_ref()
            .connections()
            .map(|(_, t, s)| (t, s))
            .collect()
    }

    fn reboot(&mut self, now: Instant) {
        self.host.reboot(now);
    }

    fn time_wait(&self) -> Option<stack::Duration> {
        Some(self.time_wait)
    }

    fn expire_neighbor(&mut self, now: Instant, addr: Ipv4Addr) -> bool {
        self.host.iface().expire_neighbor(now, addr)
    }
}
