use super::*;
use proptest::prelude::*;
use rstest::rstest;

/// A scratch directory unique to one test, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("harness-pcap-{}-{}", name, std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn sample_frames() -> Vec<(Instant, Vec<u8>)> {
    vec![
        (Instant::ZERO, vec![0xff; 60]),
        (Instant::from_micros(100_123), (0..=255u8).collect()),
        (
            Instant::from_secs(7) + stack::Duration::from_micros(999_999),
            vec![],
        ),
        (Instant::from_secs(u64::from(u32::MAX)), vec![1, 2, 3]),
    ]
}

fn as_captured(frames: &[(Instant, Vec<u8>)]) -> Vec<CapturedFrame> {
    frames
        .iter()
        .map(|(time, data)| CapturedFrame {
            time: *time,
            data: data.clone(),
            orig_len: data.len(),
        })
        .collect()
}

#[test]
fn round_trip_in_memory() {
    let frames = sample_frames();
    let bytes = write_pcap_bytes(&frames).expect("write");
    assert_eq!(read_pcap_bytes(&bytes).expect("read"), as_captured(&frames));
}

#[test]
fn round_trip_through_file_leaves_no_temporary() {
    let dir = TempDir::new("roundtrip");
    let path = dir.path("run.pcap");
    let frames = sample_frames();
    write_pcap_file(&path, &frames).expect("write");
    assert_eq!(read_pcap(&path).expect("read"), as_captured(&frames));
    let names: Vec<_> = fs::read_dir(&dir.0)
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("run.pcap")]);
}

#[test]
fn header_is_little_endian_ethernet_microseconds() {
    let bytes = write_pcap_bytes(&[]).expect("write");
    assert_eq!(bytes.len(), GLOBAL_HEADER_LEN);
    assert_eq!(bytes[..4], [0xd4, 0xc3, 0xb2, 0xa1]);
    assert_eq!(bytes[16..20], SNAPLEN.to_le_bytes());
    assert_eq!(bytes[20..24], link::ETHERNET.to_le_bytes());
}

#[test]
fn writer_timestamps_are_microseconds() {
    let bytes = write_pcap_bytes(&[(Instant::from_micros(3_000_042), vec![9])]).expect("write");
    let rec = &bytes[GLOBAL_HEADER_LEN..];
    assert_eq!(rec[0..4], 3u32.to_le_bytes());
    assert_eq!(rec[4..8], 42u32.to_le_bytes());
    assert_eq!(rec[8..12], 1u32.to_le_bytes());
    assert_eq!(rec[12..16], 1u32.to_le_bytes());
    assert_eq!(rec[16], 9);
}

#[test]
fn time_past_u32_seconds_is_an_error() {
    let t = Instant::from_secs(u64::from(u32::MAX) + 1);
    let err = write_pcap_bytes(&[(Instant::ZERO, vec![]), (t, vec![])]).unwrap_err();
    assert!(matches!(
        err.kind,
        PcapErrorKind::TimeOverflow { index: 1, .. }
    ));
}

#[test]
fn frame_longer_than_snaplen_is_an_error() {
    let big = vec![0; SNAPLEN as usize + 1];
    let err = write_pcap_bytes(&[(Instant::ZERO, big)]).unwrap_err();
    assert!(matches!(
        err.kind,
        PcapErrorKind::FrameTooLong { index: 0, .. }
    ));
}

#[test]
fn failed_write_leaves_existing_file_untouched() {
    let dir = TempDir::new("atomic");
    let path = dir.path("keep.pcap");
    fs::write(&path, b"previous").expect("seed");
    let bad = vec![(Instant::MAX, vec![1])];
    let err = write_pcap_file(&path, &bad).unwrap_err();
    assert_eq!(err.source_name, PcapSource::File(path.clone()));
    assert_eq!(fs::read(&path).expect("read back"), b"previous");
    assert_eq!(fs::read_dir(&dir.0).expect("list").count(), 1);
}

#[test]
fn write_into_missing_directory_is_io_error_naming_file() {
    let dir = TempDir::new("missing");
    let path = dir.path("no/such/dir/x.pcap");
    let err = write_pcap_file(&path, &sample_frames()).unwrap_err();
    assert!(matches!(err.kind, PcapErrorKind::Io { .. }));
    assert!(err.to_string().contains("x.pcap"), "{err}");
}

#[test]
fn read_missing_file_names_it() {
    let err = read_pcap(Path::new("/nonexistent/capture.pcap")).unwrap_err();
    assert!(matches!(err.kind, PcapErrorKind::Io { op: "read", .. }));
    assert!(
        err.to_string().starts_with("/nonexistent/capture.pcap: "),
        "{err}"
    );
}

