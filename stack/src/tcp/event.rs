//! TCP-layer events: every state change, RST, drop, retransmission, probe and connection death,
//! each with its reason, so oracles can tell an assassination from a deliberate abort.

use super::{FourTuple, State};
use crate::time::Duration;
use crate::wire::SeqNumber;
use core::fmt;

/// Why a state changed (the `cause` of [`TcpEvent::StateChange`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// User OPEN: active (`connect`) or passive (`listen`).
    ActiveOpen,
    PassiveOpen,
    /// A SYN arrived (LISTEN -> SYN-RECEIVED, or SYN-SENT -> SYN-RECEIVED on simultaneous open).
    SynReceived,
    /// SYN-ACK acknowledging our SYN arrived in SYN-SENT.
    SynAckReceived,
    /// The ACK of our SYN arrived in SYN-RECEIVED.
    AckOfSyn,
    /// The peer's FIN arrived.
    FinReceived,
    /// The ACK of our FIN arrived.
    AckOfFin,
    /// User CLOSE (or shutdown of the write side).
    UserClose,
    /// User ABORT, or CLOSE with SO_LINGER 0.
    UserAbort,
    /// An acceptable RST arrived.
    RstReceived,
    /// A SYN in the window of a synchronized connection (RFC 793 behaviour: reset).
    SynInWindow,
    /// A bad segment made us reset the connection (sending an RST).
    ResetSent,
    /// The 2·MSL timer expired.
    TimeWaitTimeout,
    /// Retransmissions exhausted (R2 / SYN retries).
    RetransmitTimeout,
    /// Keepalive probes unanswered.
    KeepaliveTimeout,
    /// User timeout (RFC 5482) expired.
    UserTimeout,
    /// A SYN reopened a TIME-WAIT pair as a new connection (RFC 6191).
    SynReuse,
    /// The listener this embryonic connection belonged to was closed.
    ListenerClosed,
}

impl Cause {
    pub fn name(self) -> &'static str {
        match self {
            Cause::ActiveOpen => "active-open",
            Cause::PassiveOpen => "passive-open",
            Cause::SynReceived => "syn-received",
            Cause::SynAckReceived => "syn-ack-received",
            Cause::AckOfSyn => "ack-of-syn",
            Cause::FinReceived => "fin-received",
            Cause::AckOfFin => "ack-of-fin",
            Cause::UserClose => "user-close",
            Cause::UserAbort => "user-abort",
            Cause::RstReceived => "rst-received",
            Cause::SynInWindow => "syn-in-window",
            Cause::ResetSent => "reset-sent",
            Cause::TimeWaitTimeout => "time-wait-timeout",
            Cause::RetransmitTimeout => "retransmit-timeout",
            Cause::KeepaliveTimeout => "keepalive-timeout",
            Cause::UserTimeout => "user-timeout",
            Cause::SynReuse => "syn-reuse",
            Cause::ListenerClosed => "listener-closed",
        }
    }
}

/// Why we sent an RST.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RstReason {
    /// RFC 9293 §3.10.7.1: segment for a connection that does not exist.
    NoConnection,
    /// RFC 9293 §3.10.7.2: an ACK arrived at a LISTEN socket.
    AckInListen,
    /// RFC 9293 §3.10.7.3: unacceptable ACK in SYN-SENT.
    BadAckInSynSent,
    /// RFC 9293 §3.10.7.4 fifth check: unacceptable ACK in SYN-RECEIVED.
    BadAckInSynReceived,
    /// RFC 793: SYN in the window of a synchronized connection (without RFC 5961).
    SynInWindow,
    /// User ABORT or CLOSE with SO_LINGER 0 (RFC 9293 §3.10.5).
    UserAbort,
    /// Keepalive gave up (Linux behaviour, policy `rst_on_drop`).
    KeepaliveTimeout,
    /// Unaccepted connection of a listener being closed.
    ListenerClosed,
    /// Data arrived for a socket whose user has closed it (RFC 9293 §3.6.1 SHLD-3, RFC 2525
    /// §2.17).
    DataAfterClose,
    /// The user closed the socket with received data still unread (RFC 9293 §3.6.1 SHLD-3,
    /// RFC 1122 §4.2.2.13, RFC 2525 §2.17).
    UnreadDataOnClose,
}

impl RstReason {
    pub fn name(self) -> &'static str {
        match self {
            RstReason::NoConnection => "no-connection",
            RstReason::AckInListen => "ack-in-listen",
            RstReason::BadAckInSynSent => "bad-ack-in-syn-sent",
            RstReason::BadAckInSynReceived => "bad-ack-in-syn-received",
            RstReason::SynInWindow => "syn-in-window",
            RstReason::UserAbort => "user-abort",
            RstReason::KeepaliveTimeout => "keepalive-timeout",
            RstReason::ListenerClosed => "listener-closed",
            RstReason::DataAfterClose => "data-after-close",
            RstReason::UnreadDataOnClose => "unread-data-on-close",
        }
    }
}

