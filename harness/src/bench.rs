//! `harness bench`: figures for the simulator on a large idle population, printed (never
//! asserted by tests). The workload: N clients on segments of 100 behind a router, through one
//! NAT (idle timeout 600 s) to one server per 50,000 clients (one NAT address has 64,512 ports
//! per remote endpoint); each client makes one request, then idles for H hours
//! with TCP keepalive 300 s / 75 s / 9 (probes keep the NAT mappings alive). Segments start
//! 3 s apart.
//!
//! Memory is counted by the allocator when the binary installs a probe
//! ([`set_heap_probe`]; the `harness` binary counts every allocation): live heap bytes at the
//! end of the run, everything included (both ends of each connection, the NAT mapping, ARP
//! entries, the simulator's own tables), divided by the number of clients. Without a probe the
//! growth of the peak resident set stands in. `harness bench bulk` lives in [`bulk`].

pub mod breakdown;
pub mod bulk;

use crate::scenario::{Overrides, Scenario};
use core::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Instant as WallClock;

/// What one benchmark run measured.
#[derive(Clone, Debug)]
pub struct BenchReport {
    pub clients: u32,
    pub virtual_secs: u64,
    pub wall_secs: f64,
    /// User + system CPU seconds of the run (None where the OS does not tell): on a shared
    /// machine, what the run cost regardless of the other load.
    pub cpu_secs: Option<f64>,
    pub events: u64,
    /// Broadcast deliveries skipped: bystanders that ignore the frame (an ARP request for
    /// another host from a sender they do not know).
    pub skipped: u64,
    /// Work counter ([`crate::sim::World::work`]): connections, ARP entries, NAT mappings
    /// and ports visited.
    pub work: u64,
    pub frames: usize,
    pub findings: usize,
    /// Live heap bytes the world holds at the end of the run (allocator probe).
    pub heap_bytes: Option<u64>,
    pub rss_before_kib: Option<u64>,
    pub peak_rss_kib: Option<u64>,
    /// With capture: the oracles alone over the kept trace (wall seconds, frames judged).
    pub oracles: Option<(f64, usize)>,
    /// With `--breakdown` (and an allocator probe): what each part of the world held.
    pub breakdown: Option<breakdown::Breakdown>,
}

impl BenchReport {
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.wall_secs.max(1e-9)
    }
    /// Memory per client connection, bytes: live heap when counted, else peak RSS growth.
    pub fn bytes_per_conn(&self) -> Option<f64> {
        let clients = f64::from(self.clients.max(1));
        if let Some(h) = self.heap_bytes {
            return Some(h as f64 / clients);
        }
        let (b, p) = (self.rss_before_kib?, self.peak_rss_kib?);
        Some(p.saturating_sub(b) as f64 * 1024.0 / clients)
    }
}

static HEAP_PROBE: OnceLock<fn() -> u64> = OnceLock::new();

/// Installs the function that reports live heap bytes (a counting global allocator in the
/// binary). Later calls are ignored.
pub fn set_heap_probe(probe: fn() -> u64) {
    let _ = HEAP_PROBE.set(probe);
}

fn live_heap() -> Option<u64> {
    HEAP_PROBE.get().map(|p| p())
}

