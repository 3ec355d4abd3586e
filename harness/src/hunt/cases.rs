//! The search spaces: one parametrised scenario family per failure family. Each case turns
//! into an ordinary scenario file (TOML), so every reproducer the hunt writes is replayable with
//! `harness run`. Cases are drawn from bytes (`arbitrary::Unstructured`), which serves both the
//! seeded generator of `harness hunt` and libFuzzer's inputs, and shrink towards the smallest
//! world that still fails.

use arbitrary::{Result, Unstructured};
use core::fmt::Write as _;

/// The failure families the hunt searches for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    RstLoss,
    TimeWait,
    HalfOpen,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::RstLoss, Family::TimeWait, Family::HalfOpen];

    pub fn name(self) -> &'static str {
        match self {
            Family::RstLoss => "rst-loss",
            Family::TimeWait => "time-wait-assassination",
            Family::HalfOpen => "half-open",
        }
    }

    pub fn from_name(s: &str) -> Option<Family> {
        match s {
            "rst-loss" => Some(Family::RstLoss),
            "time-wait-assassination" | "time-wait" => Some(Family::TimeWait),
            "half-open" => Some(Family::HalfOpen),
            _ => None,
        }
    }

    /// [`Family::from_name`], or the error people see, with the closest family.
    pub fn parse_named(s: &str) -> Result<Family, String> {
        Family::from_name(s).ok_or_else(|| {
            let names = ["rst-loss", "time-wait-assassination", "half-open", "all"];
            format!(
                "unknown family `{s}`{} ({})",
                stack::suggest::did_you_mean(s, names),
                names.join(", ")
            )
        })
    }

    /// The finding kind that counts as this family.
    pub fn kind(self) -> crate::oracle::FindingKind {
        use crate::oracle::FindingKind as K;
        match self {
            Family::RstLoss => K::RstLoss,
            Family::TimeWait => K::TimeWaitAssassination,
            Family::HalfOpen => K::HalfOpen,
        }
    }
}

/// A point in one family's search space.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Case {
    RstLoss(RstLossCase),
    TimeWait(TimeWaitCase),
    HalfOpen(HalfOpenCase),
}

/// Incident A's space: idle clients behind a gateway, a server that reaps idle connections.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RstLossCase {
    pub clients: u32,
    /// Clients start their first request spread over this many milliseconds.
    pub spread_ms: u32,
    pub server_timeout_s: u32,
    pub tick_s: u32,
    pub close_by_rst: bool,
    /// Static ARP entry for the gateway on the server.
    pub static_arp: bool,
    pub keep_alive: bool,
    /// Client-side idle timeout (s), if any.
    pub client_idle_s: Option<u32>,
    /// When the clients send their next request (s after the first).
    pub next_request_s: u32,
}

/// Incident D's space: one connection closed by one side, old duplicates replayed later.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TimeWaitCase {
    /// The client closes first (else the server does, via `Connection: close`).
    pub client_closes: bool,
    /// Seconds after the close at which an old duplicate arrives (None: no duplicate).
    pub replay_after_s: Option<u32>,
    /// Zero-linger close instead of an orderly one.
    pub linger_zero: bool,
}

/// Incident B's space: a session through a NAT, silence, crashes, reboots and outages.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HalfOpenCase {
    pub nat: bool,
    pub nat_timeout_s: u32,
    /// Silence between the first exchange and the next keystroke.
    pub silence_s: u32,
    /// The server crashes (and reboots if `reboot`) this long after the first exchange.
    pub crash_after_s: Option<u32>,
    pub reboot: bool,
    /// A WAN outage: (start after the first exchange, length), seconds.
    pub outage: Option<(u32, u32)>,
}

impl Case {
    pub fn family(&self) -> Family {
        match self {
            Case::RstLoss(_) => Family::RstLoss,
            Case::TimeWait(_) => Family::TimeWait,
            Case::HalfOpen(_) => Family::HalfOpen,
        }
    }

