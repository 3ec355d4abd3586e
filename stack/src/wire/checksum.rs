//! The Internet checksum (RFC 1071) and the TCP/IPv4 pseudo-header sum (RFC 9293 §3.1).
//!
//! Sums are accumulated in a `u32` and folded to 16 bits with end-around carry, so the order in
//! which data is summed does not matter (RFC 1071 §2(B), commutativity and associativity).

use super::IpProtocol;
use core::net::Ipv4Addr;

/// RFC 1071 §4.1: the 16-bit one's-complement sum of `data`, *not* complemented and folded.
/// An odd trailing byte is padded with a zero octet on the right (RFC 1071 §4.1, RFC 9293 §3.1).
pub fn sum(data: &[u8]) -> u16 {
    fold(raw_sum(data))
}

/// Unfolded 32-bit accumulation of `data` as big-endian 16-bit words.
fn raw_sum(data: &[u8]) -> u32 {
    let mut acc: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
        // Fold periodically so very long buffers cannot overflow the accumulator.
        if acc & 0x8000_0000 != 0 {
            acc = (acc & 0xffff) + (acc >> 16);
        }
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
    }
    acc
}

/// Fold a 32-bit accumulator into 16 bits with end-around carry (RFC 1071 §4.1).
pub fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// One's-complement addition of already-folded partial sums (RFC 1071 §2(B)).
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u32::from(s)).sum())
}

/// The checksum field value for `data`: the one's complement of [`sum`] (RFC 1071 §1).
pub fn checksum(data: &[u8]) -> u16 {
    !sum(data)
}

/// RFC 9293 §3.1: sum of the 96-bit TCP/IPv4 pseudo-header (source address, destination
/// address, zero, protocol, TCP length). `length` is the TCP header plus data length.
pub fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, length: u32) -> u16 {
    let s = src.octets();
    let d = dst.octets();
    let mut acc: u32 = 0;
    acc += u32::from(u16::from_be_bytes([s[0], s[1]]));
    acc += u32::from(u16::from_be_bytes([s[2], s[3]]));
    acc += u32::from(u16::from_be_bytes([d[0], d[1]]));
    acc += u32::from(u16::from_be_bytes([d[2], d[3]]));
    acc += u32::from(u8::from(protocol));
    acc += length >> 16;
    acc += length & 0xffff;
    fold(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 worked example: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
        assert_eq!(
            sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
    }

    #[test]
    fn odd_length_pads_right() {
        assert_eq!(sum(&[0xab]), 0xab00);
        assert_eq!(sum(&[0x12, 0x34, 0xab]), 0x12 * 256 + 0x34 + 0xab00);
    }

    #[test]
    fn long_buffer_folds() {
        let data = vec![0xffu8; 200_000];
        assert_eq!(sum(&data), 0xffff);
        assert_eq!(combine(&[0xffff, 0x0001]), 0x0001);
    }

    #[test]
    fn pseudo_header_sums_fields() {
        let s = pseudo_header(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            IpProtocol::Tcp,
            20,
        );
        // 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0006 + 0x0014
        assert_eq!(s, 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0006 + 0x0014);
    }
}
