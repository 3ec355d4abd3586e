//! `harness bench bulk`: one TCP bulk transfer between two hosts over an in-memory Ethernet
//! link, for the reference stack and for smoltcp 0.14 on the same workload in the same process:
//! 1514-byte frames (MSS 1460), checksums computed and verified, 64 KiB socket buffers, the
//! sender writing and the receiver reading as fast as they can, virtual time jumping to the
//! next deadline only when nothing moves. Runs alternate (reference, smoltcp, reference, ...)
//! so both see the same machine load; the median of each is reported, as frames/s (every frame
//! on the link, both directions) and MiB/s of payload, with the ratio reference / smoltcp.
//!
//! The receiver checks every byte against the sender's pattern, so a fast wrong transfer
//! cannot pass.

use core::net::{Ipv4Addr, SocketAddrV4};
use stack::host::{Host, HostConfig};
use stack::policy::Profile;
use stack::tcp::{SocketHandle, SocketOption, State};
use stack::wire::EthernetAddress;
use stack::Instant;
use std::collections::VecDeque;
use std::time::Instant as WallClock;

const BUF: usize = 64 * 1024;
const PORT: u16 = 5001;
const A_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const A_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const B_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];
/// Steps without progress before a run is declared stuck.
const STUCK: u32 = 100_000;

/// What one run measured.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub wall_secs: f64,
    /// Frames on the link, both directions.
    pub frames: u64,
    pub bytes: u64,
}

impl Run {
    pub fn frames_per_sec(&self) -> f64 {
        self.frames as f64 / self.wall_secs.max(1e-9)
    }
    pub fn mib_per_sec(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.wall_secs.max(1e-9)
    }
}

/// The sender's data: byte `i` of the stream is `i mod 251`.
fn pattern() -> Vec<u8> {
    (0..BUF + 251).map(|i| (i % 251) as u8).collect()
}

/// Checks received bytes that start at stream offset `at`.
fn check(at: u64, got: &[u8], pat: &[u8]) -> Result<(), String> {
    let off = (at % 251) as usize;
    if got != &pat[off..off + got.len()] {
        return Err(format!(
            "received data differs from what was sent near byte {at}"
        ));
    }
    Ok(())
}

fn host(mac: [u8; 6], addr: Ipv4Addr, seed: u64) -> Result<Host, String> {
    Host::new(HostConfig {
        mac: EthernetAddress(mac),
        addr,
        prefix_len: 24,
        gateway: None,
        profile: Profile::named("linux").map_err(|e| e.to_string())?.into(),
        seed,
    })
    .map_err(|e| e.to_string())
}

/// The reference stack: `total` bytes from A to B.
pub fn reference(total: u64) -> Result<Run, String> {
    let pat = pattern();
    let mut a = host(A_MAC, A_IP, 1)?;
    let mut b = host(B_MAC, B_IP, 2)?;
    let mut now = Instant::ZERO;
    a.iface()
        .add_static_neighbor(now, B_IP, EthernetAddress(B_MAC));
    b.iface()
        .add_static_neighbor(now, A_IP, EthernetAddress(A_MAC));
    let opts = [SocketOption::SendBuf(BUF), SocketOption::RecvBuf(BUF)];
    let l = b
        .tcp()
        .listen(now, SocketAddrV4::new(B_IP, PORT), 4)
        .map_err(|e| e.to_string())?;
    for o in opts {
        b.tcp().set_option(l, o).map_err(|e| e.to_string())?;
    }
    let c = a
        .tcp()
        .connect(
            now,
            SocketAddrV4::new(A_IP, 0),
            SocketAddrV4::new(B_IP, PORT),
        )
        .map_err(|e| e.to_string())?;
    for o in opts {
        a.tcp().set_option(c, o).map_err(|e| e.to_string())?;
    }
    let mut server: Option<SocketHandle> = None;
    let (mut sent, mut got, mut frames) = (0u64, 0u64, 0u64);
    let mut buf = vec![0u8; BUF];
    let mut idle = 0;
    let started = WallClock::now();
    while got < total {
        let mut moved = false;
        if sent < total && a.tcp_ref().state(c) == Some(State::Established) {
            let off = (sent % 251) as usize;
            let want = (total - sent).min(BUF as u64) as usize;
            if let Ok(n) = a.tcp().send(now, c, &pat[off..off + want]) {
                sent += n as u64;
                moved |= n > 0;
            }
        }
        while let Some(f) = a.poll_transmit(now) {
            frames += 1;
            moved = true;
            b.handle_frame(now, &f);
        }
        if server.is_none() {
            server = b.tcp().accept(now, l).ok();
        }
        if let Some(s) = server {
            while let Ok(n) = b.tcp().recv(now, s, &mut buf) {
                if n == 0 {
                    break;
                }
                check(got, &buf[..n], &pat)?;
                got += n as u64;
                moved = true;
            }
        }
        while let Some(f) = b.poll_transmit(now) {
            frames += 1;
            moved = true;
            a.handle_frame(now, &f);
        }
        let _ = a.take_events();
        let _ = b.take_events();
        if !moved {
            idle += 1;
            if idle > STUCK {
                return Err(format!("reference transfer stuck after {got} bytes"));
            }
            let next = [a.poll_at(), b.poll_at()].into_iter().flatten().min();
            now = next.map_or(now + stack::Duration::from_millis(1), |t| t.max(now));
            a.handle_timeout(now);
            b.handle_timeout(now);
        } else {
            idle = 0;
        }
    }
    Ok(Run {
        wall_secs: started.elapsed().as_secs_f64(),
        frames,
        bytes: got,
    })
}