/// `VmRSS` / `VmHWM` of this process in KiB (Linux `/proc/self/status`).
fn proc_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU seconds this process has used (Linux `/proc/self/stat`; `None`
/// elsewhere). Beside wall time it shows what a run cost on a shared machine.
pub fn cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = s.get(s.rfind(')')? + 1..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5): 12 and 13 after the name.
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The scenario text for `clients` idle clients and `hours` of virtual time.
pub fn nat_idle_scenario(clients: u32, hours: u32) -> String {
    let segs = clients.div_ceil(100).max(1);
    let mut s = String::new();
    let dur = u64::from(hours) * 3600 + 10;
    let _ = writeln!(
        s,
        "name = \"bench-nat-idle\"\nseed = 1\nduration = \"{dur}s\"\n"
    );
    let _ = writeln!(
        s,
        "[[segment]]\nname = \"wan\"\n\n[[segment]]\nname = \"core\"\n"
    );
    for k in 0..segs {
        let _ = writeln!(s, "[[segment]]\nname = \"lan{k}\"\n");
    }
    let _ = writeln!(s, "[[nat]]\nname = \"nat\"\ninside = {{ segment = \"core\", addr = \"10.255.0.1/16\" }}\noutside = {{ segment = \"wan\", addr = \"198.51.100.2/24\" }}\nidle_timeout = \"600s\"\nroutes = [{{ to = \"10.0.0.0/9\", via = \"10.255.0.2\" }}]\n");
    s.push_str("[[router]]\nname = \"access\"\ngateway = \"10.255.0.1\"\ninterfaces = [\n  { segment = \"core\", addr = \"10.255.0.2/16\" },\n");
    for k in 0..segs {
        let _ = writeln!(
            s,
            "  {{ segment = \"lan{k}\", addr = \"10.{}.{}.1/24\" }},",
            k / 256,
            k % 256
        );
    }
    s.push_str("]\n\n");
    // One NAT address has 64,512 ports per remote endpoint: past 50,000 clients the
    // segments take turns between several servers (a real NAT runs out of ports too).
    let servers = clients.div_ceil(50_000).max(1);
    for i in 0..servers {
        let name = if servers == 1 {
            "server".to_string()
        } else {
            format!("server{i}")
        };
        let _ = writeln!(s, "[[host]]\nname = \"{name}\"\nsegment = \"wan\"\naddr = \"198.51.100.{}/24\"\nprofile = \"linux\"\n\n[[host.app]]\nkind = \"server\"\nport = 22\n", 20 + i);
    }
    for k in 0..segs {
        let n = (clients - k * 100).min(100);
        let _ = writeln!(
            s,
            "[[host]]\nname = \"c{k}\"\ncount = {n}\nsegment = \"lan{k}\"\naddr = \"10.{}.{}.10/24\"\ngateway = \"10.{}.{}.1\"\nprofile = \"linux\"\n\n[[host.app]]\nkind = \"client\"\nserver = \"198.51.100.{}:22\"\nrequests = [\"{}ms\"]\nkeepalive = {{ idle = \"300s\", interval = \"75s\", probes = 9 }}\n",
            k / 256,
            k % 256,
            k / 256,
            k % 256,
            20 + k % servers,
            // Segments start 3 s apart, as users do: a realistic spread that also keeps each
            // burst through the NAT within the ARP queue of its next hop (incident A again).
            1000 + u64::from(k) * 3000
        );
    }
    s
}

/// Runs the benchmark. `capture` keeps every frame in the trace (as scenario runs do); without
/// it the figures are the simulator's own cost. `tick(done, total)` reports virtual seconds.
pub fn nat_idle(
    clients: u32,
    hours: u32,
    capture: bool,
    tick: &mut dyn FnMut(u64, u64),
) -> Result<BenchReport, String> {
    nat_idle_weighed(clients, hours, capture, false, tick)
}

/// As [`nat_idle`]; `weigh` also takes the world apart at the end to weigh its parts
/// ([`breakdown`]; needs the allocator probe).
pub fn nat_idle_weighed(
    clients: u32,
    hours: u32,
    capture: bool,
    weigh: bool,
    tick: &mut dyn FnMut(u64, u64),
) -> Result<BenchReport, String> {
    let text = nat_idle_scenario(clients, hours);
    let rss_before_kib = proc_kib("VmRSS:");
    let heap_before = live_heap();
    let sc = Scenario::parse("bench.toml", &text).map_err(|e| e.to_string())?;
    let mut heap_end = None;
    let mut parts = None;
    let started = WallClock::now();
    let cpu_before = cpu_secs();
    let res = sc
        .run_probed(
            &Overrides::default(),
            capture,
            &mut |now, end| tick(now.secs(), end.secs()),
            &mut |world| {
                heap_end = live_heap();
                if let (true, Some(probe), Some(b), Some(e)) =
                    (weigh, HEAP_PROBE.get(), heap_before, heap_end)
                {
                    parts = Some(breakdown::weigh(world, *probe, e.saturating_sub(b)));
                }
            },
        )
        .map_err(|e| e.to_string())?;
    let wall_secs = started.elapsed().as_secs_f64();
    let cpu = cpu_before.zip(cpu_secs()).map(|(b, a)| a - b);
    let oracles = capture.then(|| {
        let frames = res
            .trace
            .events
            .iter()
            .filter(|e| matches!(e.kind, crate::trace::TraceKind::Frame(_)))
            .count();
        let t = WallClock::now();
        let _ = crate::oracle::judge(&res.trace, &crate::oracle::OracleConfig::default());
        (t.elapsed().as_secs_f64(), frames)
    });
    Ok(BenchReport {
        oracles,
        clients,
        virtual_secs: u64::from(hours) * 3600,
        wall_secs,
        cpu_secs: cpu,
        events: res.events_processed,
        skipped: res.deliveries_skipped,
        work: res.work,
        frames: res.trace.events.len(),
        findings: res.findings.len(),
        heap_bytes: heap_before.zip(heap_end).map(|(b, e)| e.saturating_sub(b)),
        rss_before_kib,
        peak_rss_kib: proc_kib("VmHWM:"),
        breakdown: parts,
    })
}

/// Least-squares slope of log(wall) over log(clients): 1.0 is linear.
pub fn scaling_exponent(points: &[(u32, f64)]) -> Option<f64> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(n, w)| *n > 0 && *w > 0.0)
        .map(|(n, w)| (f64::from(*n).ln(), w.ln()))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let k = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / k;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / k;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

