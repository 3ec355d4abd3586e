//! The scenario file format (TOML). Every table rejects unknown keys; every value that needs
//! checking beyond its type is kept with its span so errors can say `file:line:col`.
//!
//! ```toml
//! name = "incident-a"
//! description = "..."
//! seed = 1
//! duration = "300s"
//!
//! [[segment]]
//! name = "lan"
//! delay = "0.5ms"
//! impair = [{ kind = "loss", p = 0.05 }]
//!
//! [[host]]
//! name = "server"
//! segment = "lan"
//! addr = "203.0.113.10/24"
//! gateway = "203.0.113.1"
//! profile = "windows"
//! set = { "arp.queue_depth" = "1" }
//! static_arp = ["203.0.113.1"]
//! [[host.app]]
//! kind = "server"
//! port = 80
//!
//! [[expect]]
//! kind = "rst-loss"
//! count = 19
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    pub name: Option<String>,
    pub description: Option<String>,
    pub seed: Option<u64>,
    pub duration: S<String>,
    /// Half-open shorter than this is not a finding (default 5 s).
    pub half_open_grace: Option<S<String>>,
    #[serde(default)]
    pub segment: Vec<SegmentSpec>,
    #[serde(default)]
    pub host: Vec<HostSpec>,
    #[serde(default)]
    pub router: Vec<RouterSpec>,
    #[serde(default)]
    pub nat: Vec<NatSpec>,
    #[serde(default)]
    pub event: Vec<EventSpec>,
    #[serde(default)]
    pub expect: Vec<ExpectSpec>,
    pub outcome: Option<OutcomeSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentSpec {
    pub name: S<String>,
    pub delay: Option<S<String>>,
    #[serde(default)]
    pub impair: Vec<S<ImpairSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "kebab-case")]
pub enum ImpairSpec {
    Loss { p: f64 },
    Duplicate { p: f64 },
    Reorder { p: f64, extra: String },
    Outage { from: String, until: String },
    DropNth { n: usize },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub name: S<String>,
    pub segment: S<String>,
    /// `a.b.c.d/len`
    pub addr: S<String>,
    pub gateway: Option<S<String>>,
    /// Replicate the host `count` times with consecutive addresses (`name-1`, `name-2`, ...).
    pub count: Option<S<u32>>,
    pub stack: Option<S<String>>,
    pub profile: Option<S<String>>,
    #[serde(default)]
    pub set: BTreeMap<String, S<String>>,
    /// Static ARP entries: IPv4 addresses of routers/hosts in the same segment.
    #[serde(default)]
    pub static_arp: Vec<S<String>>,
    #[serde(default)]
    pub app: Vec<S<AppSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepaliveSpec {
    pub idle: String,
    pub interval: String,
    pub probes: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "kebab-case")]
pub enum AppSpec {
    Server {
        port: u16,
        #[serde(default = "yes")]
        keep_alive: bool,
        idle_timeout: Option<String>,
        tick: Option<String>,
        /// `rst` or `fin`
        close_by: Option<String>,
        heartbeat_interval: Option<String>,
        heartbeat_count: Option<u32>,
        keepalive: Option<KeepaliveSpec>,
    },
    Client {
        /// `a.b.c.d:port`
        server: String,
        /// Request times.
        requests: Vec<String>,
        #[serde(default = "yes")]
        keep_alive: bool,
        /// Say `Connection: close` on a request followed by a gap longer than this.
        close_before_idle: Option<String>,
        /// Close with SO_LINGER 0 (RST, no TIME-WAIT).
        #[serde(default)]
        linger_zero: bool,
        idle_timeout: Option<String>,
        request_timeout: Option<String>,
        #[serde(default)]
        sticky_pool: bool,
        keepalive: Option<KeepaliveSpec>,
    },
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IfaceSpec {
    pub segment: S<String>,
    pub addr: S<String>,
}

/// A static route: `{ to = "10.0.0.0/8", via = "10.255.0.2" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub to: S<String>,
    pub via: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSpec {
    pub name: S<String>,
    pub interfaces: Vec<IfaceSpec>,
    pub gateway: Option<S<String>>,
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    /// Profile whose ARP knobs the router uses (default: the Linux-like defaults).
    pub profile: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatSpec {
    pub name: S<String>,
    pub inside: IfaceSpec,
    pub outside: IfaceSpec,
    pub gateway: Option<S<String>>,
    /// Routes to inside networks that are not on the inside segment.
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    pub idle_timeout: S<String>,
    #[serde(default)]
    pub rst_on_expiry: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    pub at: S<String>,
    /// `crash`, `reboot`, `up`, `replay-old-segment`, `expire-arp`
    pub action: S<String>,
    pub host: S<String>,
    /// replay-old-segment: the host whose earlier data segment is replayed to `host`.
    pub from: Option<S<String>>,
    /// expire-arp: the neighbour address whose entry is removed.
    pub addr: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    pub kind: S<String>,
    #[serde(default = "one")]
    pub count: usize,
    pub host: Option<String>,
    pub cause: Option<String>,
    /// Every matching finding's duration must be exactly this.
    pub duration: Option<S<String>>,
}

fn one() -> usize {
    1
}

/// Application-level outcomes to check (counts over all clients).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeSpec {
    pub requests_ok: Option<usize>,
    pub requests_failed: Option<usize>,
    pub connections_opened: Option<usize>,
}
