//! Capture files. Written as classic pcap (libpcap format, Ethernet link type) with the
//! `pcap-file` crate; read as classic pcap or pcapng ([`ng`]), with the link types of [`link`]
//! (Ethernet, raw IP, BSD loopback, Linux cooked SLL and SLL2) turned into Ethernet frames.
//! Frames cut short by the snapshot length are kept, with their original length.
//!
//! Timestamps are the simulator's virtual time: [`Instant`] microseconds since the start of the
//! world, so the first frame of a run sits near 1970-01-01 in Wireshark. Files are written
//! little-endian with microsecond resolution so that the same run always gives the same bytes.
//!
//! Reading never panics on untrusted bytes: every defect is a [`PcapError`] that names the file
//! and, when the defect is in a record, the record's index and byte offset.

use std::borrow::Cow;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use pcap_file::pcap::{PcapHeader, PcapParser, RawPcapPacket};
use pcap_file::{DataLink, Endianness, TsResolution};
use stack::Instant;

/// Snapshot length written in our headers (the default of modern tcpdump). Frames longer than
/// this cannot be written.
pub const SNAPLEN: u32 = 262_144;

/// Length of the pcap global header.
const GLOBAL_HEADER_LEN: usize = 24;
/// Length of a pcap record header.
const RECORD_HEADER_LEN: usize = 16;

pub mod link;
pub mod ng;
pub mod ng_write;

/// One frame read from a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedFrame {
    /// Capture time, truncated to microseconds.
    pub time: Instant,
    /// The captured bytes, starting at the Ethernet header (synthesised for other link types).
    pub data: Vec<u8>,
    /// The frame's length on the wire (as Ethernet); more than `data.len()` when the capture's
    /// snapshot length cut it.
    pub orig_len: usize,
}

/// One record as stored, before its link header is turned into Ethernet.
#[derive(Clone, Debug)]
pub(crate) struct RawRecord<'a> {
    /// Byte offset of the record (pcap record header or pcapng block) in the file.
    #[allow(dead_code)]
    pub offset: usize,
    pub micros: u64,
    pub linktype: u32,
    pub data: &'a [u8],
    pub orig_len: usize,
}

/// Where the bytes of a capture came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PcapSource {
    /// A file on disk.
    File(PathBuf),
    /// An in-memory buffer or writer.
    Memory,
}

impl fmt::Display for PcapSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PcapSource::File(p) => write!(f, "{}", p.display()),
            PcapSource::Memory => f.write_str("<memory>"),
        }
    }
}

/// A pcap file could not be read or written. Displays as `<file>: <what went wrong>`.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {kind}")]
pub struct PcapError {
    /// The file (or `<memory>`) concerned.
    pub source_name: PcapSource,
    /// What went wrong.
    #[source]
    pub kind: PcapErrorKind,
}

/// What went wrong with a pcap file. Offsets are byte offsets from the start of the file;
/// `index` counts records from 0.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PcapErrorKind {
    /// The operating system refused an operation (`op` says which).
    #[error("{op}: {err}")]
    Io {
        op: &'static str,
        #[source]
        err: io::Error,
    },
    /// The file is shorter than the 24-byte global header.
    #[error("truncated global header: {len} of 24 bytes")]
    TruncatedHeader { len: usize },
    /// The first four bytes are no pcap magic number.
    #[error("bad magic number {magic:#010x}: not a pcap file")]
    BadMagic { magic: u32 },
    /// A pcapng block is malformed.
    #[error("pcapng block at offset {offset}: {what}")]
    BadBlock { offset: usize, what: String },
    /// The link type is none of those [`link`] reads.
    #[error("link type {linktype} is not supported (Ethernet 1, raw IP 101/228, loopback 0/108, Linux SLL 113, SLL2 276)")]
    UnsupportedLinkType { linktype: u32 },
    /// A record header runs past the end of the file.
    #[error("record {index} at offset {offset}: truncated record header ({have} of 16 bytes)")]
    TruncatedRecordHeader {
        index: usize,
        offset: usize,
        have: usize,
    },
    /// A record's data runs past the end of the file.
    #[error("record {index} at offset {offset}: truncated data ({have} of {incl_len} bytes)")]
    TruncatedRecord {
        index: usize,
        offset: usize,
        incl_len: u32,
        have: usize,
    },
    /// A record claims more bytes than the snapshot length or than the original frame.
    #[error(
        "record {index} at offset {offset}: bad length (included {incl_len}, original {orig_len}, snaplen {snaplen})"
    )]
    BadRecordLength {
        index: usize,
        offset: usize,
        incl_len: u32,
        orig_len: u32,
        snaplen: u32,
    },
    /// A record's sub-second timestamp is out of range.
    #[error("record {index} at offset {offset}: sub-second timestamp {frac} out of range")]
    BadTimestamp {
        index: usize,
        offset: usize,
        frac: u32,
    },
    /// A frame to write has a time past what pcap's 32-bit seconds can hold.
    #[error("frame {index}: time {time} does not fit a pcap timestamp")]
    TimeOverflow { index: usize, time: Instant },
    /// A frame to write is longer than [`SNAPLEN`].
    #[error("frame {index}: {len} bytes is longer than the snapshot length {SNAPLEN}")]
    FrameTooLong { index: usize, len: usize },
    /// The `pcap-file` crate reported an error we did not anticipate.
    #[error("pcap: {0}")]
    Codec(#[from] pcap_file::PcapError),
}

