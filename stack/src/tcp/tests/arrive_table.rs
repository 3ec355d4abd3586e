//! SEGMENT ARRIVES, per state: every (state × {RST in window, RST out of window, SYN, bad ACK,
//! good ACK, data, FIN}) with the expected reply and next state. Case names carry the RFC 9293
//! section. `rfc793` policy unless the case says otherwise.

use super::kit::*;
use crate::tcp::State;
use rstest::rstest;

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// RST|ACK at RCV.NXT, ACK = SND.NXT.
    RstIn,
    /// RST|ACK far outside the window (SYN-SENT: with an unacceptable ACK).
    RstOut,
    /// RST in window but not at RCV.NXT (RFC 5961 §3.2).
    RstNotExact,
    /// SYN at RCV.NXT.
    Syn,
    /// ACK of something not yet sent.
    BadAck,
    /// ACK = SND.NXT.
    GoodAck,
    /// 10 bytes at RCV.NXT with ACK = SND.NXT.
    Data,
    /// FIN|ACK at RCV.NXT.
    Fin,
    /// SYN|ACK acknowledging our SYN (SYN-SENT).
    SynAck,
    /// FIN|ACK that does not acknowledge our FIN.
    FinNoAckOfFin,
    /// ACK older than SND.UNA − MAX.SND.WND (RFC 5961 §5.2).
    OldAck,
}

/// Expected reply, relative to the fixture's SND.NXT (`sn`) and RCV.NXT (`rn`).
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    Nothing,
    /// <SEQ=SND.NXT><ACK=RCV.NXT + d><CTL=ACK>
    Ack(u32),
    /// <SEQ=SND.NXT><CTL=RST>
    RstAtSndNxt,
    /// <SEQ=SEG.ACK><CTL=RST>
    RstAtSegAck,
    /// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    RstAck,
    /// <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
    SynAckSent,
}

pub fn make(k: &Kit, kind: Kind) -> crate::wire::TcpRepr {
    let (sn, rn) = (k.sn, k.rn);
    let ra = fl(&[R, A]);
    match kind {
        Kind::RstIn => k.seg(ra, rn, sn, b""),
        Kind::RstOut if sn == 1 && rn == 0 => k.seg(ra, rn, sn + 100, b""),
        Kind::RstOut => k.seg(ra, rn.wrapping_add(1_000_000), sn, b""),
        Kind::RstNotExact => k.seg(ra, rn + 100, sn, b""),
        Kind::Syn => k.seg(S, rn, 0, b""),
        Kind::BadAck => k.seg(A, rn, sn + 1000, b""),
        Kind::GoodAck => k.seg(A, rn, sn, b""),
        Kind::Data => k.seg(fl(&[P, A]), rn, sn, b"0123456789"),
        Kind::Fin => k.seg(fl(&[F, A]), rn, sn, b""),
        Kind::SynAck => k.seg(fl(&[S, A]), 0, sn, b""),
        Kind::FinNoAckOfFin => k.seg(fl(&[F, A]), rn, sn - 1, b""),
        Kind::OldAck => k.seg(A, rn, sn.wrapping_sub(200_000), b""),
    }
}

#[track_caller]
pub fn check_reply(k: &mut Kit, seg: &crate::wire::TcpRepr, reply: Reply) {
    let (sn, rn) = (k.sn, k.rn);
    match reply {
        Reply::Nothing => recv_nothing!(k),
        Reply::Ack(d) => {
            recv!(k, A, sn, rn + d);
        }
        Reply::RstAtSndNxt => {
            let r = k.expect();
            assert_eq!(r.flags, R, "{r:?}");
            assert_eq!(r.seq, k.ours(sn));
        }
        Reply::RstAtSegAck => {
            let r = k.expect();
            assert_eq!(r.flags, R, "{r:?}");
            assert_eq!(r.seq, seg.ack);
        }
        Reply::RstAck => {
            let r = k.expect();
            assert_eq!(r.flags, fl(&[R, A]), "{r:?}");
            assert_eq!(r.seq.0, 0);
            assert_eq!(r.ack, seg.seq + seg.seg_len());
        }
        Reply::SynAckSent => {
            let r = k.expect();
            assert_eq!(r.flags, fl(&[S, A]), "{r:?}");
            assert_eq!(r.seq, k.ours(0));
            assert_eq!(r.ack, seg.seq + 1u32);
        }
    }
    recv_nothing!(k);
}

