//! Writing pcapng (draft-ietf-opsawg-pcapng): one Section Header Block, one Interface
//! Description Block per capture point (a scenario's segments), then one Enhanced Packet Block
//! per frame, timestamps in microseconds (the default `if_tsresol`). Wireshark shows each
//! segment as its own interface.

use stack::Instant;

/// `LINKTYPE_ETHERNET`.
const LINKTYPE_ETHERNET: u16 = 1;

fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    // Body is padded to 32 bits; total length counts type, both lengths and the body.
    let pad = (4 - body.len() % 4) % 4;
    let total = u32::try_from(12 + body.len() + pad).unwrap_or(u32::MAX);
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.extend(std::iter::repeat_n(0u8, pad));
    out.extend_from_slice(&total.to_le_bytes());
}

/// A pcapng file with one Ethernet interface per name in `interfaces` (named with `if_name`)
/// and `frames` as `(interface index, time, bytes)`, in the order given.
pub fn write_pcapng_bytes(interfaces: &[&str], frames: &[(usize, Instant, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    // Section Header Block: byte-order magic, version 1.0, section length unknown (-1).
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1A2B_3C4D_u32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut out, 0x0A0D_0D0A, &shb);
    for name in interfaces {
        let mut idb = Vec::new();
        idb.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&0u32.to_le_bytes()); // snaplen: no limit
                                                    // if_name (option 2), then opt_endofopt.
        let n = name.as_bytes();
        idb.extend_from_slice(&2u16.to_le_bytes());
        idb.extend_from_slice(&u16::try_from(n.len()).unwrap_or(u16::MAX).to_le_bytes());
        idb.extend_from_slice(&n[..n.len().min(usize::from(u16::MAX))]);
        idb.extend(std::iter::repeat_n(0u8, (4 - n.len() % 4) % 4));
        idb.extend_from_slice(&[0, 0, 0, 0]);
        block(&mut out, 1, &idb);
    }
    for (iface, time, bytes) in frames {
        let us = time.total_micros();
        let mut epb = Vec::new();
        epb.extend_from_slice(&u32::try_from(*iface).unwrap_or(u32::MAX).to_le_bytes());
        epb.extend_from_slice(&((us >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(us as u32).to_le_bytes());
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        epb.extend_from_slice(&len.to_le_bytes());
        epb.extend_from_slice(&len.to_le_bytes());
        epb.extend_from_slice(bytes);
        block(&mut out, 6, &epb);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What we write, the reader reads back: every frame, its time and bytes, in order.
    #[test]
    fn round_trip_through_the_reader() {
        let f = |n: u8| vec![n; 60];
        let frames = vec![
            (0, Instant::from_micros(1), f(1)),
            (1, Instant::from_micros(5_000_001), f(2)),
            (0, Instant::from_micros(7_000_000), f(3)),
        ];
        let bytes = write_pcapng_bytes(&["lan", "wan-segment"], &frames);
        let back = crate::pcap::read_pcap_bytes(&bytes).expect("reads");
        assert_eq!(back.len(), 3);
        for (b, (_, t, d)) in back.iter().zip(&frames) {
            assert_eq!(b.time, *t);
            assert_eq!(&b.data, d);
        }
    }
}
