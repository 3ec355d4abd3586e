//! TCP segments and ARP packets pulled out of captured frames, leniently: checksums are not
//! verified (captures taken on the sending host carry offloaded, unfilled checksums), a payload
//! cut by the snapshot length keeps its length from the IPv4 header, VLAN tags are skipped, and
//! everything that is not IPv4/TCP or ARP is skipped as unrelated traffic.

use core::net::{Ipv4Addr, SocketAddrV4};
use stack::wire::{EthernetAddress, TcpFlags};
use stack::Instant;

/// One TCP segment as captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seg {
    /// 1-based frame number in its capture (what Wireshark shows).
    pub frame: usize,
    pub time: Instant,
    pub src_mac: EthernetAddress,
    pub dst_mac: EthernetAddress,
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// The MSS option, if the segment has one.
    pub mss: Option<u16>,
    /// The window-scale option's shift (RFC 7323 §2.2), if the segment has one.
    pub wscale: Option<u8>,
    /// Payload length from the IPv4 total length (the captured bytes may be fewer).
    pub len: usize,
    /// The captured payload bytes (at most `len`).
    pub payload: Vec<u8>,
}

impl Seg {
    /// Sequence space the segment occupies (RFC 9293 §3.4 SEG.LEN).
    pub fn seg_len(&self) -> u32 {
        self.len as u32 + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }

    /// `S.`, `R`, `P.` ... as packetdrill writes flags, then seq/ack/len.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{}:{} > {}:{} {}",
            self.src.ip(),
            self.src.port(),
            self.dst.ip(),
            self.dst.port(),
            flag_letters(self.flags)
        );
        s.push_str(&format!(" seq {}", self.seq));
        if self.flags.ack() {
            s.push_str(&format!(" ack {}", self.ack));
        }
        s.push_str(&format!(" win {} len {}", self.window, self.len));
        s
    }
}

/// Flags as packetdrill letters: `S`, `F`, `R`, `P` and `.` for ACK.
pub fn flag_letters(f: TcpFlags) -> String {
    let mut s = String::new();
    for (on, c) in [
        (f.syn(), 'S'),
        (f.fin(), 'F'),
        (f.rst(), 'R'),
        (f.psh(), 'P'),
        (f.ack(), '.'),
    ] {
        if on {
            s.push(c);
        }
    }
    s
}

/// One ARP packet as captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arp {
    pub frame: usize,
    pub time: Instant,
    pub request: bool,
    pub sender_mac: EthernetAddress,
    pub sender_ip: Ipv4Addr,
    pub target_ip: Ipv4Addr,
}

/// What a frame holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Tcp(Seg),
    Arp(Arp),
    /// Anything else: other ethertypes, other IP protocols, fragments, headers cut short.
    Unrelated,
}

fn mac(b: &[u8]) -> EthernetAddress {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[..6]);
    EthernetAddress(m)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Parses one Ethernet frame (`frame` is its 1-based number). Never panics.
pub fn parse(frame: usize, time: Instant, data: &[u8]) -> Parsed {
    parse_inner(frame, time, data).unwrap_or(Parsed::Unrelated)
}

fn parse_inner(frame: usize, time: Instant, data: &[u8]) -> Option<Parsed> {
    if data.len() < 14 {
        return None;
    }
    let (dst_mac, src_mac) = (mac(&data[0..6]), mac(&data[6..12]));
    let mut ethertype = be16(data, 12)?;
    let mut at = 14;
    // 802.1Q / 802.1ad tags.
    while matches!(ethertype, 0x8100 | 0x88a8) {
        ethertype = be16(data, at + 2)?;
        at += 4;
    }
    let l3 = data.get(at..)?;
    match ethertype {
        0x0806 => {
            // Ethernet/IPv4 ARP only (RFC 826): htype 1, ptype 0x0800, hlen 6, plen 4.
            if be16(l3, 0)? != 1 || be16(l3, 2)? != 0x0800 || l3.get(4..6)? != [6, 4] {
                return None;
            }
            let op = be16(l3, 6)?;
            let ip = |o: usize| -> Option<Ipv4Addr> { Some(Ipv4Addr::from(be32(l3, o)?)) };
            Some(Parsed::Arp(Arp {
                frame,
                time,
                request: op == 1,
                sender_mac: mac(l3.get(8..14)?),
                sender_ip: ip(14)?,
                target_ip: ip(24)?,
            }))
        }
        0x0800 => {
            let vihl = *l3.first()?;
            if vihl >> 4 != 4 {
                return None;
            }
            let ihl = usize::from(vihl & 0xf) * 4;
            let total = usize::from(be16(l3, 2)?);
            let frag = be16(l3, 6)?;
            // Only unfragmented packets (or first fragments with the whole segment) are TCP.
            if l3.get(9) != Some(&6) || frag & 0x1fff != 0 || frag & 0x2000 != 0 || ihl < 20 {
                return None;
            }
            if total < ihl {
                return None;
            }
            let src_ip = Ipv4Addr::from(be32(l3, 12)?);
            let dst_ip = Ipv4Addr::from(be32(l3, 16)?);
            let tcp = l3.get(ihl..)?;
            let doff = usize::from(*tcp.get(12)? >> 4) * 4;
            if doff < 20 || tcp.len() < doff || total < ihl + doff {
                return None;
            }
            let flags = TcpFlags(be16(tcp, 12)? & 0x01ff);
            let mut mss = None;
            let mut wscale = None;
            let opts = &tcp[20..doff];
            let mut o = 0;
            while o < opts.len() {
                match opts[o] {
                    0 => break,
                    1 => o += 1,
                    kind => {
                        let len = usize::from(*opts.get(o + 1)?);
                        if len < 2 {
                            break;
                        }
                        if kind == 2 && len == 4 {
                            mss = be16(opts, o + 2);
                        }
                        if kind == 3 && len == 3 {
                            wscale = opts.get(o + 2).copied();
                        }
                        o += len;
                    }
                }
            }
            let len = total - ihl - doff;
            let have = tcp.len() - doff;
            Some(Parsed::Tcp(Seg {
                frame,
                time,
                src_mac,
                dst_mac,
                src: SocketAddrV4::new(src_ip, be16(tcp, 0)?),
                dst: SocketAddrV4::new(dst_ip, be16(tcp, 2)?),
                seq: be32(tcp, 4)?,
                ack: be32(tcp, 8)?,
                flags,
                window: be16(tcp, 14)?,
                mss,
                wscale,
                len,
                payload: tcp[doff..doff + have.min(len)].to_vec(),
            }))
        }
        _ => None,
    }
}
