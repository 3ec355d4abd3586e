//! ARP-layer events and their one-line rendering.

use crate::policy::QueueOverflow;
use crate::wire::{EthernetAddress, IpProtocol, Ipv4Addr, PacketSummary, TcpFlags};
use core::fmt;

/// Why the ARP layer dropped an IPv4 packet it was asked to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArpDropReason {
    /// The pending queue was full (`arp.queue_depth`); `policy` says which packet lost.
    QueueOverflow { policy: QueueOverflow },
    /// The pending queue's byte bound (`arp.queue_bytes`) was exceeded.
    QueueBytes,
    /// The address never answered: `arp.max_requests` requests went unanswered.
    ResolutionFailed,
}

impl fmt::Display for ArpDropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArpDropReason::QueueOverflow { policy } => {
                write!(f, "queue-overflow({})", policy.name())
            }
            ArpDropReason::QueueBytes => f.write_str("queue-bytes"),
            ArpDropReason::ResolutionFailed => f.write_str("resolution-failed"),
        }
    }
}

/// What the neighbour cache did and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArpEvent {
    /// An ARP request for `target` went out; `attempt` counts from 1.
    RequestSent { target: Ipv4Addr, attempt: u32 },
    /// We answered a request for our own address from `to`.
    ReplySent { to: Ipv4Addr },
    /// A pending address was resolved; its queued packets go out now.
    Resolved {
        addr: Ipv4Addr,
        mac: EthernetAddress,
    },
    /// The RFC 826 merge rule created or refreshed a dynamic entry.
    Learned {
        addr: Ipv4Addr,
        mac: EthernetAddress,
    },
    /// A dynamic entry outlived `arp.reachable_time` and was removed.
    Expired { addr: Ipv4Addr },
    /// Resolution of `addr` failed; `dropped` queued packets were discarded.
    GaveUp { addr: Ipv4Addr, dropped: usize },
    /// A packet waits for `addr` to resolve; `queued` packets are now waiting.
    Queued { addr: Ipv4Addr, queued: usize },
    /// A packet for next hop `addr` was dropped.
    Dropped {
        addr: Ipv4Addr,
        packet: PacketSummary,
        reason: ArpDropReason,
    },
    /// A static entry was installed (it never expires and ARP never overwrites it).
    StaticEntry {
        addr: Ipv4Addr,
        mac: EthernetAddress,
    },
}

impl fmt::Display for ArpEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArpEvent::RequestSent { target, attempt } => {
                write!(f, "request who-has {target} attempt={attempt}")
            }
            ArpEvent::ReplySent { to } => write!(f, "reply to {to}"),
            ArpEvent::Resolved { addr, mac } => write!(f, "resolved {addr} is-at {mac}"),
            ArpEvent::Learned { addr, mac } => write!(f, "learned {addr} is-at {mac}"),
            ArpEvent::Expired { addr } => write!(f, "expired {addr}"),
            ArpEvent::GaveUp { addr, dropped } => {
                write!(f, "gave-up {addr} dropped={dropped}")
            }
            ArpEvent::Queued { addr, queued } => write!(f, "queued {addr} queued={queued}"),
            ArpEvent::Dropped {
                addr,
                packet,
                reason,
            } => {
                write!(f, "drop {addr} reason={reason} packet=")?;
                write_summary(f, packet)
            }
            ArpEvent::StaticEntry { addr, mac } => write!(f, "static {addr} is-at {mac}"),
        }
    }
}

/// `203.0.113.5:80>198.51.100.7:40001 R seq=1 len=40` for TCP,
/// `203.0.113.5>198.51.100.7 proto=17 len=28` otherwise.
pub(crate) fn write_summary(f: &mut fmt::Formatter<'_>, p: &PacketSummary) -> fmt::Result {
    match p.protocol {
        IpProtocol::Tcp => {
            write!(f, "{}:{}>{}:{}", p.src, p.src_port, p.dst, p.dst_port)?;
            f.write_str(" ")?;
            write_flags(f, p.flags)?;
            write!(f, " seq={} len={}", p.seq.0, p.len)
        }
        other => {
            let proto = match other {
                IpProtocol::Icmp => 1,
                IpProtocol::Tcp => 6,
                IpProtocol::Udp => 17,
                IpProtocol::Unknown(p) => p,
            };
            write!(f, "{}>{} proto={proto} len={}", p.src, p.dst, p.len)
        }
    }
}