/// A valid capture of two frames (lengths 20 and 30) to damage in the tests below.
fn two_frame_capture() -> Vec<u8> {
    write_pcap_bytes(&[
        (Instant::from_millis(1), vec![0xaa; 20]),
        (Instant::from_millis(2), vec![0xbb; 30]),
    ])
    .expect("write")
}

#[rstest]
#[case::empty(0)]
#[case::magic_only(4)]
#[case::one_short(23)]
fn truncated_global_header(#[case] len: usize) {
    let bytes = two_frame_capture();
    let err = read_pcap_bytes(&bytes[..len]).unwrap_err();
    assert!(
        matches!(err.kind, PcapErrorKind::TruncatedHeader { len: l } if l == len),
        "{err}"
    );
}

#[rstest]
#[case::zeros([0, 0, 0, 0], 0)]
#[case::text(*b"GET ", 0x4745_5420)]
fn bad_magic(#[case] magic: [u8; 4], #[case] expect: u32) {
    let mut bytes = two_frame_capture();
    bytes[..4].copy_from_slice(&magic);
    let err = read_pcap_bytes(&bytes).unwrap_err();
    assert!(
        matches!(err.kind, PcapErrorKind::BadMagic { magic } if magic == expect),
        "{err}"
    );
}

#[test]
fn big_endian_nanosecond_capture_is_read() {
    // Hand-built: magic a1b23c4d (nanoseconds) big-endian, one 2-byte record at 1.5 s.
    let mut bytes = vec![0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4];
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&65535u32.to_be_bytes());
    bytes.extend_from_slice(&1u32.to_be_bytes());
    bytes.extend_from_slice(&1u32.to_be_bytes());
    bytes.extend_from_slice(&500_000_999u32.to_be_bytes());
    bytes.extend_from_slice(&2u32.to_be_bytes());
    bytes.extend_from_slice(&2u32.to_be_bytes());
    bytes.extend_from_slice(&[7, 8]);
    let frames = read_pcap_bytes(&bytes).expect("read");
    assert_eq!(
        frames,
        vec![CapturedFrame {
            time: Instant::from_micros(1_500_000),
            data: vec![7, 8],
            orig_len: 2,
        }]
    );
}

#[rstest]
// Second record starts at 24 + 16 + 20 = 60 and spans 16 + 30 bytes.
#[case::mid_record_header(60 + 7, 1, 60, 7)]
#[case::first_record_header(24 + 15, 0, 24, 15)]
fn truncated_record_header(
    #[case] cut: usize,
    #[case] index: usize,
    #[case] offset: usize,
    #[case] have: usize,
) {
    let bytes = two_frame_capture();
    let err = read_pcap_bytes(&bytes[..cut]).unwrap_err();
    match err.kind {
        PcapErrorKind::TruncatedRecordHeader {
            index: i,
            offset: o,
            have: h,
        } => assert_eq!((i, o, h), (index, offset, have)),
        other => panic!("unexpected {other}"),
    }
}

#[rstest]
#[case::no_data(60 + 16, 0)]
#[case::one_byte_short(60 + 16 + 29, 29)]
fn truncated_record_data(#[case] cut: usize, #[case] have: usize) {
    let bytes = two_frame_capture();
    let err = read_pcap_bytes(&bytes[..cut]).unwrap_err();
    match err.kind {
        PcapErrorKind::TruncatedRecord {
            index,
            offset,
            incl_len,
            have: h,
        } => assert_eq!((index, offset, incl_len, h), (1, 60, 30, have)),
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("record 1 at offset 60"), "{err}");
}

#[test]
fn truncated_file_on_disk_names_file_and_offset() {
    let dir = TempDir::new("truncated");
    let path = dir.path("cut.pcap");
    let bytes = two_frame_capture();
    fs::write(&path, &bytes[..bytes.len() - 1]).expect("write");
    let err = read_pcap(&path).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("cut.pcap") && msg.contains("offset 60"),
        "{msg}"
    );
}

