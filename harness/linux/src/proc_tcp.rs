//! `/proc/net/tcp` (read per namespace as `/proc/thread-self/net/tcp`): one line per socket,
//! addresses as little-endian hex `AABBCCDD:PPPP`, state as the kernel's `TCP_*` number.

use core::net::{Ipv4Addr, SocketAddrV4};
use stack::tcp::State;

/// One socket of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    pub state: State,
}

fn addr(s: &str) -> Option<SocketAddrV4> {
    let (ip, port) = s.split_once(':')?;
    let ip = u32::from_str_radix(ip, 16).ok()?;
    let port = u16::from_str_radix(port, 16).ok()?;
    // The kernel prints the address word in host (little-endian) order.
    Some(SocketAddrV4::new(Ipv4Addr::from(ip.swap_bytes()), port))
}

/// `include/net/tcp_states.h`.
fn state(n: u8) -> Option<State> {
    Some(match n {
        1 => State::Established,
        2 => State::SynSent,
        3 => State::SynReceived,
        4 => State::FinWait1,
        5 => State::FinWait2,
        6 => State::TimeWait,
        7 => State::Closed,
        8 => State::CloseWait,
        9 => State::LastAck,
        10 => State::Listen,
        11 => State::Closing,
        _ => return None,
    })
}

/// Parses the whole file; malformed lines are skipped.
pub fn parse(text: &str) -> Vec<Entry> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut w = l.split_whitespace().skip(1);
            let local = addr(w.next()?)?;
            let remote = addr(w.next()?)?;
            let st = state(u8::from_str_radix(w.next()?, 16).ok()?)?;
            Some(Entry {
                local,
                remote,
                state: st,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_lines() {
        let t = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 010200C0:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n   1: 010200C0:1F90 020200C0:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1\n";
        let e = parse(t);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].local, "192.0.2.1:8080".parse().unwrap());
        assert_eq!(e[0].state, State::Listen);
        assert_eq!(e[1].remote, "192.0.2.2:40000".parse().unwrap());
        assert_eq!(e[1].state, State::Established);
    }
}