fn run(fx: Fx, profile: &str, kind: Kind, reply: Reply, next: State, iss: u32, peer: u32) {
    let mut k = Kit::fixture(fx, test_policy(profile), iss, peer);
    let seg = make(&k, kind);
    k.inject(&seg);
    check_reply(&mut k, &seg, reply);
    assert_eq!(k.state(), next, "{fx:?} + {kind:?}");
    // Never an RST in reply to an RST (RFC 9293 §3.10.7).
    if seg.flags.rst() {
        assert!(matches!(reply, Reply::Nothing | Reply::Ack(_)));
    }
}

use Kind::*;
use Reply::*;
use State as St;

#[rstest]
// RFC 9293 §3.10.7.1 CLOSED: RST discarded; otherwise RST per "Reset Generation".
#[case::s3_10_7_1_closed_rst_in(Fx::Closed, RstIn, Nothing, St::Closed)]
#[case::s3_10_7_1_closed_rst_out(Fx::Closed, RstOut, Nothing, St::Closed)]
#[case::s3_10_7_1_closed_syn(Fx::Closed, Syn, RstAck, St::Closed)]
#[case::s3_10_7_1_closed_bad_ack(Fx::Closed, BadAck, RstAtSegAck, St::Closed)]
#[case::s3_10_7_1_closed_good_ack(Fx::Closed, GoodAck, RstAtSegAck, St::Closed)]
#[case::s3_10_7_1_closed_data(Fx::Closed, Data, RstAtSegAck, St::Closed)]
#[case::s3_10_7_1_closed_fin(Fx::Closed, Fin, RstAtSegAck, St::Closed)]
// RFC 9293 §3.10.7.2 LISTEN: RST ignored, ACK -> RST, SYN -> SYN-RECEIVED.
#[case::s3_10_7_2_listen_rst_in(Fx::Listen, RstIn, Nothing, St::Listen)]
#[case::s3_10_7_2_listen_rst_out(Fx::Listen, RstOut, Nothing, St::Listen)]
#[case::s3_10_7_2_listen_syn(Fx::Listen, Syn, SynAckSent, St::SynReceived)]
#[case::s3_10_7_2_listen_bad_ack(Fx::Listen, BadAck, RstAtSegAck, St::Listen)]
#[case::s3_10_7_2_listen_good_ack(Fx::Listen, GoodAck, RstAtSegAck, St::Listen)]
#[case::s3_10_7_2_listen_data(Fx::Listen, Data, RstAtSegAck, St::Listen)]
#[case::s3_10_7_2_listen_fin(Fx::Listen, Fin, RstAtSegAck, St::Listen)]
// RFC 9293 §3.10.7.3 SYN-SENT: ACK check, RST check, SYN check.
#[case::s3_10_7_3_synsent_rst_in(Fx::SynSent, RstIn, Nothing, St::Closed)]
#[case::s3_10_7_3_synsent_rst_bad_ack(Fx::SynSent, RstOut, Nothing, St::SynSent)]
#[case::s3_10_7_3_synsent_syn_simultaneous(Fx::SynSent, Syn, SynAckSent, St::SynReceived)]
#[case::s3_10_7_3_synsent_bad_ack(Fx::SynSent, BadAck, RstAtSegAck, St::SynSent)]
#[case::s3_10_7_3_synsent_good_ack_no_syn(Fx::SynSent, GoodAck, Nothing, St::SynSent)]
#[case::s3_10_7_3_synsent_data_no_syn(Fx::SynSent, Data, Nothing, St::SynSent)]
#[case::s3_10_7_3_synsent_fin_no_syn(Fx::SynSent, Fin, Nothing, St::SynSent)]
#[case::s3_10_7_3_synsent_synack(Fx::SynSent, SynAck, Ack(1), St::Established)]
// RFC 9293 §3.10.7.4 SYN-RECEIVED (passive open).
#[case::s3_10_7_4_synrcvd_rst_in(Fx::SynReceived, RstIn, Nothing, St::Listen)]
#[case::s3_10_7_4_synrcvd_rst_out(Fx::SynReceived, RstOut, Nothing, St::SynReceived)]
#[case::s3_10_7_4_synrcvd_syn_back_to_listen(Fx::SynReceived, Syn, Nothing, St::Listen)]
#[case::s3_10_7_4_synrcvd_bad_ack(Fx::SynReceived, BadAck, RstAtSegAck, St::SynReceived)]
#[case::s3_10_7_4_synrcvd_good_ack(Fx::SynReceived, GoodAck, Nothing, St::Established)]
#[case::s3_10_7_4_synrcvd_data(Fx::SynReceived, Data, Ack(10), St::Established)]
#[case::s3_10_7_4_synrcvd_fin(Fx::SynReceived, Fin, Ack(1), St::CloseWait)]
// ESTABLISHED.
#[case::s3_10_7_4_estab_rst_in(Fx::Established, RstIn, Nothing, St::Closed)]
#[case::s3_10_7_4_estab_rst_out(Fx::Established, RstOut, Nothing, St::Established)]
#[case::s3_10_7_4_estab_rst_not_exact_793(Fx::Established, RstNotExact, Nothing, St::Closed)]
#[case::s3_10_7_4_estab_syn_793_reset(Fx::Established, Syn, RstAtSndNxt, St::Closed)]
#[case::s3_10_7_4_estab_bad_ack(Fx::Established, BadAck, Ack(0), St::Established)]
#[case::s3_10_7_4_estab_good_ack(Fx::Established, GoodAck, Nothing, St::Established)]
#[case::s3_10_7_4_estab_data(Fx::Established, Data, Ack(10), St::Established)]
#[case::s3_10_7_4_estab_fin(Fx::Established, Fin, Ack(1), St::CloseWait)]
// FIN-WAIT-1.
#[case::s3_10_7_4_fw1_rst_in(Fx::FinWait1, RstIn, Nothing, St::Closed)]
#[case::s3_10_7_4_fw1_rst_out(Fx::FinWait1, RstOut, Nothing, St::FinWait1)]
#[case::s3_10_7_4_fw1_syn_793_reset(Fx::FinWait1, Syn, RstAtSndNxt, St::Closed)]
#[case::s3_10_7_4_fw1_bad_ack(Fx::FinWait1, BadAck, Ack(0), St::FinWait1)]
#[case::s3_10_7_4_fw1_good_ack(Fx::FinWait1, GoodAck, Nothing, St::FinWait2)]
// The fixture reached FIN-WAIT via close(): new data is lost, RFC 9293 §3.6.1 SHLD-3 -> RST.
#[case::s3_6_1_fw1_data_after_close(Fx::FinWait1, Data, RstAtSndNxt, St::Closed)]
#[case::s3_10_7_4_fw1_fin_acking_ours(Fx::FinWait1, Fin, Ack(1), St::TimeWait)]
#[case::s3_10_7_4_fw1_fin_simultaneous_close(Fx::FinWait1, FinNoAckOfFin, Ack(1), St::Closing)]
// FIN-WAIT-2.
#[case::s3_10_7_4_fw2_rst_in(Fx::FinWait2, RstIn, Nothing, St::Closed)]
#[case::s3_10_7_4_fw2_rst_out(Fx::FinWait2, RstOut, Nothing, St::FinWait2)]
#[case::s3_10_7_4_fw2_syn_793_reset(Fx::FinWait2, Syn, RstAtSndNxt, St::Closed)]
#[case::s3_10_7_4_fw2_bad_ack(Fx::FinWait2, BadAck, Ack(0), St::FinWait2)]
#[case::s3_10_7_4_fw2_good_ack(Fx::FinWait2, GoodAck, Nothing, St::FinWait2)]
#[case::s3_6_1_fw2_data_after_close(Fx::FinWait2, Data, RstAtSndNxt, St::Closed)]
#[case::s3_10_7_4_fw2_fin(Fx::FinWait2, Fin, Ack(1), St::TimeWait)]
// CLOSE-WAIT: text and FIN are ignored ("should not occur").
#[case::s3_10_7_4_closewait_rst_in(Fx::CloseWait, RstIn, Nothing, St::Closed)]
#[case::s3_10_7_4_closewait_rst_out(Fx::CloseWait, RstOut, Nothing, St::CloseWait)]
#[case::s3_10_7_4_closewait_syn_793_reset(Fx::CloseWait, Syn, RstAtSndNxt, St::Closed)]
#[case::s3_10_7_4_closewait_bad_ack(Fx::CloseWait, BadAck, Ack(0), St::CloseWait)]
#[case::s3_10_7_4_closewait_good_ack(Fx::CloseWait, GoodAck, Nothing, St::CloseWait)]
#[case::s3_10_7_4_closewait_data_ignored(Fx::CloseWait, Data, Nothing, St::CloseWait)]
#[case::s3_10_7_4_closewait_fin_ignored(Fx::CloseWait, Fin, Nothing, St::CloseWait)]
// CLOSING.
#[case::s3_10_7_4_closing_rst_in(Fx::Closing, RstIn, Nothing, St::Closed)]
#[case::s3_10_7_4_closing_rst_out(Fx::Closing, RstOut, Nothing, St::Closing)]
#[case::s3_10_7_4_closing_syn_793_reset(Fx::Closing, Syn, RstAtSndNxt, St::Closed)]
#[case::s3_10_7_4_closing_bad_ack(Fx::Closing, BadAck, Ack(0), St::Closing)]
#[case::s3_10_7_4_closing_good_ack(Fx::Closing, GoodAck, Nothing, St::TimeWait)]
#[case::s3_10_7_4_closing_data(Fx::Closing, Data, Nothing, St::TimeWait)]
#[case::s3_10_7_4_closing_fin(Fx::Closing, Fin, Nothing, St::TimeWait)]
// LAST-ACK.
#[case::s3_10_7_4_lastack_rst_in(Fx::LastAck, RstIn, Nothing, St::Closed)]
#[case::s3_10_7_4_lastack_rst_out(Fx::LastAck, RstOut, Nothing, St::LastAck)]
#[case::s3_10_7_4_lastack_syn_793_reset(Fx::LastAck, Syn, RstAtSndNxt, St::Closed)]
#[case::s3_10_7_4_lastack_bad_ack(Fx::LastAck, BadAck, Ack(0), St::LastAck)]
#[case::s3_10_7_4_lastack_good_ack(Fx::LastAck, GoodAck, Nothing, St::Closed)]
#[case::s3_10_7_4_lastack_data(Fx::LastAck, Data, Nothing, St::Closed)]
#[case::s3_10_7_4_lastack_fin(Fx::LastAck, Fin, Nothing, St::Closed)]
// TIME-WAIT (RFC 793: RST closes it — incident D).
#[case::s3_10_7_4_timewait_rst_in_793(Fx::TimeWait, RstIn, Nothing, St::Closed)]
#[case::s3_10_7_4_timewait_rst_out(Fx::TimeWait, RstOut, Nothing, St::TimeWait)]
#[case::s3_10_7_4_timewait_syn_793_reset(Fx::TimeWait, Syn, RstAtSndNxt, St::Closed)]
#[case::s3_10_7_4_timewait_bad_ack(Fx::TimeWait, BadAck, Ack(0), St::TimeWait)]
#[case::s3_10_7_4_timewait_good_ack(Fx::TimeWait, GoodAck, Nothing, St::TimeWait)]
#[case::s3_10_7_4_timewait_data(Fx::TimeWait, Data, Nothing, St::TimeWait)]
#[case::s3_10_7_4_timewait_fin(Fx::TimeWait, Fin, Nothing, St::TimeWait)]
fn arrives_rfc793(
    #[case] fx: Fx,
    #[case] kind: Kind,
    #[case] reply: Reply,
    #[case] next: State,
    #[values((1000, 5000), (u32::MAX - 1, u32::MAX))] isns: (u32, u32),
) {
    run(fx, "rfc793", kind, reply, next, isns.0, isns.1);
}

