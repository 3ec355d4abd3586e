//! What the kernel transmits on the TAP device, with the kernel's own transmit times.
//!
//! Reading the TAP file gives the frames but not *when* the kernel sent them: on a busy machine
//! the harness thread may read a frame milliseconds after the kernel queued it, and a timing
//! comparison would blame the kernel for the harness's lateness. An `AF_PACKET` socket inside
//! the namespace sees every frame at `dev_queue_xmit_nit` (as tcpdump does) and stamps it with
//! `SO_TIMESTAMPNS` (packet(7), socket(7)): that stamp is the kernel's transmit time, on the
//! realtime clock. The TAP file is still drained so that its queue never fills.

use nix::sys::socket::{
    self as nsock, sockopt, AddressFamily, ControlMessageOwned, LinkAddr, MsgFlags, SockFlag,
    SockProtocol, SockType,
};
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `PACKET_OUTGOING` (linux/if_packet.h): a frame this host sent.
const PACKET_OUTGOING: u8 = 4;

/// A packet socket that reports the frames sent on one interface.
pub struct Capture {
    fd: OwnedFd,
    ifindex: usize,
}

/// The realtime clock now, as a duration since the epoch (the clock `SO_TIMESTAMPNS` uses).
pub fn realtime() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl Capture {
    /// Opens the socket; must run inside the namespace. `ifindex` is the device to report.
    pub fn open(ifindex: usize) -> nix::Result<Capture> {
        let fd = nsock::socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            SockProtocol::EthAll,
        )?;
        nsock::setsockopt(&fd, sockopt::ReceiveTimestampns, &true)?;
        Ok(Capture { fd, ifindex })
    }

    /// Every frame sent on the device since the last call, oldest first, each with the
    /// kernel's transmit time. A frame without a usable stamp gets the time it was read.
    pub fn read(&self) -> Vec<(Duration, Vec<u8>)> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65_536];
        loop {
            let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
            let mut iov = [IoSliceMut::new(&mut buf)];
            let (len, stamp, keep) = match nsock::recvmsg::<LinkAddr>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_TRUNC,
            ) {
                Ok(m) => {
                    let keep = m.address.is_some_and(|a| {
                        a.ifindex() == self.ifindex && a.pkttype() == PACKET_OUTGOING
                    });
                    let stamp = m.cmsgs().ok().and_then(|mut c| {
                        c.find_map(|c| match c {
                            ControlMessageOwned::ScmTimestampns(t) => Some(Duration::new(
                                u64::try_from(t.tv_sec()).ok()?,
                                u32::try_from(t.tv_nsec()).ok()?,
                            )),
                            _ => None,
                        })
                    });
                    (m.bytes, stamp, keep)
                }
                Err(_) => break,
            };
            if !keep || len > buf.len() {
                continue;
            }
            let read_at = realtime();
            // A stamp from another clock (or none) would map the frame to nonsense: a
            // kernel transmit time is never after the read nor long before it.
            let t = match stamp {
                Some(s) if s <= read_at && read_at - s < Duration::from_secs(10) => s,
                _ => read_at,
            };
            out.push((t, buf[..len].to_vec()));
        }
        out
    }
}
