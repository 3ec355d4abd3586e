//! Stack-neutral configuration. Behaviour is asked for in the shared knob vocabulary of
//! [`stack::policy::Profile`]; the RFC 9293 profile is the neutral baseline, and every knob
//! whose value differs from it counts as *requested*. An adapter maps the requested knobs it
//! can honour and refuses the rest by name, with the reason — it never emulates a behaviour its
//! stack lacks.

use crate::caps::{Capabilities, KnobSupport};
use core::net::Ipv4Addr;
use stack::policy::{Knob, Profile};
use stack::wire::EthernetAddress;
use std::cell::RefCell;
use std::sync::Arc;

/// How to build one stack under test on one Ethernet segment.
#[derive(Clone, Debug, PartialEq)]
pub struct StackConfig {
    pub mac: EthernetAddress,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
    /// The behaviour asked for, every knob valued. Shared: the hosts of a simulation built
    /// from one profile hold one copy (a `Profile` converts with `.into()`).
    pub profile: std::sync::Arc<Profile>,
    /// Seeds whatever randomness the stack has (ISNs, ephemeral ports).
    pub seed: u64,
    /// Neighbour entries to install before the run (needs `neighbor_control`).
    pub static_arp: Vec<(Ipv4Addr, EthernetAddress)>,
}

/// Why an adapter will not build a configuration, by knob or capability name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// "smoltcp cannot set tcp.time_wait_rst=ignore: its TIME-WAIT always closes on RST".
    #[error("{stack} cannot set {knob}={value}: {reason}")]
    Knob {
        stack: &'static str,
        knob: &'static str,
        value: String,
        reason: String,
    },
    /// A capability the configuration needs is missing.
    #[error("{stack} cannot {what}: {reason}")]
    Capability {
        stack: &'static str,
        what: String,
        reason: String,
    },
    /// The stack itself rejected the configuration (bad address, MAC, prefix).
    #[error("{stack}: {reason}")]
    Invalid { stack: &'static str, reason: String },
}

impl StackConfig {
    /// The knobs whose value differs from the RFC 9293 baseline, in the profile's knob order.
    ///
    /// The hosts of a simulation share one profile (`Arc`): the answer for the last profile
    /// asked about is kept (per thread), so building 100,000 hosts formats the knobs once,
    /// not 200,000 times.
    pub fn requested(&self) -> Vec<Knob> {
        thread_local! {
            static LAST: RefCell<Option<(Arc<Profile>, Vec<Knob>)>> = const { RefCell::new(None) };
        }
        LAST.with_borrow_mut(|last| match last {
            // Same allocation, held alive by the memo: the same profile (it is immutable
            // behind the `Arc`).
            Some((p, knobs)) if Arc::ptr_eq(p, &self.profile) => knobs.clone(),
            _ => {
                let knobs = self.differing_knobs();
                *last = Some((self.profile.clone(), knobs.clone()));
                knobs
            }
        })
    }

    fn differing_knobs(&self) -> Vec<Knob> {
        let base = Profile::rfc9293().knobs();
        self.profile
            .knobs()
            .into_iter()
            .zip(base)
            .filter(|(k, b)| k.value != b.value)
            .map(|(k, _)| k)
            .collect()
    }

    /// Checks every requested knob against `caps`: `Ok` with the knobs the adapter must map
    /// (those it honours), or the first refusal.
    pub fn check(&self, stack: &'static str, caps: &Capabilities) -> Result<Vec<Knob>, Refusal> {
        let mut honoured = Vec::new();
        for k in self.requested() {
            match caps.knob(k.name) {
                KnobSupport::Honoured => honoured.push(k),
                KnobSupport::Fixed { value, .. } if value == k.value => {}
                KnobSupport::Fixed { reason, .. } | KnobSupport::Unmapped { reason } => {
                    return Err(Refusal::Knob {
                        stack,
                        knob: k.name,
                        value: k.value,
                        reason: reason.to_string(),
                    })
                }
            }
        }
        if !self.static_arp.is_empty() && !caps.neighbor_control {
            return Err(Refusal::Capability {
                stack,
                what: "install static neighbour entries".into(),
                reason: "it offers no neighbour-cache control".into(),
            });
        }
        Ok(honoured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::TimeModel;

    fn cfg(profile: Profile) -> StackConfig {
        StackConfig {
            mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
            addr: Ipv4Addr::new(192, 0, 2, 1),
            prefix_len: 24,
            gateway: None,
            profile: profile.into(),
            seed: 1,
            static_arp: Vec::new(),
        }
    }

    const CAPS: Capabilities = Capabilities {
        time: TimeModel::Virtual,
        events: false,
        state: true,
        reboot: true,
        neighbor_control: false,
        knobs: &[
            (
                "tcp.time_wait_rst",
                KnobSupport::Fixed {
                    value: "close",
                    reason: "its TIME-WAIT always closes on RST",
                },
            ),
            ("tcp.nagle", KnobSupport::Honoured),
        ],
        all_knobs: false,
        raw_sysctls: false,
    };

    #[test]
    fn baseline_requests_nothing() {
        assert!(cfg(Profile::rfc9293()).requested().is_empty());
        assert_eq!(cfg(Profile::rfc9293()).check("x", &CAPS), Ok(Vec::new()));
    }

    #[test]
    fn fixed_knob_at_its_value_is_accepted_and_refused_otherwise_by_name() {
        let mut p = Profile::rfc9293();
        p.set("tcp.time_wait_rst", "close").unwrap();
        assert_eq!(cfg(p.clone()).check("x", &CAPS), Ok(Vec::new()));
        p.set("tcp.time_wait_rst", "ignore").unwrap();
        let e = cfg(p).check("smoltcp", &CAPS).unwrap_err();
        assert_eq!(
            e.to_string(),
            "smoltcp cannot set tcp.time_wait_rst=ignore: its TIME-WAIT always closes on RST"
        );
    }

    #[test]
    fn honoured_knobs_are_handed_to_the_adapter_and_unlisted_ones_refused() {
        let mut p = Profile::rfc9293();
        let nagle = if p.get("tcp.nagle").unwrap() == "on" {
            "off"
        } else {
            "on"
        };
        p.set("tcp.nagle", nagle).unwrap();
        let ok = cfg(p.clone()).check("x", &CAPS).unwrap();
        assert_eq!(ok.iter().map(|k| k.name).collect::<Vec<_>>(), ["tcp.nagle"]);
        p.set("arp.queue_depth", "7").unwrap();
        let e = cfg(p).check("x", &CAPS).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("x cannot set arp.queue_depth=7: "),
            "{e}"
        );
    }

    #[test]
    fn static_neighbours_need_neighbour_control() {
        let mut c = cfg(Profile::rfc9293());
        c.static_arp.push((
            Ipv4Addr::new(192, 0, 2, 2),
            EthernetAddress([2, 0, 0, 0, 0, 2]),
        ));
        let e = c.check("x", &CAPS).unwrap_err();
        assert!(matches!(e, Refusal::Capability { .. }), "{e}");
    }
}
