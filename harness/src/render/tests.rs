use super::testframes::*;
use super::*;
use proptest::prelude::*;
use rstest::rstest;
use stack::wire::TcpFlags as F;

fn syn_ack_8080() -> Vec<u8> {
    Seg::new(server(), client(), F::SYN, 0)
        .ack(1)
        .opts(vec![
            TcpOption::MaxSegmentSize(1460),
            TcpOption::NoOp,
            TcpOption::WindowScale(7),
        ])
        .bytes()
}

#[test]
fn syn_ack_line_matches_the_documented_example() {
    assert_eq!(
        render_frame(&syn_ack_8080()),
        "192.0.2.1:8080 > 192.0.2.2:40000 S. seq 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7>"
    );
}

#[rstest]
#[case::syn(F::SYN, "S")]
#[case::syn_ack(F::SYN | F::ACK, "S.")]
#[case::ack(F::ACK, ".")]
#[case::psh_ack(F::PSH | F::ACK, "P.")]
#[case::fin_ack(F::FIN | F::ACK, "F.")]
#[case::fin_psh_ack(F::FIN | F::PSH | F::ACK, "FP.")]
#[case::rst(F::RST, "R")]
#[case::rst_ack(F::RST | F::ACK, "R.")]
#[case::none(F::NONE, "none")]
#[case::ece_cwr(F::SYN | F::ECE | F::CWR, "SEW")]
fn flag_letters(#[case] flags: TcpFlags, #[case] expect: &str) {
    assert_eq!(flags_str(flags), expect);
}

#[test]
fn absolute_numbers_are_as_on_the_wire() {
    let seg = Seg::new(client(), server(), F::PSH, 4_000_000_000)
        .ack(17)
        .win(502)
        .data(b"abc")
        .bytes();
    assert_eq!(
        render_frame(&seg),
        "192.0.2.2:40000 > 192.0.2.1:8080 P. seq 4000000000:4000000003(3) ack 17 win 502"
    );
}

#[test]
fn sequence_range_wraps_modulo_2_32() {
    let seg = Seg::new(client(), server(), F::NONE, u32::MAX - 1)
        .data(b"abcd")
        .bytes();
    assert!(
        render_frame(&seg).contains("none seq 4294967294:2(4) win"),
        "{}",
        render_frame(&seg)
    );
}

#[rstest]
#[case::sack_ts(
    vec![TcpOption::SackPermitted, TcpOption::Timestamps { tsval: 7, tsecr: 0 }],
    "<sackOK,TS val 7 ecr 0>"
)]
#[case::sack_blocks(vec![TcpOption::NoOp, TcpOption::NoOp, TcpOption::SackRange(vec![(10, 20), (30, 40)])], "<nop,nop,sack 10:20 30:40>")]
#[case::unknown(vec![TcpOption::Unknown { kind: 254, data: vec![0xbe, 0xef] }], "<opt-254 beef>")]
fn options_spelled_like_packetdrill(#[case] opts: Vec<TcpOption>, #[case] expect: &str) {
    let seg = Seg::new(client(), server(), F::ACK, 1).opts(opts).bytes();
    let line = render_frame(&seg);
    assert!(line.ends_with(expect), "{line}");
}

#[test]
fn arp_lines() {
    assert_eq!(
        render_frame(&arp_request(CLIENT, SERVER)),
        "arp who-has 192.0.2.1 tell 192.0.2.2"
    );
    assert_eq!(
        render_frame(&arp_reply(SERVER, CLIENT)),
        "arp reply 192.0.2.1 is-at 02:00:00:00:00:01"
    );
}

#[rstest]
#[case::empty(vec![], "malformed: ethernet: truncated len 0")]
#[case::short_ethernet(vec![0; 10], "malformed: ethernet: truncated len 10")]
fn malformed_frames(#[case] bytes: Vec<u8>, #[case] expect: &str) {
    assert_eq!(render_frame(&bytes), expect);
}