/// What an incoming RST did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RstAction {
    /// The RST closed the connection (or returned it to LISTEN).
    Accepted,
    /// Dropped: out of window, or ignored by policy (RFC 1337 in TIME-WAIT), or in LISTEN.
    Ignored,
    /// RFC 5961 §3.2: in window but not exactly RCV.NXT; a challenge ACK was sent.
    ChallengeAck,
}

impl RstAction {
    pub fn name(self) -> &'static str {
        match self {
            RstAction::Accepted => "accepted",
            RstAction::Ignored => "ignored",
            RstAction::ChallengeAck => "challenge-ack",
        }
    }
}

/// Why a segment was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// RFC 9293 §3.10.7.4 first check: sequence number not acceptable (an ACK was sent unless RST).
    OutOfWindow,
    /// RST out of window (dropped silently).
    RstOutOfWindow,
    /// Segment without ACK in a state that requires one.
    NoAck,
    /// ACK of something not yet sent.
    AckTooNew,
    /// RFC 5961 §5: ACK too old (below SND.UNA − MAX.SND.WND).
    AckTooOld,
    /// Neither SYN nor RST in SYN-SENT, or junk in LISTEN.
    Unexpected,
    /// The listener's backlog is full.
    BacklogFull,
    /// Data that arrived out of order (not queued: this stack has no reassembly queue).
    OutOfOrder,
    /// RFC 5961 §7: a challenge ACK was due but the rate limit suppressed it.
    ChallengeAckRateLimited,
    /// RFC 1337: RST ignored in TIME-WAIT by policy.
    RstInTimeWait,
    /// Data beyond the receive buffer.
    NoBufferSpace,
    /// SYN and FIN both set, dropped by policy (FreeBSD `net.inet.tcp.drop_synfin`).
    SynFin,
    /// RFC 7323 §5.3 PAWS: TSval older than TS.Recent (an ACK was sent).
    Paws,
}

impl DropReason {
    pub fn name(self) -> &'static str {
        match self {
            DropReason::OutOfWindow => "out-of-window",
            DropReason::RstOutOfWindow => "rst-out-of-window",
            DropReason::NoAck => "no-ack",
            DropReason::AckTooNew => "ack-too-new",
            DropReason::AckTooOld => "ack-too-old",
            DropReason::Unexpected => "unexpected",
            DropReason::BacklogFull => "backlog-full",
            DropReason::OutOfOrder => "out-of-order",
            DropReason::ChallengeAckRateLimited => "challenge-ack-rate-limited",
            DropReason::RstInTimeWait => "rst-in-time-wait",
            DropReason::NoBufferSpace => "no-buffer-space",
            DropReason::SynFin => "syn-fin",
            DropReason::Paws => "paws",
        }
    }
}

/// What triggered an RFC 5961 challenge ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChallengeTrigger {
    /// §3.2: in-window RST not at RCV.NXT.
    Rst,
    /// §4.2: SYN in a synchronized state.
    Syn,
    /// §5.2: ACK outside the acceptable range.
    Ack,
}

impl ChallengeTrigger {
    pub fn name(self) -> &'static str {
        match self {
            ChallengeTrigger::Rst => "rst",
            ChallengeTrigger::Syn => "syn",
            ChallengeTrigger::Ack => "ack",
        }
    }
}

/// Why a connection died before a clean close.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropCause {
    /// RFC 1122 §4.2.3.6 keepalive probes unanswered.
    KeepaliveTimeout,
    /// RFC 1122 §4.2.3.5 R2 (or SYN retries) exhausted.
    RetransmitTimeout,
    /// RFC 5482 user timeout.
    UserTimeout,
    /// An RST arrived (or we reset the connection in reply to a bad segment).
    Reset,
    /// The user called ABORT: deliberate, not an assassination.
    UserAbort,
    /// The user called CLOSE with SO_LINGER 0 (RFC 9293 §3.10.4 turned into ABORT): the RST
    /// replaces the FIN and TIME-WAIT is skipped on purpose.
    ZeroLinger,
    /// RFC 9293 §3.6.1 SHLD-3: received data was lost (closed with unread data, or data arrived
    /// after close); an RST told the peer.
    DataLost,
}

