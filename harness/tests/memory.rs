//! Memory per idle connection, counted by the allocator: the `harness bench` workload (clients
//! idling through a NAT with keepalive) must not hold more live heap per connection than the
//! budget below, counted over both ends, the NAT mapping, ARP state and the simulator's own
//! tables (issue 12 asks ≤ 2 KiB). A test binary of its own because it installs a counting
//! global allocator; it measures bytes, never time.

#[global_allocator]
static GLOBAL: heap_count::ThreadCounted = heap_count::ThreadCounted;

/// The test thread's live heap (the bench runs and weighs its world on it), as in the binary.
fn live_heap() -> u64 {
    heap_count::live_bytes().max(0) as u64
}

/// Bytes per idle connection the bench may hold at 1,000 clients (fixed costs such as the
/// server's listener, the routers and the segments are spread over fewer connections than at
/// 100,000, so this is the stricter size). Lower it when the structures shrink.
const BUDGET: f64 = 2_120.0;

#[test]
fn idle_connections_stay_within_the_memory_budget() {
    harness::bench::set_heap_probe(live_heap);
    let r = harness::bench::nat_idle_weighed(1000, 1, false, true, &mut |_, _| {})
        .expect("bench scenario runs");
    assert_eq!(r.findings, 0);
    let per_conn = r.bytes_per_conn().expect("heap counted");
    let parts = r.breakdown.expect("breakdown taken");
    assert_eq!(
        parts.total(),
        r.heap_bytes.expect("heap counted"),
        "the parts add up to the headline figure"
    );
    let table: String = harness::bench::breakdown::Part::ALL
        .iter()
        .map(|p| format!("\n  {:<46} {:>6}", p.label(), parts.get(*p) / 1000))
        .collect();
    assert!(
        per_conn <= BUDGET,
        "{per_conn:.0} bytes per idle connection, budget {BUDGET:.0}; per part:{table}"
    );
}
