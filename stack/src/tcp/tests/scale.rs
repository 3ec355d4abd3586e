//! Work per event does not grow with the number of connections: `poll_transmit` visits only
//! connections an input touched, `handle_timeout` only those due, and the listener's backlog
//! counts only children still pending (counted with [`Tcp::visits`], never timed).

use super::pair::{Pair, A_IP, B_IP};
use crate::policy::Profile;
use crate::tcp::{SocketHandle, SocketOption, State};
use crate::time::Duration;
use core::net::SocketAddrV4;

/// `n` connections from a to b, each accepted at once by a listener whose backlog is 4.
fn established(n: usize) -> (Pair, Vec<SocketHandle>, Vec<SocketHandle>) {
    let tcp = Profile::named("linux").expect("profile").tcp;
    let mut p = Pair::new(tcp.clone(), tcp);
    let l =
        p.b.listen(p.now, SocketAddrV4::new(B_IP, 80), 4)
            .expect("listen");
    let mut clients = Vec::new();
    let mut servers = Vec::new();
    for _ in 0..n {
        let c =
            p.a.connect(
                p.now,
                SocketAddrV4::new(A_IP, 0),
                SocketAddrV4::new(B_IP, 80),
            )
            .expect("connect");
        clients.push(c);
        let limit = p.now + Duration::from_secs(10);
        let want = clients.len();
        p.run_until(limit, |p| {
            if let Ok(s) = p.b.accept(p.now, l) {
                servers.push(s);
            }
            servers.len() == want && p.a.state(c) == Some(State::Established)
        });
        assert_eq!(servers.len(), want, "connection {want} was not accepted");
    }
    (p, clients, servers)
}

/// Connections visited (both ends) for one byte sent and acknowledged on the first
/// connection, then one keepalive probe and its answer on it.
fn visits_for_one_exchange(n: usize) -> u64 {
    let (mut p, c, s) = established(n);
    let before = p.a.visits() + p.b.visits();
    p.a.send(p.now, c[0], b"x").expect("send");
    let mut buf = [0u8; 8];
    let limit = p.now + Duration::from_secs(1);
    p.run_until(limit, |p| p.b.recv(p.now, s[0], &mut buf).is_ok());
    let limit = p.now + Duration::from_secs(2);
    p.run_until(limit, |_| false);
    for o in [
        SocketOption::KeepAlive(true),
        SocketOption::KeepIdle(Duration::from_secs(10)),
    ] {
        p.a.set_option(c[0], o).expect("keepalive");
    }
    let limit = p.now + Duration::from_secs(11);
    p.run_until(limit, |_| false);
    p.a.visits() + p.b.visits() - before
}

#[test]
fn visits_per_event_do_not_grow_with_connections() {
    let small = visits_for_one_exchange(3);
    let large = visits_for_one_exchange(300);
    assert!(small > 0, "the counter counts nothing");
    assert_eq!(
        small, large,
        "work for one exchange grew from {small} to {large} connections visited with 100x the connections"
    );
}

#[test]
fn backlog_counts_only_pending_children() {
    // Backlog 4, but every connection is accepted at once: 50 in a row all get through.
    let (p, _, servers) = established(50);
    assert_eq!(servers.len(), 50);
    assert!(servers
        .iter()
        .all(|s| p.b.state(*s) == Some(State::Established)));
}
