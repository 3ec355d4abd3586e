//! Applications that run on simulated hosts, enough to replay the founding incidents:
//! a request/response client with a keep-alive pool and its own idle timeout, a server whose
//! idle connections are reaped on a periodic tick (IIS: 120 s timeout, 5 s tick), and an
//! application-level heartbeat (OpenSSH `ClientAliveInterval` × `ClientAliveCountMax`).
//!
//! The wire format is a minimal HTTP/1.1 so captures read naturally in Wireshark.

use crate::dut::{Dut, Errno, SockId, SockOpt};
use crate::trace::AppEvent;
use core::net::SocketAddrV4;
use stack::tcp::FourTuple;
use stack::{Duration, Instant};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::slab::Slab;

/// Which sockets may have changed since the applications last looked.
#[derive(Clone, Copy, Debug)]
pub enum Woken<'a> {
    /// The stack cannot tell: look at every socket.
    All,
    /// Only these (a superset of the sockets with news).
    Only(&'a [SockId]),
}

/// An application on a host. `poll` is called after every change the host sees and at the
/// app's own deadline.
pub trait App {
    fn poll(&mut self, now: Instant, dut: &mut dyn Dut, woken: Woken<'_>, log: &mut Vec<AppEvent>);
    fn poll_at(&self) -> Option<Instant>;
    /// The host rebooted: every socket is gone; start over as a freshly started program.
    fn reset(&mut self, now: Instant);
    /// Connections looked at so far (a work counter, for tests that check no poll scans every
    /// connection); 0 for an application that holds one connection at a time.
    fn work(&self) -> u64 {
        0
    }
}

/// Keepalive settings an application puts on its sockets (`SO_KEEPALIVE` + `TCP_KEEP*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    pub idle: Duration,
    pub interval: Duration,
    pub probes: u32,
}

fn apply_keepalive(dut: &mut dyn Dut, s: SockId, ka: Option<Keepalive>) {
    if let Some(k) = ka {
        // Errors here mean the stack lacks the option; the run shows the consequence.
        let _ = dut.set_option(s, SockOpt::KeepAlive(true));
        let _ = dut.set_option(s, SockOpt::KeepIdle(k.idle));
        let _ = dut.set_option(s, SockOpt::KeepIntvl(k.interval));
        let _ = dut.set_option(s, SockOpt::KeepCnt(k.probes));
    }
}

const PING: &[u8] = b"PING\n";
const PONG: &[u8] = b"PONG\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