#[test]
fn unknown_ethertype_is_malformed_with_the_wire_error() {
    let mut bytes = arp_request(CLIENT, SERVER);
    bytes[12] = 0x86;
    bytes[13] = 0xdd;
    let line = render_frame(&bytes);
    assert_eq!(line, "malformed: ethernet: unknown ethertype 0x86dd len 42");
}

#[test]
fn bad_tcp_checksum_is_rendered_and_flagged() {
    let mut bytes = syn_ack_8080();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff; // an option byte: still parses, checksum no longer matches
    let line = render_frame(&bytes);
    assert!(
        line.starts_with("192.0.2.1:8080 > 192.0.2.2:40000 S."),
        "{line}"
    );
    assert!(line.ends_with("[bad tcp checksum]"), "{line}");
}

#[rstest]
#[case::isns_zero(0, 0)]
#[case::isns_large(0xdead_beef, 0x1234_5678)]
#[case::isns_wrapping(u32::MAX, u32::MAX - 2)]
fn relative_numbers_do_not_depend_on_isns(#[case] isn_c: u32, #[case] isn_s: u32) {
    let mut r = Renderer::relative();
    let lines: Vec<String> = handshake(isn_c, isn_s)
        .iter()
        .map(|(_, b)| r.render(b))
        .collect();
    assert_eq!(
        lines[2..],
        [
            "192.0.2.2:40000 > 192.0.2.1:8080 S seq 0:0(0) win 65535 <mss 1460,nop,wscale 7>",
            "192.0.2.1:8080 > 192.0.2.2:40000 S. seq 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7>",
            "192.0.2.2:40000 > 192.0.2.1:8080 . seq 1:1(0) ack 1 win 502",
            "192.0.2.2:40000 > 192.0.2.1:8080 P. seq 1:6(5) ack 1 win 502",
            "192.0.2.1:8080 > 192.0.2.2:40000 . seq 1:1(0) ack 6 win 510",
        ]
    );
}

#[test]
fn absolute_renderer_keeps_isns() {
    let mut r = Renderer::absolute();
    let frames = handshake(1000, 5000);
    assert!(r
        .render(&frames[3].1)
        .contains("S. seq 5000:5000(0) ack 1001"));
}

#[test]
fn capture_starting_mid_connection_takes_ack_as_base() {
    let mut r = Renderer::relative();
    let a = r.render(
        &Seg::new(server(), client(), F::ACK, 9000)
            .ack(700)
            .data(b"xy")
            .bytes(),
    );
    let b = r.render(&Seg::new(client(), server(), F::ACK, 700).ack(9002).bytes());
    assert!(a.contains("seq 0:2(2) ack 1 "), "{a}");
    assert!(b.contains("seq 1:1(0) ack 2 "), "{b}");
}

#[test]
fn new_syn_on_reused_tuple_resets_bases_but_retransmission_does_not() {
    let mut r = Renderer::relative();
    for (_, b) in handshake(100, 200) {
        r.render(&b);
    }
    // Retransmitted SYN: same ISN, still 0.
    let again = r.render(&Seg::new(client(), server(), F::SYN, 100).bytes());
    assert!(again.contains("S seq 0:0(0)"), "{again}");
    // A fresh ISN far away: a new connection, relative 0 again, and the new SYN-ACK too.
    let fresh = r.render(&Seg::new(client(), server(), F::SYN, 50_000).bytes());
    let synack = r.render(
        &Seg::new(server(), client(), F::SYN, 90_000)
            .ack(50_001)
            .bytes(),
    );
    assert!(fresh.contains("S seq 0:0(0)"), "{fresh}");
    assert!(synack.contains("S. seq 0:0(0) ack 1 "), "{synack}");
}

#[test]
fn sack_blocks_are_relative_to_the_acknowledged_direction() {
    let mut r = Renderer::relative();
    for (_, b) in handshake(1000, 5000) {
        r.render(&b);
    }
    let line = r.render(
        &Seg::new(server(), client(), F::ACK, 5001)
            .ack(1006)
            .opts(vec![TcpOption::SackRange(vec![(1010, 1020)])])
            .bytes(),
    );
    assert!(line.ends_with("ack 6 win 65535 <sack 10:20>"), "{line}");
}