/// tcpdump-style flag letters: `S`, `F`, `R`, `P`, `U`, `E`, `W`, `N`, `.` for ACK.
fn write_flags(f: &mut fmt::Formatter<'_>, flags: TcpFlags) -> fmt::Result {
    const LETTERS: [(TcpFlags, char); 9] = [
        (TcpFlags::SYN, 'S'),
        (TcpFlags::FIN, 'F'),
        (TcpFlags::RST, 'R'),
        (TcpFlags::PSH, 'P'),
        (TcpFlags::URG, 'U'),
        (TcpFlags::ECE, 'E'),
        (TcpFlags::CWR, 'W'),
        (TcpFlags::NS, 'N'),
        (TcpFlags::ACK, '.'),
    ];
    let mut any = false;
    for (flag, c) in LETTERS {
        if flags.contains(flag) {
            write!(f, "{c}")?;
            any = true;
        }
    }
    if !any {
        f.write_str("none")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::SeqNumber;
    use rstest::rstest;

    fn rst_summary() -> PacketSummary {
        PacketSummary {
            src: Ipv4Addr::new(203, 0, 113, 5),
            dst: Ipv4Addr::new(198, 51, 100, 7),
            protocol: IpProtocol::Tcp,
            src_port: 80,
            dst_port: 40001,
            flags: TcpFlags::RST,
            seq: SeqNumber(1234),
            len: 40,
        }
    }

    #[rstest]
    #[case(ArpDropReason::QueueOverflow { policy: QueueOverflow::KeepNewest }, "queue-overflow(keep-newest)")]
    #[case(ArpDropReason::QueueOverflow { policy: QueueOverflow::DropOldest }, "queue-overflow(drop-oldest)")]
    #[case(ArpDropReason::QueueBytes, "queue-bytes")]
    #[case(ArpDropReason::ResolutionFailed, "resolution-failed")]
    fn drop_event_names_packet_and_reason(#[case] reason: ArpDropReason, #[case] text: &str) {
        let e = ArpEvent::Dropped {
            addr: Ipv4Addr::new(10, 0, 0, 1),
            packet: rst_summary(),
            reason,
        };
        assert_eq!(
            e.to_string(),
            format!(
                "drop 10.0.0.1 reason={text} packet=203.0.113.5:80>198.51.100.7:40001 R seq=1234 len=40"
            )
        );
    }

    #[rstest]
    #[case(TcpFlags::SYN, "S")]
    #[case(TcpFlags::SYN | TcpFlags::ACK, "S.")]
    #[case(TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK, "FP.")]
    #[case(TcpFlags::NONE, "none")]
    fn flags_render_like_tcpdump(#[case] flags: TcpFlags, #[case] text: &str) {
        let p = PacketSummary {
            flags,
            ..rst_summary()
        };
        let e = ArpEvent::Dropped {
            addr: Ipv4Addr::new(10, 0, 0, 1),
            packet: p,
            reason: ArpDropReason::QueueBytes,
        };
        assert!(
            e.to_string().contains(&format!(":40001 {text} seq=")),
            "{e}"
        );
    }

    #[test]
    fn non_tcp_summary_shows_protocol_number() {
        let p = PacketSummary {
            protocol: IpProtocol::Udp,
            ..rst_summary()
        };
        let e = ArpEvent::Dropped {
            addr: Ipv4Addr::new(10, 0, 0, 1),
            packet: p,
            reason: ArpDropReason::ResolutionFailed,
        };
        assert!(e
            .to_string()
            .ends_with("packet=203.0.113.5>198.51.100.7 proto=17 len=40"));
    }
}
