//! Turns a [`ScenarioSpec`](super::spec::ScenarioSpec) into a [`World`], checking every name,
//! address and value on the way (errors carry `file:line:col`).

use super::spec::{AppSpec, ImpairSpec, KeepaliveSpec};
use super::{Overrides, Scenario, ScenarioError};
use crate::dut::Dut;
use crate::dut::StackConfig;
use crate::sim::app::{Client, ClientConfig, CloseBy, Keepalive, Server, ServerConfig};
use crate::sim::nat::{Nat, NatConfig};
use crate::sim::router::{Forwarder, IfaceConfig, Router};
use crate::sim::{HostNode, Rule, World};
use crate::stacks;
use crate::trace::{Fate, NodeId, SegmentId, TraceKind};
use core::net::{Ipv4Addr, SocketAddrV4};
use stack::policy::Profile;
use stack::wire::{self, ChecksumMode, EthernetAddress};
use stack::{Duration, Instant};
use std::collections::BTreeMap;
use toml::Spanned;

/// A scheduled scenario action.
pub struct Action {
    pub at: Instant,
    pub apply: Box<dyn Fn(&mut World)>,
}

/// The world a scenario describes, with its schedule.
pub struct Built {
    pub world: World,
    pub duration: Duration,
    pub actions: Vec<Action>,
    pub hosts: BTreeMap<String, NodeId>,
}

fn parse_cidr(sc: &Scenario, s: &Spanned<String>) -> Result<(Ipv4Addr, u8), ScenarioError> {
    let bad = || {
        sc.err(
            s.span(),
            format!("bad address `{}`: want a.b.c.d/len", s.get_ref()),
        )
    };
    let (a, l) = s.get_ref().split_once('/').ok_or_else(bad)?;
    let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
    let len: u8 = l.parse().map_err(|_| bad())?;
    if len > 32 {
        return Err(bad());
    }
    Ok((addr, len))
}

fn parse_ip(sc: &Scenario, s: &Spanned<String>) -> Result<Ipv4Addr, ScenarioError> {
    s.get_ref()
        .parse()
        .map_err(|_| sc.err(s.span(), format!("bad IPv4 address `{}`", s.get_ref())))
}

fn dur(sc: &Scenario, span: core::ops::Range<usize>, s: &str) -> Result<Duration, ScenarioError> {
    s.parse::<stack::Duration>()
        .map_err(|e| sc.err(span, e.to_string()))
}

fn keepalive(
    sc: &Scenario,
    span: core::ops::Range<usize>,
    k: &Option<KeepaliveSpec>,
) -> Result<Option<Keepalive>, ScenarioError> {
    Ok(match k {
        None => None,
        Some(k) => Some(Keepalive {
            idle: dur(sc, span.clone(), &k.idle)?,
            interval: dur(sc, span.clone(), &k.interval)?,
            probes: k.probes,
        }),
    })
}

fn mac(kind: u8, a: usize, b: usize) -> EthernetAddress {
    EthernetAddress([0x02, 0, kind, a as u8, (b >> 8) as u8, b as u8])
}

fn add_routes(
    sc: &Scenario,
    fwd: &mut Forwarder,
    routes: &[super::spec::RouteSpec],
) -> Result<(), ScenarioError> {
    for r in routes {
        let (net, len) = parse_cidr(sc, &r.to)?;
        let via = parse_ip(sc, &r.via)?;
        if !fwd.add_route(net, len, via) {
            return Err(sc.err(
                r.via.span(),
                format!("route via {via}: not on any interface of this node"),
            ));
        }
    }
    Ok(())
}

/// Resolves the profile for a host: CLI override, else the file's, else the default.
fn profile(
    sc: &Scenario,
    name: Option<&Spanned<String>>,
    set: &BTreeMap<String, Spanned<String>>,
    ov: &Overrides,
) -> Result<Profile, ScenarioError> {
    let mut p = match (&ov.profile, name) {
        (Some(n), _) => Profile::named(n).map_err(|e| sc.err(0..0, e.to_string()))?,
        (None, Some(n)) => {
            Profile::named(n.get_ref()).map_err(|e| sc.err(n.span(), e.to_string()))?
        }
        (None, None) => Profile::default(),
    };
    for (k, v) in set {
        p.set(k, v.get_ref())
            .map_err(|e| sc.err(v.span(), e.to_string()))?;
    }
    for (k, v) in &ov.knobs {
        p.set(k, v)
            .map_err(|e| sc.err(0..0, format!("--set {k}={v}: {e}")))?;
    }
    Ok(p)
}