#[test]
fn labels_are_short() {
    let mut r = Renderer::relative();
    let labels: Vec<String> = handshake(7, 9)
        .iter()
        .map(|(_, b)| r.view(b).label)
        .collect();
    assert_eq!(
        labels,
        [
            "arp who-has 192.0.2.1",
            "arp is-at 02:00:00:00:00:01",
            "S 0:0(0)",
            "S. 0:0(0) ack 1",
            ". ack 1",
            "P. 1:6(5) ack 1",
            ". ack 6",
        ]
    );
    let rst = r.view(&Seg::new(client(), server(), F::RST, 13).bytes());
    assert_eq!(rst.label, "R 6:6(0)");
}

#[test]
fn view_reports_ends() {
    let mut r = Renderer::relative();
    let v = r.view(&arp_request(CLIENT, SERVER));
    assert_eq!(
        v.ends,
        FrameEnds::Arp {
            sender: CLIENT,
            target: SERVER
        }
    );
    let v = r.view(&syn_ack_8080());
    assert_eq!(
        v.ends,
        FrameEnds::Tcp {
            src: SocketAddrV4::new(SERVER, SERVER_PORT),
            dst: SocketAddrV4::new(CLIENT, CLIENT_PORT)
        }
    );
    assert_eq!(r.view(&[1, 2, 3]).ends, FrameEnds::Malformed);
}

#[test]
fn timeline_has_time_and_direction_markers() {
    let frames: Vec<(Instant, Option<Direction>, Vec<u8>)> = handshake(1, 2)
        .into_iter()
        .enumerate()
        .map(|(i, (t, b))| {
            let dir = match i {
                0 => None,
                _ if i % 2 == 0 => Some(Direction::Inbound),
                _ => Some(Direction::Outbound),
            };
            (t, dir, b)
        })
        .collect();
    let text = render_timeline(&frames);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(
        lines[0],
        "  0.000000   arp who-has 192.0.2.1 tell 192.0.2.2"
    );
    assert_eq!(
        lines[1],
        "  0.000050 > arp reply 192.0.2.1 is-at 02:00:00:00:00:01"
    );
    assert!(lines[2].starts_with("  0.000100 < 192.0.2.2:40000 > 192.0.2.1:8080 S seq 0:0(0)"));
    assert!(lines[5].starts_with("  0.001000 > "), "{}", lines[5]);
}

#[test]
fn timeline_snapshot_of_handshake() {
    let frames: Vec<(Instant, Option<Direction>, Vec<u8>)> = handshake(0x1111_1111, 0x2222_2222)
        .into_iter()
        .map(|(t, b)| {
            let from_server = matches!(
                Renderer::relative().view(&b).ends,
                FrameEnds::Tcp { src, .. } if *src.ip() == SERVER
            ) || matches!(
                Renderer::relative().view(&b).ends,
                FrameEnds::Arp { sender, .. } if sender == SERVER
            );
            let dir = if from_server {
                Direction::Outbound
            } else {
                Direction::Inbound
            };
            (t, Some(dir), b)
        })
        .collect();
    insta::assert_snapshot!(render_timeline(&frames));
}

proptest! {
    #[test]
    fn arbitrary_bytes_render_without_panic(data in proptest::collection::vec(any::<u8>(), 0..128)) {
        let line = render_frame(&data);
        prop_assert!(!line.is_empty());
        prop_assert!(!line.contains('\n'));
    }

    #[test]
    fn mutated_valid_frames_render_without_panic(
        idx in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = syn_ack_8080();
        let i = idx.index(bytes.len());
        bytes[i] = byte;
        let n = cut.index(bytes.len() + 1);
        let mut r = Renderer::relative();
        let _ = r.view(&bytes[..n]);
        let _ = r.view(&bytes);
    }
}
