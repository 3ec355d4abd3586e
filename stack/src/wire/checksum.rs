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

/// Accumulation of `data` as big-endian 16-bit words, partly folded to 32 bits.
///
/// Word at a time (RFC 1071 §4.1, "deferred carries" of §2(C)): 32-bit big-endian words are
/// summed into a 64-bit accumulator, which cannot overflow below 2^32 words, then folded. The
/// one's-complement sum of the 32-bit words folds to the same 16-bit sum as the 16-bit words.
fn raw_sum(data: &[u8]) -> u32 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        acc += (w >> 32) + (w & 0xffff_ffff);
    }
    let mut rest = chunks.remainder().chunks_exact(2);
    for c in &mut rest {
        acc += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = rest.remainder() {
        acc += u64::from(*last) << 8;
    }
    // Fold 64 -> 32 bits with end-around carry (twice covers the carry of the first fold).
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    acc as u32
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

    /// RFC 1071 §4.1 as written: 16-bit words one at a time.
    fn sum_by_words(data: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        for c in data.chunks(2) {
            let w = u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]);
            acc += u32::from(w);
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    proptest::proptest! {
        #[test]
        fn word_at_a_time_equals_sixteen_bit_words(data in proptest::collection::vec(proptest::num::u8::ANY, 0..3000)) {
            proptest::prop_assert_eq!(sum(&data), sum_by_words(&data));
        }
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
