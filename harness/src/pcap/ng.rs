//! pcapng (IETF draft-ietf-opsawg-pcapng): sections, interfaces, enhanced, simple and obsolete
//! packet blocks. Other blocks (name resolution, statistics, custom, ...) are skipped.
//! Every defect names the byte offset of the block it is in.

use super::{PcapErrorKind, RawRecord};

/// Section header block type.
pub const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const OPB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// `if_tsresol` option code of an interface description block.
const OPT_TSRESOL: u16 = 9;

/// One interface of the current section.
struct Interface {
    linktype: u32,
    snaplen: u32,
    /// Timestamp units per second.
    units_per_sec: u64,
}

fn bad(offset: usize, what: impl Into<String>) -> PcapErrorKind {
    PcapErrorKind::BadBlock {
        offset,
        what: what.into(),
    }
}

/// Reads every packet of a pcapng file as raw records (link type still to be converted).
pub(crate) fn parse(data: &[u8]) -> Result<Vec<RawRecord<'_>>, PcapErrorKind> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut little = true;
    let mut ifaces: Vec<Interface> = Vec::new();
    let mut seen_shb = false;
    while pos < data.len() {
        let head = data.get(pos..pos + 8).ok_or_else(|| {
            bad(
                pos,
                format!("truncated block header ({} of 8 bytes)", data.len() - pos),
            )
        })?;
        let raw_type = [head[0], head[1], head[2], head[3]];
        if u32::from_be_bytes(raw_type) == SHB {
            // The byte-order magic decides how this section (and this block's length) reads.
            let bom = data
                .get(pos + 8..pos + 12)
                .ok_or_else(|| bad(pos, "truncated section header"))?;
            little = match u32::from_le_bytes([bom[0], bom[1], bom[2], bom[3]]) {
                BYTE_ORDER_MAGIC => true,
                m if m.swap_bytes() == BYTE_ORDER_MAGIC => false,
                m => return Err(bad(pos, format!("bad byte-order magic {m:#010x}"))),
            };
            ifaces.clear();
            seen_shb = true;
        } else if !seen_shb {
            return Err(bad(pos, "file does not start with a section header block"));
        }
        let u32_at = |at: usize| -> Option<u32> {
            let b = data.get(at..at + 4)?;
            let b = [b[0], b[1], b[2], b[3]];
            Some(if little {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            })
        };
        let u16_at = |at: usize| -> Option<u16> {
            let b = data.get(at..at + 2)?;
            Some(if little {
                u16::from_le_bytes([b[0], b[1]])
            } else {
                u16::from_be_bytes([b[0], b[1]])
            })
        };
        let btype = u32_at(pos).unwrap_or(0);
        let blen = u32_at(pos + 4).unwrap_or(0) as usize;
        if blen < 12 || blen % 4 != 0 {
            return Err(bad(pos, format!("bad block length {blen}")));
        }
        let end = pos
            .checked_add(blen)
            .filter(|e| *e <= data.len())
            .ok_or_else(|| {
                bad(
                    pos,
                    format!("truncated block ({} of {blen} bytes)", data.len() - pos),
                )
            })?;
        if u32_at(end - 4) != Some(blen as u32) {
            return Err(bad(
                pos,
                "trailing block length differs from the leading one",
            ));
        }
        let body = pos + 8..end - 4;
        match btype {
            IDB => {
                if body.len() < 8 {
                    return Err(bad(pos, "interface description block too short"));
                }
                let linktype = u32::from(u16_at(body.start).unwrap_or(0));
                let snaplen = u32_at(body.start + 4).unwrap_or(0);
                let mut units_per_sec = 1_000_000u64;
                // Options: code(2) len(2) value padded to 4.
                let mut o = body.start + 8;
                while o + 4 <= body.end {
                    let code = u16_at(o).unwrap_or(0);
                    let len = usize::from(u16_at(o + 2).unwrap_or(0));
                    if code == 0 {
                        break;
                    }
                    if o + 4 + len > body.end {
                        return Err(bad(pos, format!("option {code} runs past its block")));
                    }
                    if code == OPT_TSRESOL && len >= 1 {
                        let r = data[o + 4];
                        let exp = u32::from(r & 0x7f);
                        units_per_sec = if r & 0x80 == 0 {
                            10u64.checked_pow(exp)
                        } else {
                            2u64.checked_pow(exp)
                        }
                        .ok_or_else(|| bad(pos, format!("if_tsresol {r:#04x} out of range")))?;
                    }
                    o += 4 + len.div_ceil(4) * 4;
                }
                if !super::link::supported(linktype) {
                    return Err(PcapErrorKind::UnsupportedLinkType { linktype });
                }
                ifaces.push(Interface {
                    linktype,
                    snaplen,
                    units_per_sec,
                });
            }
            EPB | OPB => {
                if body.len() < 20 {
                    return Err(bad(pos, "packet block too short"));
                }
                let (ifid, ts_at, cap_at) = if btype == EPB {
                    (
                        u32_at(body.start).unwrap_or(0) as usize,
                        body.start + 4,
                        body.start + 12,
                    )
                } else {
                    (
                        usize::from(u16_at(body.start).unwrap_or(0)),
                        body.start + 4,
                        body.start + 12,
                    )
                };
                let iface = ifaces.get(ifid).ok_or_else(|| {
                    bad(pos, format!("packet names interface {ifid}, not described"))
                })?;
                let ts = (u64::from(u32_at(ts_at).unwrap_or(0)) << 32)
                    | u64::from(u32_at(ts_at + 4).unwrap_or(0));
                let cap_len = u32_at(cap_at).unwrap_or(0) as usize;
                let orig_len = u32_at(cap_at + 4).unwrap_or(0) as usize;
                let start = cap_at + 8;
                if start + cap_len > body.end {
                    return Err(bad(
                        pos,
                        format!("captured length {cap_len} runs past its block"),
                    ));
                }
                out.push(RawRecord {
                    offset: pos,
                    micros: to_micros(ts, iface.units_per_sec),
                    linktype: iface.linktype,
                    data: &data[start..start + cap_len],
                    orig_len: orig_len.max(cap_len),
                });
            }
            SPB => {
                let iface = ifaces
                    .first()
                    .ok_or_else(|| bad(pos, "simple packet block before any interface"))?;
                let orig_len = u32_at(body.start).unwrap_or(0) as usize;
                let mut cap_len = orig_len.min(body.len().saturating_sub(4));
                if iface.snaplen != 0 {
                    cap_len = cap_len.min(iface.snaplen as usize);
                }
                let start = body.start + 4;
                out.push(RawRecord {
                    offset: pos,
                    // A simple packet block has no timestamp.
                    micros: out.last().map_or(0, |r: &RawRecord<'_>| r.micros),
                    linktype: iface.linktype,
                    data: &data[start..start + cap_len],
                    orig_len,
                });
            }
            _ => {}
        }
        pos = end;
    }
    Ok(out)
}

/// Converts a timestamp in `units` per second to microseconds (saturating).
fn to_micros(ts: u64, units: u64) -> u64 {
    if units == 1_000_000 {
        ts
    } else {
        let micros = u128::from(ts) * 1_000_000 / u128::from(units.max(1));
        u64::try_from(micros).unwrap_or(u64::MAX)
    }
}