fn print_report(r: &BenchReport, hours: u32, capture: bool) {
    println!(
        "bench nat-idle: {} clients, {} h virtual, keepalive 300 s, NAT idle timeout 600 s, capture {}",
        r.clients,
        hours,
        if capture { "on" } else { "off" }
    );
    println!("wall time           {:.2} s", r.wall_secs);
    if let Some(c) = r.cpu_secs {
        println!("cpu time            {c:.2} s (user + system; the machine's other load aside)");
    }
    println!(
        "virtual/wall        {:.0}x",
        r.virtual_secs as f64 / r.wall_secs.max(1e-9)
    );
    println!(
        "simulated events    {} ({:.0} events/s)",
        r.events,
        r.events_per_sec()
    );
    println!(
        "skipped deliveries  {} (broadcasts to bystanders that ignore them)",
        r.skipped
    );
    println!(
        "visited per event   {:.2} (connections, ARP entries, NAT mappings, ports offered a frame)",
        r.work as f64 / r.events.max(1) as f64
    );
    println!("trace entries       {}", r.frames);
    println!("findings            {}", r.findings);
    if let Some((secs, frames)) = r.oracles {
        println!(
            "oracles             {secs:.2} s over {frames} frames ({:.0} frames/s)",
            frames as f64 / secs.max(1e-9)
        );
    }
    match (r.heap_bytes, r.bytes_per_conn()) {
        (Some(h), Some(b)) => println!(
            "live heap           {} KiB at the end ({:.0} bytes per connection)",
            h / 1024,
            b
        ),
        (None, Some(b)) => println!(
            "peak memory         {} KiB ({:.0} bytes per connection)",
            r.peak_rss_kib.unwrap_or(0),
            b
        ),
        _ => println!("memory              unknown (no allocator probe, no /proc/self/status)"),
    }
    if r.heap_bytes.is_some() {
        if let Some(p) = r.peak_rss_kib {
            println!("peak RSS            {p} KiB");
        }
    }
    if let Some(b) = &r.breakdown {
        print_breakdown(b, r.clients);
    }
}

fn print_breakdown(b: &breakdown::Breakdown, clients: u32) {
    let per = |v: u64| v as f64 / f64::from(clients.max(1));
    println!("breakdown (live heap freed part by part at the end, bytes per connection):");
    for p in breakdown::Part::ALL {
        println!("  {:<46} {:>8.0}", p.label(), per(b.get(p)));
    }
    println!("  {:<46} {:>8.0}", "total", per(b.total()));
}