impl PcapError {
    fn new(source_name: PcapSource, kind: PcapErrorKind) -> Self {
        PcapError { source_name, kind }
    }
    fn memory(kind: PcapErrorKind) -> Self {
        Self::new(PcapSource::Memory, kind)
    }
    fn io(source_name: PcapSource, op: &'static str, err: io::Error) -> Self {
        Self::new(source_name, PcapErrorKind::Io { op, err })
    }
    fn with_source(mut self, source_name: PcapSource) -> Self {
        self.source_name = source_name;
        self
    }
}

/// Writes Ethernet frames as a pcap stream into any [`Write`].
pub struct PcapWriter<W: Write> {
    inner: pcap_file::pcap::PcapWriter<W>,
    frames: usize,
}

impl<W: Write> fmt::Debug for PcapWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcapWriter")
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header (Ethernet, microseconds, little-endian, [`SNAPLEN`]).
    pub fn new(writer: W) -> Result<Self, PcapError> {
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: SNAPLEN,
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::MicroSecond,
            endianness: Endianness::Little,
        };
        let inner = pcap_file::pcap::PcapWriter::with_header(writer, header)
            .map_err(|e| PcapError::memory(codec_kind(e, "write header")))?;
        Ok(PcapWriter { inner, frames: 0 })
    }

    /// Appends one frame captured at `time` (virtual microseconds become the timestamp).
    pub fn write_frame(&mut self, time: Instant, bytes: &[u8]) -> Result<(), PcapError> {
        let index = self.frames;
        let micros = time.total_micros();
        let ts_sec = u32::try_from(micros / 1_000_000)
            .map_err(|_| PcapError::memory(PcapErrorKind::TimeOverflow { index, time }))?;
        // Always below 1_000_000, so it fits.
        let ts_frac = (micros % 1_000_000) as u32;
        let len = u32::try_from(bytes.len())
            .ok()
            .filter(|l| *l <= SNAPLEN)
            .ok_or_else(|| {
                PcapError::memory(PcapErrorKind::FrameTooLong {
                    index,
                    len: bytes.len(),
                })
            })?;
        let record = RawPcapPacket {
            ts_sec,
            ts_frac,
            incl_len: len,
            orig_len: len,
            data: Cow::Borrowed(bytes),
        };
        self.inner
            .write_raw_packet(&record)
            .map_err(|e| PcapError::memory(codec_kind(e, "write record")))?;
        self.frames += 1;
        Ok(())
    }

    /// Number of frames written so far.
    pub fn frames_written(&self) -> usize {
        self.frames
    }

    /// Returns the underlying writer (not flushed).
    pub fn into_inner(self) -> W {
        self.inner.into_writer()
    }
}

/// Turns a `pcap-file` write error into our kind, keeping I/O errors as I/O.
fn codec_kind(e: pcap_file::PcapError, op: &'static str) -> PcapErrorKind {
    match e {
        pcap_file::PcapError::IoError(err) => PcapErrorKind::Io { op, err },
        other => PcapErrorKind::Codec(other),
    }
}