    /// Draws a case of `family` from bytes (libFuzzer input or seeded random bytes).
    pub fn arbitrary(family: Family, u: &mut Unstructured<'_>) -> Result<Case> {
        Ok(match family {
            Family::RstLoss => Case::RstLoss(RstLossCase {
                clients: u.int_in_range(1..=24)?,
                spread_ms: *u.choose(&[0, 0, 500, 3_000, 20_000, 120_000])?,
                server_timeout_s: *u.choose(&[30, 60, 120, 120, 300])?,
                tick_s: *u.choose(&[1, 5, 5, 10])?,
                close_by_rst: u.ratio(3, 4)?,
                static_arp: u.ratio(1, 4)?,
                keep_alive: u.ratio(4, 5)?,
                client_idle_s: if u.ratio(1, 4)? {
                    Some(u.int_in_range(10..=600)?)
                } else {
                    None
                },
                next_request_s: u.int_in_range(60..=900)?,
            }),
            Family::TimeWait => Case::TimeWait(TimeWaitCase {
                client_closes: u.ratio(1, 2)?,
                replay_after_s: if u.ratio(4, 5)? {
                    Some(u.int_in_range(1..=400)?)
                } else {
                    None
                },
                linger_zero: u.ratio(1, 6)?,
            }),
            Family::HalfOpen => Case::HalfOpen(HalfOpenCase {
                nat: u.ratio(2, 3)?,
                // RFC 5382 REQ-5 asks for >= 2 h 4 min; real NATs (seeds/001) forget after ~10 min.
                nat_timeout_s: *u.choose(&[600, 900, 1800, 3600, 7440])?,
                silence_s: u.int_in_range(60..=7200)?,
                crash_after_s: if u.ratio(1, 3)? {
                    Some(u.int_in_range(1..=3600)?)
                } else {
                    None
                },
                reboot: u.ratio(1, 2)?,
                outage: if u.ratio(1, 4)? {
                    Some((u.int_in_range(1..=3600)?, u.int_in_range(1..=600)?))
                } else {
                    None
                },
            }),
        })
    }

    /// Simpler neighbours of this case, most promising first (for shrinking).
    pub fn shrink(&self) -> Vec<Case> {
        let mut out = Vec::new();
        match self {
            Case::RstLoss(c) => {
                let mut push = |f: &dyn Fn(&mut RstLossCase)| {
                    let mut n = c.clone();
                    f(&mut n);
                    if n != *c {
                        out.push(Case::RstLoss(n));
                    }
                };
                push(&|n| n.clients = 2.min(n.clients));
                push(&|n| n.clients = n.clients.saturating_sub(1).max(1));
                push(&|n| n.clients /= 2);
                push(&|n| n.spread_ms = 0);
                push(&|n| n.client_idle_s = None);
                push(&|n| n.keep_alive = true);
                push(&|n| n.static_arp = false);
                push(&|n| n.close_by_rst = true);
                push(&|n| n.server_timeout_s = 120);
                push(&|n| n.tick_s = 5);
                push(&|n| n.next_request_s = 300.min(n.next_request_s));
                out.retain(|c| matches!(c, Case::RstLoss(x) if x.clients >= 1));
            }
            Case::TimeWait(c) => {
                let mut push = |f: &dyn Fn(&mut TimeWaitCase)| {
                    let mut n = c.clone();
                    f(&mut n);
                    if n != *c {
                        out.push(Case::TimeWait(n));
                    }
                };
                push(&|n| n.linger_zero = false);
                push(&|n| n.client_closes = true);
                push(&|n| n.replay_after_s = n.replay_after_s.map(|s| s.min(10)));
            }
            Case::HalfOpen(c) => {
                let mut push = |f: &dyn Fn(&mut HalfOpenCase)| {
                    let mut n = c.clone();
                    f(&mut n);
                    if n != *c {
                        out.push(Case::HalfOpen(n));
                    }
                };
                push(&|n| n.outage = None);
                push(&|n| n.crash_after_s = None);
                push(&|n| n.reboot = false);
                push(&|n| n.nat = false);
                push(&|n| n.nat_timeout_s = 600);
                push(&|n| n.silence_s = n.silence_s.min(1800));
                push(&|n| n.silence_s = n.silence_s.min(900));
                push(&|n| n.crash_after_s = n.crash_after_s.map(|s| s.min(10)));
            }
        }
        out
    }