#[rstest]
#[case::incl_over_orig(20, 19)]
#[case::over_snaplen(SNAPLEN + 1, SNAPLEN + 1)]
fn bad_record_length(#[case] incl: u32, #[case] orig: u32) {
    let mut bytes = two_frame_capture();
    bytes[24 + 8..24 + 12].copy_from_slice(&incl.to_le_bytes());
    bytes[24 + 12..24 + 16].copy_from_slice(&orig.to_le_bytes());
    let err = read_pcap_bytes(&bytes).unwrap_err();
    assert!(
        matches!(
            err.kind,
            PcapErrorKind::BadRecordLength {
                index: 0,
                offset: 24,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn bad_microsecond_fraction() {
    let mut bytes = two_frame_capture();
    bytes[24 + 4..24 + 8].copy_from_slice(&1_000_000u32.to_le_bytes());
    let err = read_pcap_bytes(&bytes).unwrap_err();
    assert!(
        matches!(
            err.kind,
            PcapErrorKind::BadTimestamp {
                index: 0,
                frac: 1_000_000,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn fuzz_read_accepts_valid_and_garbage() {
    fuzz_read(&two_frame_capture());
    fuzz_read(&[]);
    fuzz_read(&[0xd4, 0xc3, 0xb2, 0xa1]);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_pcap_bytes(&data);
        fuzz_read(&data);
    }

    #[test]
    fn valid_header_then_arbitrary_records_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..512),
        big_endian in any::<bool>(),
    ) {
        let mut data = if big_endian {
            vec![0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1]
        } else {
            write_pcap_bytes(&[]).expect("header")
        };
        data.extend_from_slice(&tail);
        let _ = read_pcap_bytes(&data);
        fuzz_read(&data);
    }

    #[test]
    fn round_trip_any_frames(
        frames in proptest::collection::vec(
            (0u64..=u64::from(u32::MAX) * 1_000_000, proptest::collection::vec(any::<u8>(), 0..200)),
            0..8,
        )
    ) {
        let frames: Vec<(Instant, Vec<u8>)> =
            frames.into_iter().map(|(t, d)| (Instant::from_micros(t), d)).collect();
        let bytes = write_pcap_bytes(&frames).expect("write");
        prop_assert_eq!(read_pcap_bytes(&bytes).expect("read"), as_captured(&frames));
    }
}

/// Runs tshark over a capture of real frames with checksum validation on. Skipped (with a
/// message) when tshark is not installed.
#[test]
fn tshark_opens_capture_and_checksums_verify() {
    let dir = TempDir::new("tshark");
    let path = dir.path("handshake.pcap");
    let frames = crate::render::testframes::handshake(0xfedc_ba98, 12345);
    write_pcap_file(&path, &frames).expect("write");
    let out = match std::process::Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args([
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
            "-V",
        ])
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            dut::skip::skipped(
                "pcap::tests (tshark)",
                &format!("tshark not runnable ({e}); install with `apt-get install -y tshark`"),
            );
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tshark failed: {stderr}");
    // tshark warns on stderr when run as root; anything else there is a problem.
    for line in stderr.lines() {
        assert!(
            line.contains("Running as user") || line.trim().is_empty(),
            "tshark stderr: {line}"
        );
    }
    let lower = stdout.to_lowercase();
    for bad in [
        "incorrect",
        "bad checksum",
        "malformed",
        "expert info (error",
    ] {
        assert!(
            !lower.contains(bad),
            "tshark output mentions {bad:?}:\n{stdout}"
        );
    }
    // Every frame was decoded, and the protocols we wrote were recognised.
    assert_eq!(
        stdout.matches("\nFrame ").count() + usize::from(stdout.starts_with("Frame ")),
        frames.len()
    );
    assert!(
        stdout.contains("[Good: True]") || stdout.contains("[Checksum Status: Good]"),
        "{stdout}"
    );
    assert!(stdout.contains("Transmission Control Protocol, Src Port: 40000, Dst Port: 8080"));
    assert!(stdout.contains("Address Resolution Protocol (request)"));
}

/// A pcapng file: section header, one interface of `linktype` (with `tsresol` if given), and one
/// enhanced packet block per frame, in the given byte order.
fn pcapng(
    little: bool,
    linktype: u16,
    tsresol: Option<u8>,
    frames: &[(u64, &[u8], u32)],
) -> Vec<u8> {
    let w32 = |v: u32| {
        if little {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    };
    let w16 = |v: u16| {
        if little {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    };
    let block = |out: &mut Vec<u8>, btype: u32, body: &[u8]| {
        let mut body = body.to_vec();
        while body.len() % 4 != 0 {
            body.push(0);
        }
        let len = 12 + body.len() as u32;
        out.extend_from_slice(&w32(btype));
        out.extend_from_slice(&w32(len));
        out.extend_from_slice(&body);
        out.extend_from_slice(&w32(len));
    };
    let mut out = Vec::new();
    let mut shb = w32(0x1A2B_3C4D).to_vec();
    shb.extend_from_slice(&w16(1));
    shb.extend_from_slice(&w16(0));
    shb.extend_from_slice(&[0xff; 8]);
    block(&mut out, 0x0A0D_0D0A, &shb);
    let mut idb = w16(linktype).to_vec();
    idb.extend_from_slice(&[0, 0]);
    idb.extend_from_slice(&w32(65535));
    if let Some(r) = tsresol {
        idb.extend_from_slice(&w16(9));
        idb.extend_from_slice(&w16(1));
        idb.extend_from_slice(&[r, 0, 0, 0]);
        idb.extend_from_slice(&[0; 4]);
    }
    block(&mut out, 1, &idb);
    for (ts, data, orig) in frames {
        let mut epb = w32(0).to_vec();
        epb.extend_from_slice(&w32((ts >> 32) as u32));
        epb.extend_from_slice(&w32(*ts as u32));
        epb.extend_from_slice(&w32(data.len() as u32));
        epb.extend_from_slice(&w32(*orig));
        epb.extend_from_slice(data);
        block(&mut out, 6, &epb);
    }
    out
}

#[rstest]
#[case::little_endian(true)]
#[case::big_endian(false)]
fn pcapng_enhanced_packets_are_read(#[case] little: bool) {
    let a = [1u8; 60];
    let b = [2u8; 3];
    let bytes = pcapng(little, 1, None, &[(1_500_000, &a, 60), (2_000_001, &b, 3)]);
    let frames = read_pcap_bytes(&bytes).expect("read");
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].time, Instant::from_micros(1_500_000));
    assert_eq!(frames[0].data, a);
    assert_eq!(frames[1].time, Instant::from_micros(2_000_001));
    assert_eq!(frames[1].data, b);
}

#[test]
fn pcapng_nanosecond_resolution_and_snaplen_cut() {
    let a = [3u8; 40];
    let bytes = pcapng(true, 1, Some(9), &[(1_500_000_999, &a, 1514)]);
    let frames = read_pcap_bytes(&bytes).expect("read");
    assert_eq!(frames[0].time, Instant::from_micros(1_500_000));
    assert_eq!(frames[0].data.len(), 40);
    assert_eq!(frames[0].orig_len, 1514);
}

#[test]
fn pcapng_corrupt_block_names_its_offset() {
    let a = [1u8; 60];
    let mut bytes = pcapng(true, 1, None, &[(1, &a, 60), (2, &a, 60)]);
    // Section header 28 bytes, interface 20 bytes, first packet 32 + 60 = 92 bytes.
    let second = 28 + 20 + 92;
    bytes[second + 4..second + 8].copy_from_slice(&7u32.to_le_bytes());
    let err = read_pcap_bytes(&bytes).unwrap_err();
    assert!(
        matches!(&err.kind, PcapErrorKind::BadBlock { offset, .. } if *offset == second),
        "{err}"
    );
    assert!(
        err.to_string().contains(&format!("offset {second}")),
        "{err}"
    );
    // Cut in the middle of the last block.
    let bytes = pcapng(true, 1, None, &[(1, &a, 60)]);
    let err = read_pcap_bytes(&bytes[..bytes.len() - 5]).unwrap_err();
    assert!(err.to_string().contains("offset 48"), "{err}");
}

/// An IPv4 packet's first bytes (enough to recognise the version).
const IP: [u8; 4] = [0x45, 0, 0, 20];

#[rstest]
#[case::raw(101, IP.to_vec(), 0x0800, [0; 6])]
#[case::ipv4(228, IP.to_vec(), 0x0800, [0; 6])]
#[case::null_le(0, [&[2u8, 0, 0, 0][..], &IP].concat(), 0x0800, [0; 6])]
#[case::sll(113, [&[0u8, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 8, 0][..], &IP].concat(), 0x0800, [1, 2, 3, 4, 5, 6])]
#[case::sll2(276, [&[8u8, 6, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 9, 9, 9, 9, 9, 9, 0, 0][..], &IP].concat(), 0x0806, [9; 6])]
fn link_types_become_ethernet(
    #[case] linktype: u32,
    #[case] frame: Vec<u8>,
    #[case] ethertype: u16,
    #[case] src: [u8; 6],
) {
    let mut bytes = write_pcap_bytes(&[(Instant::ZERO, frame)]).expect("write");
    bytes[20..24].copy_from_slice(&linktype.to_le_bytes());
    let frames = read_pcap_bytes(&bytes).expect("read");
    let d = &frames[0].data;
    assert_eq!(&d[6..12], &src);
    assert_eq!(u16::from_be_bytes([d[12], d[13]]), ethertype);
    assert_eq!(&d[14..], &IP);
    assert_eq!(frames[0].orig_len, d.len());
    // The same through pcapng.
    let ng = pcapng(
        true,
        linktype as u16,
        None,
        &[(0, &bytes[40..], (bytes.len() - 40) as u32)],
    );
    assert_eq!(read_pcap_bytes(&ng).expect("read ng")[0].data, *d);
}

#[test]
fn truncated_frame_keeps_its_original_length() {
    let mut bytes = write_pcap_bytes(&[(Instant::ZERO, vec![5; 54])]).expect("write");
    bytes[24 + 12..24 + 16].copy_from_slice(&1514u32.to_le_bytes());
    let frames = read_pcap_bytes(&bytes).expect("read");
    assert_eq!((frames[0].data.len(), frames[0].orig_len), (54, 1514));
}