/// Builds the world.
pub fn build(sc: &Scenario, ov: &Overrides) -> Result<Built, ScenarioError> {
    let spec = &sc.spec;
    let seed = ov.seed.or(spec.seed).unwrap_or(1);
    let duration = sc.duration(&spec.duration)?;
    let mut world = World::new(seed);

    let mut segs: BTreeMap<String, SegmentId> = BTreeMap::new();
    for s in &spec.segment {
        let delay = match &s.delay {
            Some(d) => sc.duration(d)?,
            None => Duration::from_micros(500),
        };
        if segs.contains_key(s.name.get_ref()) {
            return Err(sc.err(
                s.name.span(),
                format!("duplicate segment `{}`", s.name.get_ref()),
            ));
        }
        let id = world.add_segment(s.name.get_ref(), delay);
        for r in &s.impair {
            let span = r.span();
            let p_ok = |p: f64| (0.0..=1.0).contains(&p);
            let rule = match r.get_ref() {
                ImpairSpec::Loss { p } if p_ok(*p) => Rule::Loss { p: *p },
                ImpairSpec::Duplicate { p } if p_ok(*p) => Rule::Duplicate { p: *p },
                ImpairSpec::Reorder { p, extra } if p_ok(*p) => Rule::Reorder {
                    p: *p,
                    extra: dur(sc, span.clone(), extra)?,
                },
                ImpairSpec::Outage { from, until } => Rule::Outage {
                    from: Instant::ZERO + dur(sc, span.clone(), from)?,
                    until: Instant::ZERO + dur(sc, span.clone(), until)?,
                },
                ImpairSpec::DropNth { n } => Rule::DropNth { n: *n },
                _ => return Err(sc.err(span, "probability `p` must be between 0 and 1")),
            };
            world.add_rule(id, rule);
        }
        segs.insert(s.name.get_ref().clone(), id);
    }
    let seg = |name: &Spanned<String>| -> Result<SegmentId, ScenarioError> {
        segs.get(name.get_ref()).copied().ok_or_else(|| {
            let known: Vec<&str> = segs.keys().map(String::as_str).collect();
            sc.err(
                name.span(),
                format!(
                    "unknown segment `{}` (known: {})",
                    name.get_ref(),
                    known.join(", ")
                ),
            )
        })
    };

    // First pass: every interface address and its MAC, so static ARP entries can name them.
    let mut macs: BTreeMap<Ipv4Addr, EthernetAddress> = BTreeMap::new();
    let mut claim = |sc: &Scenario,
                     span: core::ops::Range<usize>,
                     a: Ipv4Addr,
                     m: EthernetAddress|
     -> Result<(), ScenarioError> {
        if macs.insert(a, m).is_some() {
            return Err(sc.err(span, format!("address {a} used twice")));
        }
        Ok(())
    };
    for (ri, r) in spec.router.iter().enumerate() {
        for (pi, i) in r.interfaces.iter().enumerate() {
            let (a, _) = parse_cidr(sc, &i.addr)?;
            claim(sc, i.addr.span(), a, mac(1, ri, pi))?;
        }
    }
    for (ni, n) in spec.nat.iter().enumerate() {
        for (pi, i) in [&n.inside, &n.outside].into_iter().enumerate() {
            let (a, _) = parse_cidr(sc, &i.addr)?;
            claim(sc, i.addr.span(), a, mac(2, ni, pi))?;
        }
    }
    let mut host_index = 0usize;
    let mut host_plan = Vec::new();
    for h in &spec.host {
        let (base, len) = parse_cidr(sc, &h.addr)?;
        let count = h.count.as_ref().map_or(1, |c| *c.get_ref());
        if count == 0 || count > 10_000 {
            let span = h.count.as_ref().map_or(h.name.span(), |c| c.span());
            return Err(sc.err(span, "count must be between 1 and 10000"));
        }
        for k in 0..count {
            let addr = Ipv4Addr::from(u32::from(base).wrapping_add(k));
            let m = mac(0, 0, host_index);
            claim(sc, h.addr.span(), addr, m)?;
            let name = if count == 1 {
                h.name.get_ref().clone()
            } else {
                format!("{}-{}", h.name.get_ref(), k + 1)
            };
            host_plan.push((h, name, addr, len, m, host_index));
            host_index += 1;
        }
    }

    // Routers and NAT boxes.
    for (ri, r) in spec.router.iter().enumerate() {
        let mut ifaces = Vec::new();
        for (pi, i) in r.interfaces.iter().enumerate() {
            let (a, l) = parse_cidr(sc, &i.addr)?;
            ifaces.push(IfaceConfig {
                mac: mac(1, ri, pi),
                addr: a,
                prefix_len: l,
            });
        }
        let default = match &r.gateway {
            Some(g) => {
                let gw = parse_ip(sc, g)?;
                let port = ifaces
                    .iter()
                    .position(|i| crate::sim::router::same_prefix(i.addr, gw, i.prefix_len))
                    .ok_or_else(|| {
                        sc.err(
                            g.span(),
                            format!("gateway {gw} is on none of the router's interfaces"),
                        )
                    })?;
                Some((port, gw))
            }
            None => None,
        };
        let arp = profile(
            sc,
            r.profile.as_ref(),
            &BTreeMap::new(),
            &Overrides::default(),
        )?
        .arp;
        let id = world.add_node(Box::new(Router::new(
            r.name.get_ref(),
            Forwarder::new(ifaces, default, arp),
        )));
        for (pi, i) in r.interfaces.iter().enumerate() {
            world.attach(id, pi, seg(&i.segment)?);
        }
    }
    for (ni, n) in spec.nat.iter().enumerate() {
        let (ia, il) = parse_cidr(sc, &n.inside.addr)?;
        let (oa, ol) = parse_cidr(sc, &n.outside.addr)?;
        let ifaces = vec![
            IfaceConfig {
                mac: mac(2, ni, 0),
                addr: ia,
                prefix_len: il,
            },
            IfaceConfig {
                mac: mac(2, ni, 1),
                addr: oa,
                prefix_len: ol,
            },
        ];
        let default = match &n.gateway {
            Some(g) => Some((1, parse_ip(sc, g)?)),
            None => None,
        };
        let cfg = NatConfig {
            inside_port: 0,
            outside_port: 1,
            idle_timeout: sc.duration(&n.idle_timeout)?,
            rst_on_expiry: n.rst_on_expiry,
            first_port: 50_000,
        };
        let mut fwd = Forwarder::new(ifaces, default, stack::policy::ArpPolicy::default());
        add_routes(sc, &mut fwd, &n.routes)?;
        let id = world.add_node(Box::new(Nat::new(n.name.get_ref(), fwd, cfg)));
        world.attach(id, 0, seg(&n.inside.segment)?);
        world.attach(id, 1, seg(&n.outside.segment)?);
    }

    // Hosts. Equal profiles are shared: a world of many alike hosts keeps one copy.
    let mut hosts = BTreeMap::new();
    let mut profiles: Vec<std::sync::Arc<Profile>> = Vec::new();
    // The replicas of one host spec (`count`) come one after another: they share the client
    // configuration made for the first.
    let mut last_client: Option<std::sync::Arc<ClientConfig>> = None;
    for (h, name, addr, prefix_len, m, idx) in host_plan {
        let prof = profile(sc, h.profile.as_ref(), &h.set, ov)?;
        let prof = match profiles.iter().find(|p| ***p == prof) {
            Some(p) => p.clone(),
            None => {
                profiles.push(prof.into());
                profiles[profiles.len() - 1].clone()
            }
        };
        let gateway = match &h.gateway {
            Some(g) => Some(parse_ip(sc, g)?),
            None => None,
        };
        let mut statics = Vec::new();
        for s in &h.static_arp {
            let ip = parse_ip(sc, s)?;
            let m = macs
                .get(&ip)
                .copied()
                .ok_or_else(|| sc.err(s.span(), format!("no interface has address {ip}")))?;
            statics.push((ip, m));
        }
        let params = StackConfig {
            mac: m,
            addr,
            prefix_len,
            gateway,
            profile: prof,
            seed: seed.wrapping_mul(1_000_003).wrapping_add(idx as u64),
            static_arp: statics,
        };
        let kind = h.stack.as_ref();
        let stack_name = kind.map_or(ov.stack.as_deref().unwrap_or("reference"), |k| {
            k.get_ref().as_str()
        });
        let dut: Box<dyn Dut> = stacks::make(stack_name, &params).map_err(|e| {
            let mut err = sc.err(kind.map_or(h.name.span(), |k| k.span()), e.to_string());
            err.not_run = match e {
                crate::dut::RegistryError::Refused(_) => Some(super::NotRun::Unsupported),
                crate::dut::RegistryError::Unavailable { .. } => Some(super::NotRun::Unavailable),
                _ => None,
            };
            err
        })?;
        let mut node = HostNode::with_events(&name, addr, dut, !ov.hide_events);
        for a in &h.app {
            node.add_app(make_app(sc, a, &mut last_client)?);
        }
        let id = world.add_node(Box::new(node));
        world.attach(id, 0, seg(&h.segment)?);
        if hosts.insert(name.clone(), id).is_some() {
            return Err(sc.err(h.name.span(), format!("duplicate host `{name}`")));
        }
    }

    // Scheduled events.
    let mut actions = Vec::new();
    for e in &spec.event {
        let at = Instant::ZERO + sc.duration(&e.at)?;
        let host_of = |n: &Spanned<String>| -> Result<Vec<NodeId>, ScenarioError> {
            // `name` matches one host, or every replica `name-k`.
            let ids: Vec<NodeId> = hosts
                .iter()
                .filter(|(k, _)| {
                    *k == n.get_ref()
                        || k.strip_prefix(&format!("{}-", n.get_ref()))
                            .is_some_and(|r| r.parse::<u32>().is_ok())
                })
                .map(|(_, v)| *v)
                .collect();
            if ids.is_empty() {
                let names = hosts.keys().map(|k| k.as_str());
                return Err(sc.err(
                    n.span(),
                    format!(
                        "unknown host `{}`{}",
                        n.get_ref(),
                        stack::suggest::did_you_mean(n.get_ref(), names)
                    ),
                ));
            }
            Ok(ids)
        };
        let targets = host_of(&e.host)?;
        let apply: Box<dyn Fn(&mut World)> = match e.action.get_ref().as_str() {
            "crash" | "reboot" => {
                let reboot = e.action.get_ref() == "reboot";
                Box::new(move |w: &mut World| {
                    for &t in &targets {
                        let now = w.now();
                        if let Some(h) = w.node_as::<HostNode>(t) {
                            h.go_down(now, reboot, t);
                            if reboot {
                                h.come_up(now, t);
                            }
                        }
                    }
                })
            }
            "up" => Box::new(move |w: &mut World| {
                for &t in &targets {
                    let now = w.now();
                    if let Some(h) = w.node_as::<HostNode>(t) {
                        h.come_up(now, t);
                    }
                }
            }),
            "expire-arp" => {
                let a = e.addr.as_ref().ok_or_else(|| sc.err(e.action.span(), "expire-arp needs `addr`"))?;
                let ip = parse_ip(sc, a)?;
                Box::new(move |w: &mut World| {
                    for &t in &targets {
                        let now = w.now();
                        if let Some(h) = w.node_as::<HostNode>(t) {
                            h.dut.expire_neighbor(now, ip);
                        }
                    }
                })
            }
            "replay-old-segment" => {
                let from = e.from.as_ref().ok_or_else(|| sc.err(e.action.span(), "replay-old-segment needs `from`"))?;
                let senders = host_of(from)?;
                Box::new(move |w: &mut World| {
                    for &to in &targets {
                        for &from in &senders {
                            replay_old_segment(w, from, to);
                        }
                    }
                })
            }
            other => {
                return Err(sc.err(
                    e.action.span(),
                    format!("unknown action `{other}` (one of: crash, reboot, up, expire-arp, replay-old-segment)"),
                ))
            }
        };
        actions.push(Action { at, apply });
    }

    world.shrink_to_fit();
    Ok(Built {
        world,
        duration,
        actions,
        hosts,
    })
}

