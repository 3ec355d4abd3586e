//! Link-layer headers of captures, turned into Ethernet II so that everything downstream
//! (rendering, ladders, `check`) reads one format.
//!
//! Supported link types (numbers from the tcpdump.org LINKTYPE registry):
//! `ETHERNET` (1), `NULL`/`LOOP` BSD loopback (0, 108), `RAW` (101, and the historical DLT
//! values 12 and 14), `IPV4` (228), `LINUX_SLL` (113, 16-byte "cooked" header) and
//! `LINUX_SLL2` (276, 20-byte header). A synthesised Ethernet header carries the link-layer
//! source address when the capture has one (SLL/SLL2 with a 6-byte address) and zeros otherwise.

/// LINKTYPE_ETHERNET.
pub const ETHERNET: u32 = 1;
/// LINKTYPE_NULL (BSD loopback, 4-byte host-endian address family).
pub const NULL: u32 = 0;
/// LINKTYPE_LOOP (OpenBSD loopback, 4-byte network-order address family).
pub const LOOP: u32 = 108;
/// LINKTYPE_RAW: the frame starts with the IP header.
pub const RAW: u32 = 101;
/// DLT_RAW as some systems number it in files.
pub const RAW_DLT12: u32 = 12;
/// DLT_RAW as OpenBSD numbers it.
pub const RAW_DLT14: u32 = 14;
/// LINKTYPE_IPV4.
pub const IPV4: u32 = 228;
/// LINKTYPE_LINUX_SLL.
pub const LINUX_SLL: u32 = 113;
/// LINKTYPE_LINUX_SLL2.
pub const LINUX_SLL2: u32 = 276;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;

/// Whether frames of this link type can be read.
pub fn supported(linktype: u32) -> bool {
    matches!(
        linktype,
        ETHERNET | NULL | LOOP | RAW | RAW_DLT12 | RAW_DLT14 | IPV4 | LINUX_SLL | LINUX_SLL2
    )
}

/// A frame of `linktype` as Ethernet II bytes, and how many bytes the link header grew or
/// shrank by (to adjust the original length). `None` when the link header itself is cut short
/// (such a frame is kept as-is by the caller and later ignored as unrelated traffic).
pub fn to_ethernet(linktype: u32, data: &[u8]) -> Option<(Vec<u8>, isize)> {
    match linktype {
        ETHERNET => Some((data.to_vec(), 0)),
        RAW | RAW_DLT12 | RAW_DLT14 | IPV4 => {
            let ethertype = match data.first().map(|b| b >> 4) {
                Some(6) => ETHERTYPE_IPV6,
                _ => ETHERTYPE_IPV4,
            };
            Some((synth([0; 6], ethertype, data), 14))
        }
        NULL | LOOP => {
            let fam = data.get(..4)?;
            let fam = [fam[0], fam[1], fam[2], fam[3]];
            // The family is in the writer's byte order for NULL; accept both orders.
            let family = if linktype == LOOP {
                u32::from_be_bytes(fam)
            } else {
                u32::from_le_bytes(fam).min(u32::from_be_bytes(fam))
            };
            // AF_INET is 2 everywhere; every AF_INET6 value is larger.
            let ethertype = if family == 2 {
                ETHERTYPE_IPV4
            } else {
                ETHERTYPE_IPV6
            };
            Some((synth([0; 6], ethertype, &data[4..]), 10))
        }
        LINUX_SLL => {
            let h = data.get(..16)?;
            let addr_len = usize::from(u16::from_be_bytes([h[4], h[5]]));
            let protocol = u16::from_be_bytes([h[14], h[15]]);
            Some((
                synth(sll_addr(addr_len, &h[6..14]), protocol, &data[16..]),
                -2,
            ))
        }
        LINUX_SLL2 => {
            let h = data.get(..20)?;
            let protocol = u16::from_be_bytes([h[0], h[1]]);
            let addr_len = usize::from(h[11]);
            Some((
                synth(sll_addr(addr_len, &h[12..20]), protocol, &data[20..]),
                -6,
            ))
        }
        _ => None,
    }
}

/// The link-layer source address of a cooked header, when it is a MAC.
fn sll_addr(len: usize, bytes: &[u8]) -> [u8; 6] {
    let mut mac = [0; 6];
    if len == 6 {
        mac.copy_from_slice(&bytes[..6]);
    }
    mac
}

fn synth(src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(14 + payload.len());
    out.extend_from_slice(&[0; 6]);
    out.extend_from_slice(&src);
    out.extend_from_slice(&ethertype.to_be_bytes());
    out.extend_from_slice(payload);
    out
}