/// Encodes frames as a complete pcap file in memory.
pub fn write_pcap_bytes(frames: &[(Instant, Vec<u8>)]) -> Result<Vec<u8>, PcapError> {
    let mut w = PcapWriter::new(Vec::new())?;
    for (time, bytes) in frames {
        w.write_frame(*time, bytes)?;
    }
    Ok(w.into_inner())
}

/// Writes frames to `path` atomically: the whole file is written to a temporary file in the same
/// directory, synced, then renamed over `path`. On any error nothing is left at `path` (an
/// existing file there is untouched) and the temporary file is removed.
pub fn write_pcap_file(path: &Path, frames: &[(Instant, Vec<u8>)]) -> Result<(), PcapError> {
    // Encode first: encoding errors then never touch the file system.
    let bytes = write_pcap_bytes(frames)
        .map_err(|e| e.with_source(PcapSource::File(path.to_path_buf())))?;
    write_bytes_atomic(path, &bytes)
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, synced, renamed):
/// nothing half-written is ever left at `path`.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), PcapError> {
    let src = || PcapSource::File(path.to_path_buf());
    let file_name = path.file_name().ok_or_else(|| {
        PcapError::io(
            src(),
            "choose temporary file",
            io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"),
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    // Unique per process and per call, so parallel writers never share a temporary file.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tmp_name.push(format!(".{}-{n}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);

    let result = (|| -> Result<(), (&'static str, io::Error)> {
        let mut f = fs::File::create(&tmp).map_err(|e| ("create temporary file", e))?;
        f.write_all(bytes)
            .map_err(|e| ("write temporary file", e))?;
        f.sync_all().map_err(|e| ("sync temporary file", e))?;
        drop(f);
        fs::rename(&tmp, path).map_err(|e| ("rename temporary file", e))
    })();
    if let Err((op, err)) = result {
        // Best effort: the temporary file may not exist if creation failed.
        let _ = fs::remove_file(&tmp);
        return Err(PcapError::io(src(), op, err));
    }
    Ok(())
}

/// Reads every frame of the pcap file at `path`.
pub fn read_pcap(path: &Path) -> Result<Vec<CapturedFrame>, PcapError> {
    let src = || PcapSource::File(path.to_path_buf());
    let bytes = fs::read(path).map_err(|e| PcapError::io(src(), "read", e))?;
    read_pcap_bytes(&bytes).map_err(|e| e.with_source(src()))
}

/// Reads every frame of a pcap file held in memory.
pub fn read_pcap_bytes(data: &[u8]) -> Result<Vec<CapturedFrame>, PcapError> {
    parse(data).map_err(PcapError::memory)
}

fn parse(data: &[u8]) -> Result<Vec<CapturedFrame>, PcapErrorKind> {
    if let Some(m) = data.get(..4) {
        let magic = u32::from_be_bytes([m[0], m[1], m[2], m[3]]);
        if magic == ng::SHB {
            return Ok(to_frames(ng::parse(data)?));
        }
        if !matches!(magic, 0xA1B2_C3D4 | 0xA1B2_3C4D | 0xD4C3_B2A1 | 0x4D3C_B2A1) {
            return Err(PcapErrorKind::BadMagic { magic });
        }
    }
    if data.len() < GLOBAL_HEADER_LEN {
        return Err(PcapErrorKind::TruncatedHeader { len: data.len() });
    }
    let (mut rest, parser) = PcapParser::new(data)?;
    let header = parser.header();
    let linktype = u32::from(header.datalink);
    if !link::supported(linktype) {
        return Err(PcapErrorKind::UnsupportedLinkType { linktype });
    }
    let (frac_limit, frac_to_micros) = match header.ts_resolution {
        TsResolution::MicroSecond => (1_000_000, 1),
        TsResolution::NanoSecond => (1_000_000_000, 1_000),
    };

    // A snaplen of 0 is written by some tools to mean "unlimited".
    let snaplen = if header.snaplen == 0 {
        u32::MAX
    } else {
        header.snaplen
    };

    let mut frames = Vec::new();
    while !rest.is_empty() {
        let index = frames.len();
        let offset = data.len() - rest.len();
        // Lengths are checked before the data is looked for, so that a corrupt length says
        // so rather than claiming the file is truncated.
        if let Some((incl_len, orig_len)) = record_lengths(rest, header.endianness) {
            if incl_len > orig_len || incl_len > snaplen {
                return Err(PcapErrorKind::BadRecordLength {
                    index,
                    offset,
                    incl_len,
                    orig_len,
                    snaplen: header.snaplen,
                });
            }
        }
        let record = match parser.next_raw_packet(rest) {
            Ok((next, record)) => {
                rest = next;
                record
            }
            Err(pcap_file::PcapError::IncompleteBuffer) => {
                return Err(truncation(index, offset, rest, header.endianness));
            }
            Err(e) => return Err(e.into()),
        };
        if record.ts_frac >= frac_limit {
            return Err(PcapErrorKind::BadTimestamp {
                index,
                offset,
                frac: record.ts_frac,
            });
        }
        let micros =
            u64::from(record.ts_sec) * 1_000_000 + u64::from(record.ts_frac / frac_to_micros);
        frames.push(RawRecord {
            offset,
            micros,
            linktype,
            // The parser has checked that the record's bytes are all there.
            data: data
                .get(offset + RECORD_HEADER_LEN..offset + RECORD_HEADER_LEN + record.data.len())
                .unwrap_or(&[]),
            orig_len: record.orig_len as usize,
        });
    }
    Ok(to_frames(frames))
}

/// Turns raw records into Ethernet frames. A record whose link header is itself cut short is
/// kept as its bytes (it parses as nothing and is ignored downstream).
fn to_frames(records: Vec<RawRecord<'_>>) -> Vec<CapturedFrame> {
    records
        .into_iter()
        .map(|r| {
            let (data, grew) =
                link::to_ethernet(r.linktype, r.data).unwrap_or_else(|| (r.data.to_vec(), 0));
            let orig_len = r.orig_len.saturating_add_signed(grew).max(data.len());
            CapturedFrame {
                time: Instant::from_micros(r.micros),
                data,
                orig_len,
            }
        })
        .collect()
}

/// Reads `u32` number `word` (0-based) of a record header, if the bytes are there.
fn header_word(rest: &[u8], word: usize, endianness: Endianness) -> Option<u32> {
    let b = rest.get(word * 4..word * 4 + 4)?;
    let b = [b[0], b[1], b[2], b[3]];
    Some(match endianness {
        Endianness::Little => u32::from_le_bytes(b),
        Endianness::Big => u32::from_be_bytes(b),
    })
}

/// `(incl_len, orig_len)` of the record header at the start of `rest`, if complete.
fn record_lengths(rest: &[u8], endianness: Endianness) -> Option<(u32, u32)> {
    Some((
        header_word(rest, 2, endianness)?,
        header_word(rest, 3, endianness)?,
    ))
}

/// Describes why the record starting at `rest` did not fit in what is left of the file.
fn truncation(index: usize, offset: usize, rest: &[u8], endianness: Endianness) -> PcapErrorKind {
    match header_word(rest, 2, endianness) {
        Some(incl_len) if rest.len() >= RECORD_HEADER_LEN => PcapErrorKind::TruncatedRecord {
            index,
            offset,
            incl_len,
            have: rest.len() - RECORD_HEADER_LEN,
        },
        _ => PcapErrorKind::TruncatedRecordHeader {
            index,
            offset,
            have: rest.len(),
        },
    }
}

/// Fuzz entry point: parse arbitrary bytes as a pcap; when they parse, the frames must survive a
/// write/read round trip unchanged, and render as one line each without panicking.
pub fn fuzz_read(data: &[u8]) {
    let Ok(frames) = read_pcap_bytes(data) else {
        return;
    };
    let mut renderer = crate::render::Renderer::relative();
    for f in &frames {
        let line = renderer.render(&f.data);
        assert!(!line.contains('\n'), "a rendered frame spans lines");
    }
    let pairs: Vec<(Instant, Vec<u8>)> = frames.iter().map(|f| (f.time, f.data.clone())).collect();
    // Frames longer than our SNAPLEN are legal in the input but cannot be written back.
    // The round trip keeps time and bytes (the original length of a cut frame is not written).
    if let Ok(bytes) = write_pcap_bytes(&pairs) {
        let again = read_pcap_bytes(&bytes)
            .map(|v| v.into_iter().map(|f| (f.time, f.data)).collect::<Vec<_>>());
        assert!(
            matches!(&again, Ok(f) if *f == pairs),
            "pcap round trip changed the frames"
        );
    }
}

#[cfg(test)]
mod tests;
