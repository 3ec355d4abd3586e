use super::*;

/// A node with ports and nothing to say.
struct Quiet;

impl Node for Quiet {
    fn name(&self) -> &str {
        "quiet"
    }
    fn addrs(&self) -> Vec<Ipv4Addr> {
        Vec::new()
    }
    fn handle_frame(&mut self, _now: Instant, _port: usize, _frame: &[u8]) {}
    fn handle_timeout(&mut self, _now: Instant) {}
    fn poll_transmit(&mut self, _now: Instant) -> Option<(usize, Vec<u8>)> {
        None
    }
    fn poll_at(&self) -> Option<Instant> {
        None
    }
    fn drain_trace(&mut self, _me: NodeId, _out: &mut Vec<TraceEvent>) {}
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The link lookups (a guess from the last lookup's shift, galloping to the port) find
/// exactly what a binary search over all links finds, whatever order nodes are asked in:
/// nodes with no port, one port, many ports, ports plugged in out of order.
#[test]
fn link_lookups_agree_with_a_binary_search() {
    let mut w = World::new(1);
    let seg = w.add_segment("s", Duration::ZERO);
    let ports = [1usize, 0, 3, 1, 40, 1, 1, 0, 2, 1];
    let nodes: Vec<NodeId> = ports.iter().map(|_| w.add_node(Box::new(Quiet))).collect();
    // Plugged in backwards, ports in descending order (every insert lands mid-table).
    for (n, &count) in nodes.iter().zip(&ports).rev() {
        for p in (0..count).rev() {
            w.attach(*n, p * 2, seg);
        }
    }
    let naive = |w: &World, node: usize, port: usize| {
        w.links
            .binary_search_by(|l| (l.node as usize, l.port as usize).cmp(&(node, port)))
    };
    let order: Vec<usize> = (0..ports.len()).chain((0..ports.len()).rev()).collect();
    for &n in order.iter().chain([9, 0, 4, 4, 2, 7].iter()) {
        let lo = w.links.partition_point(|l| (l.node as usize) < n);
        assert_eq!(w.first_link(n), lo, "first link of node {n}");
        for port in 0..90 {
            assert_eq!(
                w.find_link(n, port),
                naive(&w, n, port),
                "node {n} port {port}"
            );
        }
        assert!(w.links_of(n).iter().all(|l| l.node as usize == n));
        assert_eq!(w.links_of(n).len(), ports[n]);
    }
    // Past the last node: nothing there.
    assert_eq!(w.first_link(ports.len()), w.links.len());
    assert_eq!(w.find_link(ports.len(), 0), Err(w.links.len()));
}