impl DropCause {
    pub fn name(self) -> &'static str {
        match self {
            DropCause::KeepaliveTimeout => "keepalive-timeout",
            DropCause::RetransmitTimeout => "retransmit-timeout",
            DropCause::UserTimeout => "user-timeout",
            DropCause::Reset => "reset",
            DropCause::UserAbort => "user-abort",
            DropCause::ZeroLinger => "zero-linger",
            DropCause::DataLost => "data-lost",
        }
    }
}

/// Why TIME-WAIT ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeWaitCause {
    /// 2·MSL elapsed (the only non-early cause).
    Expired,
    /// An RST arrived and policy `time_wait_rst=close` honoured it: TIME-WAIT assassination.
    RstReceived,
    /// A SYN in the window reset the connection (RFC 793 without RFC 5961).
    SynInWindow,
    /// A new SYN reopened the pair (RFC 6191, policy `syn_in_time_wait=accept`).
    SynReuse,
}

impl TimeWaitCause {
    pub fn name(self) -> &'static str {
        match self {
            TimeWaitCause::Expired => "expired",
            TimeWaitCause::RstReceived => "rst-received",
            TimeWaitCause::SynInWindow => "syn-in-window",
            TimeWaitCause::SynReuse => "syn-reuse",
        }
    }
}

/// One TCP-layer event. `conn` is the connection's 4-tuple (local first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpEvent {
    StateChange {
        conn: FourTuple,
        from: State,
        to: State,
        cause: Cause,
    },
    RstSent {
        conn: FourTuple,
        seq: SeqNumber,
        ack: Option<SeqNumber>,
        reason: RstReason,
    },
    RstReceived {
        conn: FourTuple,
        state: State,
        seq: SeqNumber,
        action: RstAction,
    },
    SegmentDropped {
        conn: FourTuple,
        state: State,
        reason: DropReason,
    },
    ChallengeAck {
        conn: FourTuple,
        trigger: ChallengeTrigger,
    },
    Retransmit {
        conn: FourTuple,
        seq: SeqNumber,
        attempt: u32,
    },
    KeepaliveProbe {
        conn: FourTuple,
        n: u32,
    },
    ZeroWindowProbe {
        conn: FourTuple,
        n: u32,
    },
    ConnectionDropped {
        conn: FourTuple,
        state: State,
        reason: DropCause,
    },
    TimeWaitEnded {
        conn: FourTuple,
        /// Time since TIME-WAIT was (re)started.
        after: Duration,
        early: bool,
        cause: TimeWaitCause,
    },
}

impl TcpEvent {
    /// The connection the event is about.
    pub fn conn(&self) -> FourTuple {
        match self {
            TcpEvent::StateChange { conn, .. }
            | TcpEvent::RstSent { conn, .. }
            | TcpEvent::RstReceived { conn, .. }
            | TcpEvent::SegmentDropped { conn, .. }
            | TcpEvent::ChallengeAck { conn, .. }
            | TcpEvent::Retransmit { conn, .. }
            | TcpEvent::KeepaliveProbe { conn, .. }
            | TcpEvent::ZeroWindowProbe { conn, .. }
            | TcpEvent::ConnectionDropped { conn, .. }
            | TcpEvent::TimeWaitEnded { conn, .. } => *conn,
        }
    }
}