/// Re-sends the first data segment `from` ever delivered to `to`: an old duplicate that the
/// network held back (RFC 1337's hazard).
fn replay_old_segment(w: &mut World, from: NodeId, to: NodeId) {
    let trace = w.trace();
    let (Some(fa), Some(ta)) = (
        trace
            .meta
            .node_addrs
            .get(from.0)
            .and_then(|v| v.first().copied()),
        trace
            .meta
            .node_addrs
            .get(to.0)
            .and_then(|v| v.first().copied()),
    ) else {
        return;
    };
    let old = trace.events.iter().find_map(|e| match &e.kind {
        TraceKind::Frame(f) if f.fate == Fate::Delivered => {
            match wire::parse_frame(&f.bytes, ChecksumMode::Ignore) {
                Ok(wire::Frame::Tcp { ip, tcp, .. })
                    if ip.src_addr == fa && ip.dst_addr == ta && !tcp.payload.is_empty() =>
                {
                    Some(f.clone())
                }
                _ => None,
            }
        }
        _ => None,
    });
    if let Some(f) = old {
        let note = format!("replayed frame {} as an old duplicate", f.number);
        w.log(TraceKind::Injected { node: f.from, note });
        let _ = w.replay(&f);
    }
}

/// The application `a` describes. A client whose configuration equals `last_client`'s shares
/// it (and becomes the new `last_client`).
fn make_app(
    sc: &Scenario,
    a: &Spanned<AppSpec>,
    last_client: &mut Option<std::sync::Arc<ClientConfig>>,
) -> Result<Box<dyn crate::sim::app::App>, ScenarioError> {
    let span = a.span();
    let d = |s: &str| dur(sc, span.clone(), s);
    let od = |s: &Option<String>| -> Result<Option<Duration>, ScenarioError> {
        s.as_deref().map(|x| dur(sc, span.clone(), x)).transpose()
    };
    Ok(match a.get_ref() {
        AppSpec::Server {
            port,
            keep_alive,
            idle_timeout,
            tick,
            close_by,
            heartbeat_interval,
            heartbeat_count,
            keepalive: ka,
        } => {
            let close_by = match close_by.as_deref() {
                None | Some("rst") => CloseBy::Rst,
                Some("fin") => CloseBy::Fin,
                Some(o) => return Err(sc.err(span, format!("close_by `{o}`: want `rst` or `fin`"))),
            };
            let heartbeat = match (heartbeat_interval, heartbeat_count) {
                (Some(i), Some(c)) => Some((d(i)?, *c)),
                (None, None) => None,
                _ => {
                    return Err(sc.err(
                        span,
                        "heartbeat needs both heartbeat_interval and heartbeat_count",
                    ))
                }
            };
            Box::new(Server::new(ServerConfig {
                port: *port,
                keep_alive: *keep_alive,
                idle_timeout: od(idle_timeout)?,
                tick: od(tick)?.unwrap_or(Duration::from_secs(5)),
                close_by,
                heartbeat,
                keepalive: keepalive(sc, span.clone(), ka)?,
            }))
        }
        AppSpec::Client {
            server,
            requests,
            keep_alive,
            close_before_idle,
            linger_zero,
            idle_timeout,
            request_timeout,
            sticky_pool,
            keepalive: ka,
        } => {
            let server: SocketAddrV4 = server.parse().map_err(|_| {
                sc.err(
                    span.clone(),
                    format!("bad server `{server}`: want a.b.c.d:port"),
                )
            })?;
            let mut schedule = Vec::new();
            for r in requests {
                schedule.push(Instant::ZERO + d(r)?);
            }
            if schedule.windows(2).any(|w| w[0] > w[1]) {
                return Err(sc.err(span, "requests must be in time order"));
            }
            schedule.shrink_to_fit();
            let cfg = ClientConfig {
                server,
                schedule,
                keep_alive: *keep_alive,
                close_before_idle: od(close_before_idle)?,
                linger_zero: *linger_zero,
                idle_timeout: od(idle_timeout)?,
                request_timeout: od(request_timeout)?.unwrap_or(Duration::from_secs(30)),
                sticky_pool: *sticky_pool,
                keepalive: keepalive(sc, span.clone(), ka)?,
            };
            let cfg = match last_client.take() {
                Some(last) if *last == cfg => last,
                _ => std::sync::Arc::new(cfg),
            };
            *last_client = Some(cfg.clone());
            Box::new(Client::new(cfg))
        }
    })
}