    /// A one-line summary of the case (words, no Rust debug text).
    pub fn summary(&self) -> String {
        let secs = |v: Option<u32>, none: &str| v.map_or(none.to_string(), |s| format!("{s} s"));
        match self {
            Case::RstLoss(c) => format!(
                "{} clients within {} ms, server timeout {} s tick {} s by {}, {} ARP, keep-alive {}, client idle {}",
                c.clients,
                c.spread_ms,
                c.server_timeout_s,
                c.tick_s,
                if c.close_by_rst { "RST" } else { "FIN" },
                if c.static_arp { "static" } else { "dynamic" },
                if c.keep_alive { "on" } else { "off" },
                secs(c.client_idle_s, "never")
            ),
            Case::TimeWait(c) => format!(
                "{} closes first{}, {}",
                if c.client_closes { "client" } else { "server" },
                if c.linger_zero { " with SO_LINGER 0" } else { "" },
                c.replay_after_s.map_or("no old duplicate".to_string(), |s| format!(
                    "old duplicate {s} s after the close"
                ))
            ),
            Case::HalfOpen(c) => format!(
                "{}silence {} s, server crash {}{}, outage {}",
                if c.nat { format!("NAT timeout {} s, ", c.nat_timeout_s) } else { String::new() },
                c.silence_s,
                secs(c.crash_after_s, "none"),
                if c.reboot { " (reboot)" } else { "" },
                c.outage.map_or("none".to_string(), |(a, b)| format!(
                    "{b} s starting {a} s after the first exchange"
                ))
            ),
        }
    }