fn request(n: usize, close: bool) -> Vec<u8> {
    format!(
        "GET /{n} HTTP/1.1\r\nHost: sim\r\nConnection: {}\r\n\r\n",
        if close { "close" } else { "keep-alive" }
    )
    .into_bytes()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Removes every `token` from `buf`, returning how many there were.
fn strip_all(buf: &mut Vec<u8>, token: &[u8]) -> usize {
    let mut n = 0;
    while let Some(i) = find(buf, token) {
        buf.drain(i..i + token.len());
        n += 1;
    }
    n
}

/// Reads everything available. `Ok(true)` = end of stream seen.
fn drain_recv(
    now: Instant,
    dut: &mut dyn Dut,
    s: SockId,
    into: &mut Vec<u8>,
) -> Result<bool, Errno> {
    // Requests and responses are small: a short buffer read in a loop (zeroing a large one
    // per call showed in profiles of large worlds).
    let mut buf = [0u8; 512];
    loop {
        match dut.recv(now, s, &mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(Errno::EAGAIN) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

/// How the server ends a connection it reaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseBy {
    /// Abortive close: RST (IIS / http.sys connection timeout).
    Rst,
    /// Orderly close: FIN.
    Fin,
}

/// Server configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    pub port: u16,
    /// Keep connections open after a response (HTTP keep-alive).
    pub keep_alive: bool,
    /// Idle time after which the reaper closes a connection (`None` = never).
    pub idle_timeout: Option<Duration>,
    /// Reaper period (IIS http.sys: 5 s).
    pub tick: Duration,
    pub close_by: CloseBy,
    /// Application heartbeat: (interval, count max), as OpenSSH's ClientAlive*.
    pub heartbeat: Option<(Duration, u32)>,
    pub keepalive: Option<Keepalive>,
}

struct ServerConn {
    sock: SockId,
    buf: Vec<u8>,
    last_activity: Instant,
    pings_unanswered: u32,
    next_ping: Option<Instant>,
}

/// A request/response server with an idle-connection reaper and an optional heartbeat.
///
/// Connections are kept in accept order (the key is an accept counter, the table a [`Slab`])
/// with indexes by socket, by heartbeat deadline and (with an idle timeout) by last activity,
/// so one poll touches only the connections the stack woke or whose timer is due.
pub struct Server {
    cfg: ServerConfig,
    listener: Option<SockId>,
    conns: Slab<ServerConn>,
    by_sock: BTreeMap<SockId, u64>,
    pings: BTreeSet<(Instant, u64)>,
    /// (last activity, key) of every connection, kept only when the reaper runs
    /// (`idle_timeout`).
    idle: BTreeSet<(Instant, u64)>,
    accepted: u64,
    next_tick: Instant,
    /// Scratch list of the connections one poll looks at.
    visit: Vec<u64>,
    /// Connections looked at so far ([`App::work`]).
    visited: u64,
}

impl Server {
    pub fn new(cfg: ServerConfig) -> Server {
        let next_tick = Instant::ZERO + cfg.tick;
        Server {
            cfg,
            listener: None,
            conns: Slab::default(),
            by_sock: BTreeMap::new(),
            pings: BTreeSet::new(),
            idle: BTreeSet::new(),
            accepted: 0,
            next_tick,
            visit: Vec::new(),
            visited: 0,
        }
    }

    /// Forgets connection `k` (and its index entries), handing it back.
    fn remove(&mut self, k: u64) -> Option<ServerConn> {
        let c = self.conns.remove(k)?;
        self.by_sock.remove(&c.sock);
        if let Some(t) = c.next_ping {
            self.pings.remove(&(t, k));
        }
        self.idle.remove(&(c.last_activity, k));
        Some(c)
    }

    fn set_next_ping(&mut self, k: u64, at: Option<Instant>) {
        if let Some(c) = self.conns.get_mut(k) {
            if let Some(t) = c.next_ping {
                self.pings.remove(&(t, k));
            }
            if let Some(t) = at {
                self.pings.insert((t, k));
            }
            c.next_ping = at;
        }
    }

    fn close_conn(
        &mut self,
        now: Instant,
        dut: &mut dyn Dut,
        k: u64,
        by: CloseBy,
        why: &str,
        log: &mut Vec<AppEvent>,
    ) {
        let Some(c) = self.remove(k) else { return };
        let tuple = dut.four_tuple(c.sock);
        let how = match by {
            CloseBy::Rst => {
                let _ = dut.abort(now, c.sock);
                "reset"
            }
            CloseBy::Fin => {
                let _ = dut.close(now, c.sock);
                "closed"
            }
        };
        if let Some(conn) = tuple {
            log.push(AppEvent::Closed {
                conn,
                how: how.into(),
                why: why.into(),
            });
        }
    }

    /// Reads, answers and heartbeats one connection (what a poll of every connection did).
    fn service(&mut self, now: Instant, dut: &mut dyn Dut, k: u64, log: &mut Vec<AppEvent>) {
        let Some(c) = self.conns.get_mut(k) else {
            return;
        };
        let sock = c.sock;
        let before = c.buf.len();
        let r = drain_recv(now, dut, sock, &mut c.buf);
        let got = c.buf.len() > before;
        strip_all(&mut c.buf, PONG);
        let mut close_after = false;
        while let Some(end) = find(&c.buf, b"\r\n\r\n") {
            let req: Vec<u8> = c.buf.drain(..end + 4).collect();
            let _ = dut.send(now, sock, RESPONSE);
            if !self.cfg.keep_alive || find(&req, b"Connection: close").is_some() {
                close_after = true;
            }
        }
        if c.buf.is_empty() {
            // An idle connection holds no buffer (allocated again when data comes).
            c.buf = Vec::new();
        }
        if got {
            let last = c.last_activity;
            c.last_activity = now;
            c.pings_unanswered = 0;
            if self.cfg.idle_timeout.is_some() {
                self.idle.remove(&(last, k));
                self.idle.insert((now, k));
            }
            self.set_next_ping(k, self.cfg.heartbeat.map(|(iv, _)| now + iv));
        }
        match r {
            Err(_) => {
                // The stack dropped the connection (reset, timeout): forget it.
                let _ = dut.close(now, sock);
                self.remove(k);
                return;
            }
            Ok(true) => {
                self.close_conn(now, dut, k, CloseBy::Fin, "peer closed", log);
                return;
            }
            Ok(false) => {}
        }
        if close_after {
            self.close_conn(now, dut, k, CloseBy::Fin, "connection: close", log);
            return;
        }
        // Heartbeat (OpenSSH ClientAliveInterval x ClientAliveCountMax).
        let next_ping = self.conns.get(k).and_then(|c| c.next_ping);
        if let (Some((iv, max)), Some(t)) = (self.cfg.heartbeat, next_ping) {
            if now >= t {
                // sshd_config(5): the server disconnects when the count of unanswered
                // client-alive messages reaches ClientAliveCountMax, i.e. interval x max
                // after the client was last heard.
                let unanswered = self.conns.get(k).map_or(0, |c| c.pings_unanswered);
                if unanswered + 1 >= max {
                    self.close_conn(now, dut, k, CloseBy::Fin, "heartbeat lost", log);
                    return;
                }
                if let Some(c) = self.conns.get_mut(k) {
                    c.pings_unanswered += 1;
                }
                self.set_next_ping(k, Some(now + iv));
                let _ = dut.send(now, sock, PING);
            }
        }
    }
}

impl App for Server {
    fn reset(&mut self, now: Instant) {
        self.listener = None;
        self.conns.clear();
        self.by_sock.clear();
        self.pings.clear();
        self.idle.clear();
        self.next_tick = now + self.cfg.tick;
    }

    fn poll(&mut self, now: Instant, dut: &mut dyn Dut, woken: Woken<'_>, log: &mut Vec<AppEvent>) {
        if self.listener.is_none() {
            match dut.listen(now, self.cfg.port, 1024) {
                Ok(l) => self.listener = Some(l),
                Err(e) => {
                    log.push(AppEvent::Note(format!("listen failed: {e}")));
                    return;
                }
            }
        }
        let l = self.listener.expect("set above");
        // Connections to look at, in accept order: new ones, woken ones, heartbeats due.
        let mut visit = std::mem::take(&mut self.visit);
        visit.clear();
        while let Ok(s) = dut.accept(now, l) {
            apply_keepalive(dut, s, self.cfg.keepalive);
            let k = self.accepted;
            self.accepted += 1;
            self.conns.insert(
                k,
                ServerConn {
                    sock: s,
                    buf: Vec::new(),
                    last_activity: now,
                    pings_unanswered: 0,
                    next_ping: None,
                },
            );
            self.by_sock.insert(s, k);
            if self.cfg.idle_timeout.is_some() {
                self.idle.insert((now, k));
            }
            self.set_next_ping(k, self.cfg.heartbeat.map(|(iv, _)| now + iv));
            visit.push(k);
        }
        match woken {
            Woken::All => visit.extend(self.conns.keys()),
            Woken::Only(socks) => visit.extend(socks.iter().filter_map(|s| self.by_sock.get(s))),
        }
        visit.extend(
            self.pings
                .iter()
                .take_while(|(t, _)| *t <= now)
                .map(|(_, k)| *k),
        );
        // In accept order, each once.
        visit.sort_unstable();
        visit.dedup();
        self.visited += visit.len() as u64;
        for &k in &visit {
            self.service(now, dut, k, log);
        }
        visit.clear();
        self.visit = visit;
        // The reaper tick (http.sys timer list).
        if now >= self.next_tick {
            while self.next_tick <= now {
                self.next_tick += self.cfg.tick;
            }
            if let Some(timeout) = self.cfg.idle_timeout {
                let mut due: Vec<u64> = self
                    .idle
                    .iter()
                    .take_while(|(t, _)| now.saturating_since(*t) >= timeout)
                    .map(|(_, k)| *k)
                    .collect();
                due.sort_unstable();
                self.visited += due.len() as u64;
                for k in due {
                    self.close_conn(now, dut, k, self.cfg.close_by, "idle timeout", log);
                }
            }
        }
    }

    fn work(&self) -> u64 {
        self.visited
    }

    fn poll_at(&self) -> Option<Instant> {
        let hb = self.pings.first().map(|(t, _)| *t);
        let tick = if self.cfg.idle_timeout.is_some() && !self.conns.is_empty() {
            Some(self.next_tick)
        } else {
            None
        };
        match (hb, tick) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Client configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    pub server: SocketAddrV4,
    /// When each request is issued.
    pub schedule: Vec<Instant>,
    /// Reuse connections (HTTP keep-alive). Off: every request says `Connection: close`.
    pub keep_alive: bool,
    /// Say `Connection: close` on a request followed by a gap longer than this (or by no
    /// request at all): the application knows it is about to go idle (incident C's fix).
    pub close_before_idle: Option<Duration>,
    /// Close with `SO_LINGER` 0 (abort with RST, no TIME-WAIT).
    pub linger_zero: bool,
    /// Close a pooled connection after this much idle time (`None` = never).
    pub idle_timeout: Option<Duration>,
    /// A request with no answer after this long fails.
    pub request_timeout: Duration,
    /// Keep a connection in the pool even after an error on it (the .NET 1.1 WebRequest bug).
    pub sticky_pool: bool,
    pub keepalive: Option<Keepalive>,
}

struct Pooled {
    sock: SockId,
    conn: Option<FourTuple>,
    idle_since: Instant,
    dead: bool,
}

struct InFlight {
    sock: SockId,
    conn: Option<FourTuple>,
    fresh: bool,
    started: Instant,
    sent: bool,
    close: bool,
    buf: Vec<u8>,
    number: usize,
}

/// A request/response client with a keep-alive connection pool of one connection.
///
/// Small while idle (a world may run 100,000 of them): the configuration is shared by the
/// replicas of one host spec, and the request in flight lives in a box only while it flies.
pub struct Client {
    cfg: Arc<ClientConfig>,
    next: usize,
    pool: Option<Pooled>,
    flight: Option<Box<InFlight>>,
}

impl Client {
    /// A client running `cfg` (shared, or converted from a plain [`ClientConfig`]).
    pub fn new(cfg: impl Into<Arc<ClientConfig>>) -> Client {
        Client {
            cfg: cfg.into(),
            next: 0,
            pool: None,
            flight: None,
        }
    }

    fn fail(&mut self, dut: &mut dyn Dut, now: Instant, error: String, log: &mut Vec<AppEvent>) {
        let Some(f) = self.flight.take() else { return };
        log.push(AppEvent::RequestFailed {
            conn: f.conn.or_else(|| dut.four_tuple(f.sock)),
            error,
        });
        if self.cfg.sticky_pool {
            self.pool = Some(Pooled {
                sock: f.sock,
                conn: f.conn,
                idle_since: now,
                dead: true,
            });
        } else {
            self.close_sock(now, dut, f.sock);
        }
    }
}

impl Client {
    fn close_sock(&self, now: Instant, dut: &mut dyn Dut, sock: SockId) {
        if self.cfg.linger_zero {
            let _ = dut.set_option(sock, SockOpt::Linger(Some(Duration::ZERO)));
        }
        let _ = dut.close(now, sock);
    }

    /// Whether request `n` of the schedule should say `Connection: close`.
    fn closes_after(&self, n: usize) -> bool {
        if !self.cfg.keep_alive {
            return true;
        }
        match self.cfg.close_before_idle {
            None => false,
            Some(gap) => match self.cfg.schedule.get(n + 1) {
                None => true,
                Some(next) => next.saturating_since(self.cfg.schedule[n]) > gap,
            },
        }
    }
}

impl App for Client {
    fn reset(&mut self, _now: Instant) {
        self.pool = None;
        self.flight = None;
    }

    fn poll(
        &mut self,
        now: Instant,
        dut: &mut dyn Dut,
        _woken: Woken<'_>,
        log: &mut Vec<AppEvent>,
    ) {
        // One connection at a time: looking at it is as cheap as asking which one changed.
        // Answer heartbeats and watch pooled connections for a close by the server.
        if let Some(p) = &mut self.pool {
            if !p.dead {
                let mut buf = Vec::new();
                let r = drain_recv(now, dut, p.sock, &mut buf);
                let pings = strip_all(&mut buf, PING);
                for _ in 0..pings {
                    let _ = dut.send(now, p.sock, PONG);
                }
                match r {
                    // Orderly close by the server: the pool drops the connection.
                    Ok(true) => {
                        let sock = p.sock;
                        self.pool = None;
                        self.close_sock(now, dut, sock);
                    }
                    // Reset while idle: a careful pool notices; a sticky one keeps it.
                    Err(_) if !self.cfg.sticky_pool => {
                        let sock = p.sock;
                        self.pool = None;
                        let _ = dut.close(now, sock);
                    }
                    Err(_) => p.dead = true,
                    Ok(false) => {}
                }
            }
        }
        // Client-side idle timeout.
        if let (Some(t), Some(p)) = (self.cfg.idle_timeout, &self.pool) {
            if !p.dead && now.saturating_since(p.idle_since) >= t {
                let sock = p.sock;
                if let Some(conn) = p.conn {
                    log.push(AppEvent::Closed {
                        conn,
                        how: "closed".into(),
                        why: "client idle timeout".into(),
                    });
                }
                self.pool = None;
                self.close_sock(now, dut, sock);
            }
        }
        // Start the next request.
        if self.flight.is_none()
            && self.next < self.cfg.schedule.len()
            && now >= self.cfg.schedule[self.next]
        {
            let n = self.next;
            self.next += 1;
            let close = self.closes_after(n);
            let sock = match self.pool.take() {
                Some(p) => {
                    if let Some(conn) = p.conn {
                        log.push(AppEvent::ReusedPooled {
                            conn,
                            idle_for: now.saturating_since(p.idle_since),
                        });
                    }
                    Some((p.sock, p.conn, false))
                }
                None => match dut.connect(now, 0, self.cfg.server) {
                    Ok(s) => {
                        apply_keepalive(dut, s, self.cfg.keepalive);
                        Some((s, dut.four_tuple(s), true))
                    }
                    Err(e) => {
                        log.push(AppEvent::ConnectFailed {
                            remote: self.cfg.server,
                            error: e.to_string(),
                        });
                        None
                    }
                },
            };
            if let Some((sock, conn, fresh)) = sock {
                self.flight = Some(Box::new(InFlight {
                    sock,
                    conn,
                    fresh,
                    started: now,
                    sent: false,
                    close,
                    buf: Vec::new(),
                    number: n,
                }));
            }
        }
        // Drive the request in flight.
        if let Some(f) = &mut self.flight {
            let sock = f.sock;
            if !f.sent {
                match dut.state(sock) {
                    Some(stack::tcp::State::SynSent) | Some(stack::tcp::State::SynReceived) => {}
                    _ => {
                        let req = request(f.number, f.close);
                        match dut.send(now, sock, &req) {
                            Ok(_) => {
                                f.sent = true;
                                if f.fresh {
                                    if let Some(conn) = f.conn.or_else(|| dut.four_tuple(sock)) {
                                        f.conn = Some(conn);
                                        log.push(AppEvent::Connected { conn });
                                    }
                                }
                            }
                            Err(Errno::EAGAIN) => {}
                            Err(e) => {
                                self.fail(dut, now, e.to_string(), log);
                                return;
                            }
                        }
                    }
                }
            }
            let Some(f) = &mut self.flight else { return };
            let r = drain_recv(now, dut, sock, &mut f.buf);
            let pings = strip_all(&mut f.buf, PING);
            for _ in 0..pings {
                let _ = dut.send(now, sock, PONG);
            }
            if let Some(i) = find(&f.buf, RESPONSE) {
                f.buf.drain(..i + RESPONSE.len());
                let latency = now.saturating_since(f.started);
                if let Some(conn) = f.conn.or_else(|| dut.four_tuple(sock)) {
                    log.push(AppEvent::RequestDone { conn, latency });
                }
                let f = self.flight.take().expect("present");
                if f.close {
                    self.close_sock(now, dut, sock);
                } else {
                    self.pool = Some(Pooled {
                        sock,
                        conn: f.conn,
                        idle_since: now,
                        dead: false,
                    });
                }
                return;
            }
            match r {
                Err(e) => self.fail(dut, now, e.to_string(), log),
                Ok(true) => self.fail(dut, now, "connection closed before response".into(), log),
                Ok(false) => {
                    if now.saturating_since(f.started) >= self.cfg.request_timeout {
                        self.fail(dut, now, "timeout".into(), log);
                    }
                }
            }
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut consider = |x: Instant| t = Some(t.map_or(x, |y: Instant| y.min(x)));
        if let Some(f) = &self.flight {
            consider(f.started + self.cfg.request_timeout);
        } else if let Some(&at) = self.cfg.schedule.get(self.next) {
            consider(at);
        }
        if let (Some(idle), Some(p)) = (self.cfg.idle_timeout, &self.pool) {
            if !p.dead {
                consider(p.idle_since + idle);
            }
        }
        t
    }
}