#[rstest]
// RFC 5961 §3.2: exact RST closes, in-window RST draws a challenge ACK.
#[case::rfc5961_s3_estab_rst_exact(Fx::Established, RstIn, Nothing, St::Closed)]
#[case::rfc5961_s3_estab_rst_not_exact(Fx::Established, RstNotExact, Ack(0), St::Established)]
#[case::rfc5961_s3_fw1_rst_not_exact(Fx::FinWait1, RstNotExact, Ack(0), St::FinWait1)]
#[case::rfc5961_s3_fw2_rst_not_exact(Fx::FinWait2, RstNotExact, Ack(0), St::FinWait2)]
#[case::rfc5961_s3_closewait_rst_not_exact(Fx::CloseWait, RstNotExact, Ack(0), St::CloseWait)]
#[case::rfc5961_s3_closing_rst_not_exact(Fx::Closing, RstNotExact, Ack(0), St::Closing)]
#[case::rfc5961_s3_lastack_rst_not_exact(Fx::LastAck, RstNotExact, Ack(0), St::LastAck)]
#[case::rfc5961_s3_timewait_rst_not_exact(Fx::TimeWait, RstNotExact, Ack(0), St::TimeWait)]
#[case::rfc5961_s3_synrcvd_rst_not_exact(Fx::SynReceived, RstNotExact, Ack(0), St::SynReceived)]
#[case::rfc5961_s3_estab_rst_out(Fx::Established, RstOut, Nothing, St::Established)]
// RFC 5961 §4.2: SYN in a synchronized state draws a challenge ACK.
#[case::rfc5961_s4_estab_syn(Fx::Established, Syn, Ack(0), St::Established)]
#[case::rfc5961_s4_fw1_syn(Fx::FinWait1, Syn, Ack(0), St::FinWait1)]
#[case::rfc5961_s4_fw2_syn(Fx::FinWait2, Syn, Ack(0), St::FinWait2)]
#[case::rfc5961_s4_closewait_syn(Fx::CloseWait, Syn, Ack(0), St::CloseWait)]
#[case::rfc5961_s4_closing_syn(Fx::Closing, Syn, Ack(0), St::Closing)]
#[case::rfc5961_s4_lastack_syn(Fx::LastAck, Syn, Ack(0), St::LastAck)]
#[case::rfc5961_s4_timewait_syn(Fx::TimeWait, Syn, Ack(0), St::TimeWait)]
// RFC 5961 §5.2: ACK acceptability.
#[case::rfc5961_s5_estab_bad_ack(Fx::Established, BadAck, Ack(0), St::Established)]
#[case::rfc5961_s5_estab_old_ack(Fx::Established, OldAck, Ack(0), St::Established)]
#[case::rfc5961_s5_closewait_old_ack(Fx::CloseWait, OldAck, Ack(0), St::CloseWait)]
#[case::rfc5961_s5_estab_good_ack(Fx::Established, GoodAck, Nothing, St::Established)]
fn arrives_rfc5961(#[case] fx: Fx, #[case] kind: Kind, #[case] reply: Reply, #[case] next: State) {
    run(fx, "rfc5961", kind, reply, next, 1000, 5000);
}

#[rstest]
// RFC 1337 F1: RST in TIME-WAIT ignored; other states unchanged from RFC 793.
#[case::rfc1337_timewait_rst_ignored(Fx::TimeWait, RstIn, Nothing, St::TimeWait)]
#[case::rfc1337_estab_rst_closes(Fx::Established, RstIn, Nothing, St::Closed)]
#[case::rfc1337_closing_rst_closes(Fx::Closing, RstIn, Nothing, St::Closed)]
fn arrives_rfc1337(#[case] fx: Fx, #[case] kind: Kind, #[case] reply: Reply, #[case] next: State) {
    run(fx, "rfc1337", kind, reply, next, 1000, 5000);
}