    /// The scenario file for this case under `profile` and `knobs` (without expectations).
    pub fn to_toml(
        &self,
        name: &str,
        profile: &str,
        knobs: &[(String, String)],
        seed: u64,
    ) -> String {
        let set = if knobs.is_empty() {
            String::new()
        } else {
            let kv: Vec<String> = knobs
                .iter()
                .map(|(k, v)| format!("{k:?} = {v:?}"))
                .collect();
            format!("set = {{ {} }}\n", kv.join(", "))
        };
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Found by `harness hunt {}`: {}",
            self.family().name(),
            self.summary()
        );
        let _ = writeln!(s, "name = {name:?}\nseed = {seed}");
        match self {
            Case::RstLoss(c) => {
                let first = 1_000u64;
                let end = first / 1000 + u64::from(c.next_request_s) + 30;
                let _ = writeln!(s, "duration = \"{end}s\"\n");
                s.push_str("[[segment]]\nname = \"dmz\"\n\n[[segment]]\nname = \"clients\"\n\n");
                s.push_str("[[router]]\nname = \"gw\"\ninterfaces = [\n  { segment = \"dmz\", addr = \"203.0.113.1/24\" },\n  { segment = \"clients\", addr = \"198.51.100.1/24\" },\n]\n\n");
                let _ = writeln!(s, "[[host]]\nname = \"server\"\nsegment = \"dmz\"\naddr = \"203.0.113.10/24\"\ngateway = \"203.0.113.1\"\nprofile = {profile:?}\n{set}{}", if c.static_arp { "static_arp = [\"203.0.113.1\"]\n" } else { "" });
                let _ = writeln!(
                    s,
                    "[[host.app]]\nkind = \"server\"\nport = 80\nidle_timeout = \"{}s\"\ntick = \"{}s\"\nclose_by = \"{}\"\n",
                    c.server_timeout_s,
                    c.tick_s,
                    if c.close_by_rst { "rst" } else { "fin" }
                );
                for i in 0..c.clients {
                    let at =
                        first + u64::from(c.spread_ms) * u64::from(i) / u64::from(c.clients.max(1));
                    let next = at + u64::from(c.next_request_s) * 1000;
                    let _ = writeln!(s, "[[host]]\nname = \"client-{}\"\nsegment = \"clients\"\naddr = \"198.51.100.{}/24\"\ngateway = \"198.51.100.1\"\nprofile = \"linux\"\n", i + 1, 10 + i);
                    let _ = writeln!(
                        s,
                        "[[host.app]]\nkind = \"client\"\nserver = \"203.0.113.10:80\"\nrequests = [\"{at}ms\", \"{next}ms\"]\nkeep_alive = {}\n{}",
                        c.keep_alive,
                        c.client_idle_s.map_or(String::new(), |t| format!("idle_timeout = \"{t}s\"\n"))
                    );
                }
            }
            Case::TimeWait(c) => {
                // The close happens 5 s after the request (client idle timeout) or right after
                // the response (server closes on `Connection: close`).
                let close_at = if c.client_closes { 6 } else { 1 };
                let replay = c.replay_after_s.map(|r| close_at + r);
                let end = replay.unwrap_or(close_at) + 300;
                let _ = writeln!(s, "duration = \"{end}s\"\n");
                s.push_str("[[segment]]\nname = \"lan\"\n\n");
                let _ = writeln!(s, "[[host]]\nname = \"server\"\nsegment = \"lan\"\naddr = \"192.0.2.10/24\"\nprofile = {profile:?}\n{set}");
                s.push_str("[[host.app]]\nkind = \"server\"\nport = 80\n\n");
                let _ = writeln!(s, "[[host]]\nname = \"client\"\nsegment = \"lan\"\naddr = \"192.0.2.20/24\"\nprofile = {profile:?}\n{set}");
                let _ = writeln!(
                    s,
                    "[[host.app]]\nkind = \"client\"\nserver = \"192.0.2.10:80\"\nrequests = [\"1s\"]\n{}linger_zero = {}\n",
                    if c.client_closes { "idle_timeout = \"5s\"\n" } else { "keep_alive = false\n" },
                    c.linger_zero
                );
                if let Some(at) = replay {
                    let (to, from) = if c.client_closes {
                        ("client", "server")
                    } else {
                        ("server", "client")
                    };
                    let _ = writeln!(s, "[[event]]\nat = \"{at}s\"\naction = \"replay-old-segment\"\nhost = \"{to}\"\nfrom = \"{from}\"\n");
                }
            }
            Case::HalfOpen(c) => {
                let start = 2u64;
                let next = start + u64::from(c.silence_s);
                let end = next + 1500;
                let _ = writeln!(s, "duration = \"{end}s\"\nhalf_open_grace = \"1200s\"\n");
                s.push_str("[[segment]]\nname = \"home\"\n\n[[segment]]\nname = \"wan\"\n");
                if let Some((from, len)) = c.outage {
                    let f = start + u64::from(from);
                    let _ = writeln!(
                        s,
                        "impair = [{{ kind = \"outage\", from = \"{f}s\", until = \"{}s\" }}]",
                        f + u64::from(len)
                    );
                }
                s.push('\n');
                let (client_addr, gw) = if c.nat {
                    let _ = writeln!(
                        s,
                        "[[nat]]\nname = \"nat\"\ninside = {{ segment = \"home\", addr = \"192.0.2.1/24\" }}\noutside = {{ segment = \"wan\", addr = \"198.51.100.2/24\" }}\nidle_timeout = \"{}s\"\n",
                        c.nat_timeout_s
                    );
                    ("192.0.2.10/24", "192.0.2.1")
                } else {
                    s.push_str("[[router]]\nname = \"gw\"\ninterfaces = [\n  { segment = \"home\", addr = \"192.0.2.1/24\" },\n  { segment = \"wan\", addr = \"198.51.100.1/24\" },\n]\n\n");
                    ("192.0.2.10/24", "192.0.2.1")
                };
                let server_gw = if c.nat {
                    ""
                } else {
                    "gateway = \"198.51.100.1\"\n"
                };
                let _ = writeln!(s, "[[host]]\nname = \"server\"\nsegment = \"wan\"\naddr = \"198.51.100.20/24\"\n{server_gw}profile = {profile:?}\n{set}");
                s.push_str("[[host.app]]\nkind = \"server\"\nport = 22\n\n");
                let _ = writeln!(s, "[[host]]\nname = \"terminal\"\nsegment = \"home\"\naddr = \"{client_addr}\"\ngateway = \"{gw}\"\nprofile = {profile:?}\n{set}");
                let _ = writeln!(s, "[[host.app]]\nkind = \"client\"\nserver = \"198.51.100.20:22\"\nrequests = [\"1s\", \"{start}s\", \"{next}s\"]\n");
                if let Some(after) = c.crash_after_s {
                    let at = start + u64::from(after);
                    let _ = writeln!(
                        s,
                        "[[event]]\nat = \"{at}s\"\naction = \"{}\"\nhost = \"server\"\n",
                        if c.reboot { "reboot" } else { "crash" }
                    );
                }
            }
        }
        s
    }
}
