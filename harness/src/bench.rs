//! `harness bench`: figures for the simulator on a large idle population, printed (never
//! asserted by tests). The workload: N clients on segments of 100 behind a router, through one
//! NAT (idle timeout 600 s) to one server; each client makes one request, then idles for H hours
//! with TCP keepalive 300 s / 75 s / 9 (probes keep the NAT mappings alive). Segments start
//! 3 s apart.

use crate::scenario::{Overrides, Scenario};
use core::fmt::Write as _;
use std::time::Instant as WallClock;

/// What one benchmark run measured.
#[derive(Clone, Debug)]
pub struct BenchReport {
    pub clients: u32,
    pub virtual_secs: u64,
    pub wall_secs: f64,
    pub events: u64,
    pub frames: usize,
    pub findings: usize,
    pub rss_before_kib: Option<u64>,
    pub peak_rss_kib: Option<u64>,
    /// With capture: the oracles alone over the kept trace (wall seconds, frames judged).
    pub oracles: Option<(f64, usize)>,
}

impl BenchReport {
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.wall_secs.max(1e-9)
    }
    /// Peak memory growth per client connection, bytes.
    pub fn bytes_per_conn(&self) -> Option<f64> {
        let (b, p) = (self.rss_before_kib?, self.peak_rss_kib?);
        Some(p.saturating_sub(b) as f64 * 1024.0 / f64::from(self.clients.max(1)))
    }
}

/// `VmRSS` / `VmHWM` of this process in KiB (Linux `/proc/self/status`).
fn proc_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
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
    let _ = writeln!(s, "[[host]]\nname = \"server\"\nsegment = \"wan\"\naddr = \"198.51.100.20/24\"\nprofile = \"linux\"\n\n[[host.app]]\nkind = \"server\"\nport = 22\n");
    for k in 0..segs {
        let n = (clients - k * 100).min(100);
        let _ = writeln!(
            s,
            "[[host]]\nname = \"c{k}\"\ncount = {n}\nsegment = \"lan{k}\"\naddr = \"10.{}.{}.10/24\"\ngateway = \"10.{}.{}.1\"\nprofile = \"linux\"\n\n[[host.app]]\nkind = \"client\"\nserver = \"198.51.100.20:22\"\nrequests = [\"{}ms\"]\nkeepalive = {{ idle = \"300s\", interval = \"75s\", probes = 9 }}\n",
            k / 256,
            k % 256,
            k / 256,
            k % 256,
            // Segments start 3 s apart, as users do: a realistic spread that also keeps each
            // burst through the NAT within the ARP queue of its next hop (incident A again).
            1000 + u64::from(k) * 3000
        );
    }
    s
}

/// Runs the benchmark. `capture` keeps every frame in the trace (as scenario runs do); without
/// it the figures are the simulator's own cost.
pub fn nat_idle(clients: u32, hours: u32, capture: bool) -> Result<BenchReport, String> {
    let text = nat_idle_scenario(clients, hours);
    let rss_before_kib = proc_kib("VmRSS:");
    let sc = Scenario::parse("bench.toml", &text).map_err(|e| e.to_string())?;
    let started = WallClock::now();
    let res = sc
        .run_with(&Overrides::default(), capture)
        .map_err(|e| e.to_string())?;
    let wall_secs = started.elapsed().as_secs_f64();
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
        events: res.events_processed,
        frames: res.trace.events.len(),
        findings: res.findings.len(),
        rss_before_kib,
        peak_rss_kib: proc_kib("VmHWM:"),
    })
}

/// The `harness bench` command.
pub fn command(clients: u32, hours: u32, capture: bool) -> Result<u8, String> {
    if clients == 0 || hours == 0 {
        return Err("--clients and --hours must be at least 1".into());
    }
    let r = nat_idle(clients, hours, capture)?;
    println!("bench nat-idle: {} clients, {} h virtual, keepalive 300 s, NAT idle timeout 600 s, capture {}", r.clients, hours, if capture { "on" } else { "off" });
    println!("wall time           {:.2} s", r.wall_secs);
    println!(
        "virtual/wall        {:.0}x",
        r.virtual_secs as f64 / r.wall_secs.max(1e-9)
    );
    println!(
        "simulated events    {} ({:.0} events/s)",
        r.events,
        r.events_per_sec()
    );
    println!("trace entries       {}", r.frames);
    println!("findings            {}", r.findings);
    if let Some((secs, frames)) = r.oracles {
        println!(
            "oracles             {secs:.2} s over {frames} frames ({:.0} frames/s)",
            frames as f64 / secs.max(1e-9)
        );
    }
    match (r.peak_rss_kib, r.bytes_per_conn()) {
        (Some(p), Some(b)) => println!(
            "peak memory         {} KiB ({:.0} bytes per connection)",
            p, b
        ),
        _ => println!("peak memory         unknown (no /proc/self/status)"),
    }
    Ok(if r.findings == 0 { 0 } else { 1 })
}