/// One end of the in-memory link for smoltcp: frames in from `rx`, out to `tx`, buffers
/// recycled through `free` (so smoltcp's side allocates next to nothing per frame).
struct End<'a> {
    rx: &'a mut VecDeque<Vec<u8>>,
    tx: &'a mut VecDeque<Vec<u8>>,
    free: &'a mut Vec<Vec<u8>>,
    sent: &'a mut u64,
}

struct Rx<'a> {
    frame: Vec<u8>,
    free: &'a mut Vec<Vec<u8>>,
}

struct Tx<'a> {
    tx: &'a mut VecDeque<Vec<u8>>,
    /// None for the token handed out with a received frame (the free list is lent to the
    /// receive token then): that rare reply allocates.
    free: Option<&'a mut Vec<Vec<u8>>>,
    sent: &'a mut u64,
}

impl smoltcp::phy::RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(&self.frame);
        self.free.push(self.frame);
        r
    }
}

impl smoltcp::phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = self.free.and_then(|l| l.pop()).unwrap_or_default();
        frame.resize(len, 0);
        let r = f(&mut frame);
        *self.sent += 1;
        self.tx.push_back(frame);
        r
    }
}

impl smoltcp::phy::Device for End<'_> {
    type RxToken<'b>
        = Rx<'b>
    where
        Self: 'b;
    type TxToken<'b>
        = Tx<'b>
    where
        Self: 'b;

    fn receive(
        &mut self,
        _now: smoltcp::time::Instant,
    ) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let frame = self.rx.pop_front()?;
        Some((
            Rx {
                frame,
                free: self.free,
            },
            Tx {
                tx: self.tx,
                free: None,
                sent: self.sent,
            },
        ))
    }

    fn transmit(&mut self, _now: smoltcp::time::Instant) -> Option<Self::TxToken<'_>> {
        Some(Tx {
            tx: self.tx,
            free: Some(self.free),
            sent: self.sent,
        })
    }

    fn capabilities(&self) -> smoltcp::phy::DeviceCapabilities {
        let mut caps = smoltcp::phy::DeviceCapabilities::default();
        caps.medium = smoltcp::phy::Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}