/// One line per event, `<conn> <what> ...`.
impl fmt::Display for TcpEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpEvent::StateChange {
                conn,
                from,
                to,
                cause,
            } => write!(f, "{conn} state {from} -> {to} ({})", cause.name()),
            TcpEvent::RstSent {
                conn,
                seq,
                ack,
                reason,
            } => {
                write!(f, "{conn} rst-sent seq={seq}")?;
                if let Some(a) = ack {
                    write!(f, " ack={a}")?;
                }
                write!(f, " ({})", reason.name())
            }
            TcpEvent::RstReceived {
                conn,
                state,
                seq,
                action,
            } => write!(
                f,
                "{conn} rst-received in {state} seq={seq} {}",
                action.name()
            ),
            TcpEvent::SegmentDropped {
                conn,
                state,
                reason,
            } => write!(f, "{conn} segment-dropped in {state} ({})", reason.name()),
            TcpEvent::ChallengeAck { conn, trigger } => {
                write!(f, "{conn} challenge-ack ({})", trigger.name())
            }
            TcpEvent::Retransmit { conn, seq, attempt } => {
                write!(f, "{conn} retransmit seq={seq} attempt={attempt}")
            }
            TcpEvent::KeepaliveProbe { conn, n } => write!(f, "{conn} keepalive-probe n={n}"),
            TcpEvent::ZeroWindowProbe { conn, n } => write!(f, "{conn} zero-window-probe n={n}"),
            TcpEvent::ConnectionDropped {
                conn,
                state,
                reason,
            } => write!(
                f,
                "{conn} connection-dropped in {state} ({})",
                reason.name()
            ),
            TcpEvent::TimeWaitEnded {
                conn,
                after,
                early,
                cause,
            } => write!(
                f,
                "{conn} time-wait-ended after={after} early={early} ({})",
                cause.name()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    /// Each list's names are what the logs and findings print: non-empty kebab-case, one per
    /// variant.
    #[track_caller]
    fn distinct_kebab(names: &[&str], want_first: &str) {
        assert_eq!(names[0], want_first);
        let mut seen = std::collections::BTreeSet::new();
        for n in names {
            assert!(
                !n.is_empty() && n.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{n:?}"
            );
            assert!(seen.insert(*n), "{n} twice");
        }
    }

    #[test]
    fn every_reason_has_its_own_name() {
        use Cause as C;
        let causes = [
            C::ActiveOpen,
            C::PassiveOpen,
            C::SynReceived,
            C::SynAckReceived,
            C::AckOfSyn,
            C::FinReceived,
            C::AckOfFin,
            C::UserClose,
            C::UserAbort,
            C::RstReceived,
            C::SynInWindow,
            C::ResetSent,
            C::TimeWaitTimeout,
            C::RetransmitTimeout,
            C::KeepaliveTimeout,
            C::UserTimeout,
            C::SynReuse,
            C::ListenerClosed,
        ];
        distinct_kebab(&causes.map(C::name), "active-open");
        use RstReason as R;
        let rsts = [
            R::NoConnection,
            R::AckInListen,
            R::BadAckInSynSent,
            R::BadAckInSynReceived,
            R::SynInWindow,
            R::UserAbort,
            R::KeepaliveTimeout,
            R::ListenerClosed,
            R::DataAfterClose,
            R::UnreadDataOnClose,
        ];
        distinct_kebab(&rsts.map(R::name), "no-connection");
        let actions = [
            RstAction::Accepted,
            RstAction::Ignored,
            RstAction::ChallengeAck,
        ];
        distinct_kebab(&actions.map(RstAction::name), "accepted");
        use DropReason as D;
        let drops = [
            D::OutOfWindow,
            D::RstOutOfWindow,
            D::NoAck,
            D::AckTooNew,
            D::AckTooOld,
            D::Unexpected,
            D::BacklogFull,
            D::OutOfOrder,
            D::ChallengeAckRateLimited,
            D::RstInTimeWait,
            D::NoBufferSpace,
            D::SynFin,
            D::Paws,
        ];
        distinct_kebab(&drops.map(D::name), "out-of-window");
        let triggers = [
            ChallengeTrigger::Rst,
            ChallengeTrigger::Syn,
            ChallengeTrigger::Ack,
        ];
        distinct_kebab(&triggers.map(ChallengeTrigger::name), "rst");
        use DropCause as K;
        let deaths = [
            K::KeepaliveTimeout,
            K::RetransmitTimeout,
            K::UserTimeout,
            K::Reset,
            K::UserAbort,
            K::ZeroLinger,
            K::DataLost,
        ];
        distinct_kebab(&deaths.map(K::name), "keepalive-timeout");
        use TimeWaitCause as T;
        let tw = [T::Expired, T::RstReceived, T::SynInWindow, T::SynReuse];
        distinct_kebab(&tw.map(T::name), "expired");
    }

    /// The log line of an event starts with its connection, the one `conn()` returns.
    #[test]
    fn an_event_prints_its_connection_first() {
        let conn = FourTuple::new(
            Ipv4Addr::new(192, 0, 2, 1),
            80,
            Ipv4Addr::new(192, 0, 2, 2),
            5000,
        );
        let events = [
            (
                TcpEvent::StateChange {
                    conn,
                    from: State::SynSent,
                    to: State::Established,
                    cause: Cause::SynAckReceived,
                },
                "state SYN-SENT -> ESTABLISHED (syn-ack-received)",
            ),
            (
                TcpEvent::RstSent {
                    conn,
                    seq: SeqNumber(7),
                    ack: Some(SeqNumber(9)),
                    reason: RstReason::UserAbort,
                },
                "rst-sent seq=7 ack=9 (user-abort)",
            ),
            (
                TcpEvent::Retransmit {
                    conn,
                    seq: SeqNumber(7),
                    attempt: 2,
                },
                "retransmit seq=7 attempt=2",
            ),
            (
                TcpEvent::TimeWaitEnded {
                    conn,
                    after: Duration::from_secs(60),
                    early: false,
                    cause: TimeWaitCause::Expired,
                },
                "time-wait-ended after=60.000000s early=false (expired)",
            ),
        ];
        for (e, what) in events {
            assert_eq!(e.conn(), conn);
            assert_eq!(e.to_string(), format!("{conn} {what}"));
        }
    }
}