/// The `harness bench` command: one run per entry of `clients`, then (for a sweep) a table
/// with the fitted scaling exponent. Progress goes to stderr when it is a terminal.
pub fn command(
    clients: &[u32],
    hours: u32,
    capture: bool,
    breakdown: bool,
    verbosity: crate::progress::Verbosity,
) -> Result<u8, String> {
    if clients.is_empty() || clients.contains(&0) || hours == 0 {
        return Err("--clients and --hours must be at least 1".into());
    }
    let mut reports = Vec::new();
    for &n in clients {
        let progress = crate::progress::Progress::new(
            &format!("bench {n} clients"),
            Some(u64::from(hours) * 3600 + 10),
            verbosity,
        );
        progress.set_message("virtual s");
        let r = nat_idle_weighed(n, hours, capture, breakdown, &mut |done, _| {
            progress.set_position(done)
        })?;
        progress.clear();
        print_report(&r, hours, capture);
        reports.push(r);
        if clients.len() > 1 {
            println!();
        }
    }
    if reports.len() > 1 {
        println!("clients    wall s     cpu s    events/s   bytes/conn");
        for r in &reports {
            println!(
                "{:>7} {:>9.2} {:>9} {:>11.0} {:>12}",
                r.clients,
                r.wall_secs,
                r.cpu_secs.map_or("?".to_string(), |c| format!("{c:.2}")),
                r.events_per_sec(),
                r.bytes_per_conn()
                    .map_or("?".to_string(), |b| format!("{b:.0}"))
            );
        }
        let pts: Vec<(u32, f64)> = reports.iter().map(|r| (r.clients, r.wall_secs)).collect();
        match scaling_exponent(&pts) {
            Some(e) => {
                println!("scaling exponent    {e:.2} (wall time ~ clients^{e:.2}; 1.00 is linear)")
            }
            None => println!("scaling exponent    unknown"),
        }
    }
    Ok(if reports.iter().all(|r| r.findings == 0) {
        0
    } else {
        1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Work per event must not grow with the population: doubling the clients of one segment
    /// (every ARP request then reaches twice the bystanders) at most doubles the deliveries,
    /// because bystanders that ignore a broadcast are skipped, not delivered to.
    #[test]
    fn deliveries_grow_linearly_with_one_segment_s_clients() {
        let run = |n| nat_idle(n, 1, false, &mut |_, _| {}).expect("bench scenario runs");
        let (half, full) = (run(50), run(100));
        assert_eq!((half.findings, full.findings), (0, 0));
        let ratio = full.events as f64 / half.events as f64;
        assert!(
            ratio < 2.3,
            "deliveries grew x{ratio:.2} for x2 clients ({} -> {})",
            half.events,
            full.events
        );
        assert!(full.skipped > 0, "bystanders were skipped");
    }

    /// The linearity rule as a test: the work per event (connections the stacks'
    /// timers and transmit paths visit, ARP cache entries, the server application's
    /// connections, router interfaces, NAT mappings, ports offered a frame) must not grow
    /// with the number of clients. From 100 clients on one segment to 400 on four, the
    /// server holds 4x the connections, the NAT 4x the mappings and the router 4x the ARP
    /// entries; a scan of any of them per event would multiply the ratio.
    #[test]
    fn work_per_event_does_not_grow_with_clients() {
        let run = |n| nat_idle(n, 1, false, &mut |_, _| {}).expect("bench scenario runs");
        let (small, large) = (run(100), run(400));
        let per = |r: &BenchReport| r.work as f64 / r.events as f64;
        assert!(small.work > small.events, "the counters count");
        assert!(
            per(&large) < 1.25 * per(&small),
            "work per event grew from {:.2} to {:.2} with 4x the clients",
            per(&small),
            per(&large)
        );
    }

    /// Without capture the nodes drop their logs instead of handing them over
    /// ([`crate::sim::Node::discard_trace`]): the run itself must be the same event for event.
    #[test]
    fn capture_changes_nothing_but_the_trace() {
        let run = |capture| nat_idle(60, 1, capture, &mut |_, _| {}).expect("bench scenario runs");
        let (on, off) = (run(true), run(false));
        assert_eq!(
            (on.events, on.skipped, on.work, on.findings),
            (off.events, off.skipped, off.work, off.findings)
        );
        assert!(
            on.frames > on.events as usize / 4,
            "capture keeps the trace"
        );
        assert_eq!(off.frames, 0);
    }

    #[test]
    fn exponent_of_a_power_law() {
        let pts = [(1000, 2.0), (10_000, 20.0), (100_000, 200.0)];
        assert!((scaling_exponent(&pts).expect("fit") - 1.0).abs() < 1e-9);
        let sq = [(1000, 1.0), (2000, 4.0)];
        assert!((scaling_exponent(&sq).expect("fit") - 2.0).abs() < 1e-9);
        assert_eq!(scaling_exponent(&[(1000, 1.0)]), None);
    }
}