/// smoltcp: `total` bytes from A to B, the same workload.
pub fn smoltcp(total: u64) -> Result<Run, String> {
    use smoltcp::iface::{Config, Interface, SocketSet};
    use smoltcp::socket::tcp;
    use smoltcp::time::Instant as SInstant;
    use smoltcp::wire::{EthernetAddress as Mac, HardwareAddress, IpAddress, IpCidr};

    let pat = pattern();
    let mut ab: VecDeque<Vec<u8>> = VecDeque::new();
    let mut ba: VecDeque<Vec<u8>> = VecDeque::new();
    let (mut free_a, mut free_b) = (Vec::new(), Vec::new());
    let mut frames = 0u64;
    let mut now_us: i64 = 0;
    let mk = |mac: [u8; 6],
              ip: Ipv4Addr,
              rx: &mut VecDeque<Vec<u8>>,
              tx: &mut VecDeque<Vec<u8>>,
              free: &mut Vec<Vec<u8>>,
              sent: &mut u64| {
        let mut end = End { rx, tx, free, sent };
        let mut iface = Interface::new(
            Config::new(HardwareAddress::Ethernet(Mac(mac))),
            &mut end,
            SInstant::from_micros(0),
        );
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(IpAddress::Ipv4(ip), 24));
        });
        iface
    };
    let mut ia = mk(A_MAC, A_IP, &mut ba, &mut ab, &mut free_a, &mut frames);
    let mut ib = mk(B_MAC, B_IP, &mut ab, &mut ba, &mut free_b, &mut frames);
    let sock = || {
        tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; BUF]),
            tcp::SocketBuffer::new(vec![0; BUF]),
        )
    };
    let mut sa = SocketSet::new(Vec::new());
    let mut sb = SocketSet::new(Vec::new());
    let ha = sa.add(sock());
    let hb = sb.add(sock());
    sb.get_mut::<tcp::Socket<'_>>(hb)
        .listen(PORT)
        .map_err(|e| e.to_string())?;
    sa.get_mut::<tcp::Socket<'_>>(ha)
        .connect(ia.context(), (IpAddress::Ipv4(B_IP), PORT), 49152)
        .map_err(|e| e.to_string())?;
    let (mut sent, mut got) = (0u64, 0u64);
    let mut buf = vec![0u8; BUF];
    let mut idle = 0;
    let started = WallClock::now();
    while got < total {
        let before = (frames, sent, got);
        let now = SInstant::from_micros(now_us);
        {
            let s = sa.get_mut::<tcp::Socket<'_>>(ha);
            if sent < total && s.can_send() {
                let off = (sent % 251) as usize;
                let want = (total - sent).min(BUF as u64) as usize;
                if let Ok(n) = s.send_slice(&pat[off..off + want]) {
                    sent += n as u64;
                }
            }
        }
        let mut ea = End {
            rx: &mut ba,
            tx: &mut ab,
            free: &mut free_a,
            sent: &mut frames,
        };
        ia.poll(now, &mut ea, &mut sa);
        let mut eb = End {
            rx: &mut ab,
            tx: &mut ba,
            free: &mut free_b,
            sent: &mut frames,
        };
        ib.poll(now, &mut eb, &mut sb);
        {
            let s = sb.get_mut::<tcp::Socket<'_>>(hb);
            while s.can_recv() {
                match s.recv_slice(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        check(got, &buf[..n], &pat)?;
                        got += n as u64;
                    }
                }
            }
        }
        if (frames, sent, got) == before && ab.is_empty() && ba.is_empty() {
            idle += 1;
            if idle > STUCK {
                return Err(format!("smoltcp transfer stuck after {got} bytes"));
            }
            let next = [ia.poll_at(now, &sa), ib.poll_at(now, &sb)]
                .into_iter()
                .flatten()
                .min();
            now_us = next.map_or(now_us + 1000, |t| t.total_micros().max(now_us));
        } else {
            idle = 0;
        }
    }
    Ok(Run {
        wall_secs: started.elapsed().as_secs_f64(),
        frames,
        bytes: got,
    })
}

fn median(mut v: Vec<Run>) -> Run {
    v.sort_by(|a, b| a.wall_secs.total_cmp(&b.wall_secs));
    v[v.len() / 2]
}

/// The `harness bench bulk` command.
pub fn command(mib: u64, rounds: u32) -> Result<u8, String> {
    if mib == 0 || rounds == 0 {
        return Err("--mib and --rounds must be at least 1".into());
    }
    let total = mib * 1024 * 1024;
    let (mut r, mut s) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        r.push(reference(total)?);
        s.push(smoltcp(total)?);
    }
    let (r, s) = (median(r), median(s));
    println!(
        "bench bulk: {mib} MiB A -> B over an in-memory Ethernet link, 1514-byte frames, checksums on, 64 KiB buffers; median of {rounds} alternating runs"
    );
    println!("stack         wall s     frames   frames/s      MiB/s");
    for (name, x) in [("reference", r), ("smoltcp", s)] {
        println!(
            "{name:<10} {:>9.3} {:>10} {:>10.0} {:>10.1}",
            x.wall_secs,
            x.frames,
            x.frames_per_sec(),
            x.mib_per_sec()
        );
    }
    println!(
        "ratio reference/smoltcp: {:.3}x frames/s, {:.3}x MiB/s",
        r.frames_per_sec() / s.frames_per_sec().max(1e-9),
        r.mib_per_sec() / s.mib_per_sec().max(1e-9)
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_stacks_move_the_bytes_intact() {
        for run in [
            reference(300_000).expect("ref"),
            smoltcp(300_000).expect("smol"),
        ] {
            assert_eq!(run.bytes, 300_000);
            // At least one full-size data frame per 1460 bytes.
            assert!(run.frames >= 300_000 / 1460, "{run:?}");
        }
    }
}
