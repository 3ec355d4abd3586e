//! packetdrill code blocks (`%{ ... }%`) the runner can judge without Python.
//!
//! packetdrill snapshots the socket's `tcp_info` when it reaches a code block and runs the
//! Python afterwards. The one form the public suites use to check a connection's state,
//! `assert tcpi_state == NAME` (FreeBSD spells the states `TCPI_SYN_RECEIVED`, Linux
//! `TCP_SYN_RECV`, optionally followed by `, message`), is the script's own `%assert state`:
//! the runner checks it at that instant. Any other code stays unsupported.

use crate::script::TcpStateName;

/// The state a `%{ assert tcpi_state == NAME }%` block asserts, or `None` when the block holds
/// anything else (other `tcpi_*` fields, several statements, arbitrary Python).
pub(super) fn asserted_state(code: &str) -> Option<TcpStateName> {
    let rest = code.trim().strip_prefix("assert")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim_start().strip_prefix("tcpi_state")?.trim_start();
    let rest = rest.strip_prefix("==")?.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let (name, tail) = rest.split_at(end);
    // Only an assert message may follow (`assert x == y, msg`), on the same line.
    let tail = tail.trim();
    if !(tail.is_empty() || tail.starts_with(',') && !tail.contains('\n')) {
        return None;
    }
    state_named(name)
}

/// `TCPI_FIN_WAIT_1` (FreeBSD `<netinet/tcp_fsm.h>` via packetdrill) or `TCP_FIN_WAIT1`
/// (Linux `<net/tcp_states.h>`, where CLOSED is `TCP_CLOSE`).
fn state_named(name: &str) -> Option<TcpStateName> {
    let bare = name
        .strip_prefix("TCPI_")
        .or_else(|| name.strip_prefix("TCP_"))?;
    match bare {
        "CLOSE" => Some(TcpStateName::Closed),
        _ => TcpStateName::from_name(bare),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::freebsd(" assert tcpi_state == TCPI_SYN_RECEIVED ", TcpStateName::SynReceived)]
    #[case::freebsd_numbered("assert tcpi_state == TCPI_FIN_WAIT_1", TcpStateName::FinWait1)]
    #[case::linux_with_message(
        " assert tcpi_state == TCP_CLOSE_WAIT, tcpi_state ",
        TcpStateName::CloseWait
    )]
    #[case::linux_close("assert tcpi_state == TCP_CLOSE, tcpi_state", TcpStateName::Closed)]
    #[case::linux_syn_recv("assert tcpi_state==TCP_SYN_RECV", TcpStateName::SynReceived)]
    fn state_asserts_are_recognised(#[case] code: &str, #[case] want: TcpStateName) {
        assert_eq!(asserted_state(code), Some(want));
    }

    #[rstest]
    #[case::other_field("assert tcpi_delivered == 1, tcpi_state")]
    #[case::options("assert tcpi_options == (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK)")]
    #[case::inequality("assert tcpi_state != TCPI_CLOSED")]
    #[case::unknown_state("assert tcpi_state == TCPI_BOGUS")]
    #[case::unprefixed("assert tcpi_state == ESTABLISHED")]
    #[case::more_code("assert tcpi_state == TCPI_LISTEN\nassert tcpi_rto == 1000")]
    #[case::conjunction("assert tcpi_state == TCPI_LISTEN and tcpi_rto == 1")]
    #[case::no_assert("tcpi_state == TCPI_LISTEN")]
    #[case::glued("asserttcpi_state == TCPI_LISTEN")]
    fn anything_else_is_not(#[case] code: &str) {
        assert_eq!(asserted_state(code), None, "{code}");
    }
}
