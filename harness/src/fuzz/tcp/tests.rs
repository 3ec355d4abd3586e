use super::check;
use super::*;
use rstest::rstest;
use stack::policy::Profile;
use stack::tcp::Outgoing;
use stack::time::Instant;
use stack::wire::{Ipv4Addr, SeqNumber, TcpFlags, TcpRepr};

fn case(profile: u8, state: StartState, active: bool, ops: Vec<Op>) -> TcpCase {
    TcpCase {
        profile,
        seed: 7,
        peer_iss: u32::MAX - 3, // wraps during the exchange
        start: Start {
            state,
            active,
            syn_options: true,
        },
        ops,
    }
}

fn seg(flags: u16, seq: SeqRel, ack: AckRel, len: u16) -> Op {
    Op::Segment(Seg {
        flags: flags as u8,
        seq,
        ack,
        window: 1000,
        len,
        urgent: 0,
        options: vec![],
        stray: false,
    })
}

/// Every start state is reached, under every profile, opened either way.
#[rstest]
fn start_reaches_the_requested_state(
    #[values(0, 1, 2, 3, 4, 5, 6, 7)] profile: u8,
    #[values(false, true)] active: bool,
) {
    assert_eq!(Profile::names().len(), 8);
    for s in StartState::ALL {
        let out = run_case(&case(profile, s, active, vec![])).expect("no violation");
        assert_eq!(out.reached, Some(s.state()), "{s:?} profile {profile}");
    }
}

#[rstest]
#[case::established(StartState::Established)]
#[case::fin_wait_2(StartState::FinWait2)]
#[case::close_wait(StartState::CloseWait)]
fn in_window_rst_closes_without_a_reply(#[case] s: StartState) {
    let ops = vec![seg(
        TcpFlags::RST.0,
        SeqRel::RcvNxt(0),
        AckRel::SndNxt(0),
        0,
    )];
    let out = run_case(&case(3, s, false, ops)).expect("no violation");
    assert_eq!(out.reached, Some(s.state()));
    assert_ne!(
        out.end,
        Some(s.state()),
        "RFC 9293 §3.10.7.4: RST at RCV.NXT resets"
    );
}

#[test]
fn data_and_timers_run_clean() {
    let ack = TcpFlags::ACK.0;
    let ops = vec![
        Op::Send(3000),
        seg(
            ack | TcpFlags::PSH.0,
            SeqRel::RcvNxt(0),
            AckRel::SndUna(0),
            500,
        ),
        Op::Recv(200),
        Op::Advance(Step::NextDeadline),
        Op::Advance(Step::Secs(3)),
        seg(ack, SeqRel::RcvNxt(0), AckRel::SndNxt(0), 0),
        Op::Close,
        Op::Advance(Step::Secs(200)),
    ];
    let out = run_case(&case(3, StartState::Established, true, ops)).expect("no violation");
    assert!(out.sent >= 3, "handshake ACK and data went out: {out:?}");
}

fn outgoing(flags: TcpFlags) -> Outgoing {
    Outgoing {
        src: Ipv4Addr::new(192, 0, 2, 1),
        dst: Ipv4Addr::new(192, 0, 2, 2),
        seg: TcpRepr {
            src_port: 80,
            dst_port: 40000,
            seq: SeqNumber(1),
            ack: SeqNumber(2),
            flags,
            window: 100,
            ..TcpRepr::default()
        },
    }
}

#[rstest]
#[case::rst_for_rst(Some(TcpFlags::RST), TcpFlags::RST, false)]
#[case::rst_for_data(Some(TcpFlags::ACK), TcpFlags::RST, true)]
#[case::bare_data(None, TcpFlags::PSH, false)]
#[case::bare_fin(None, TcpFlags::FIN, false)]
#[case::syn(None, TcpFlags::SYN, true)]
#[case::ack(Some(TcpFlags::RST), TcpFlags::ACK, true)]
fn output_checks(#[case] input: Option<TcpFlags>, #[case] sent: TcpFlags, #[case] ok: bool) {
    let input = input.map(|f| TcpRepr {
        flags: f,
        ..TcpRepr::default()
    });
    let r = check::outputs(0, input.as_ref(), &[outgoing(sent)]);
    assert_eq!(r.is_ok(), ok, "{r:?}");
}

#[test]
fn non_canonical_output_is_a_violation() {
    let mut o = outgoing(TcpFlags::ACK);
    o.seg.flags = TcpFlags(0x8000 | TcpFlags::ACK.0); // a reserved bit is not represented
    assert!(check::outputs(3, None, &[o]).is_err());
}

#[test]
fn deadline_in_the_past_after_timeout_is_a_violation() {
    let now = Instant::from_secs(5);
    assert!(check::deadline_after_timeout(0, now, Some(now)).is_err());
    assert!(check::deadline_after_timeout(0, now, Some(Instant::from_secs(6))).is_ok());
    assert!(check::deadline_after_timeout(0, now, None).is_ok());
}

#[test]
fn violation_names_the_op() {
    let v = Violation::new(4, "x".into());
    assert_eq!(v.to_string(), "invariant broken at op 4: x");
    let v = Violation::new(usize::MAX, "y".into()).during("connect");
    assert_eq!(v.to_string(), "invariant broken during start (connect): y");
}
