//! `harness stacks`: the registered stacks under test, what each declares it can show and do,
//! and knob by knob whether it honours the shared configuration vocabulary (and, where it
//! does not, why).

use crate::dut::{Adapter, KnobSupport, Registry};
use serde::Serialize;
use stack::policy::Profile;

/// One knob as an adapter treats it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KnobView {
    pub name: &'static str,
    /// `honoured`, `fixed` or `refused`.
    pub support: &'static str,
    /// For `fixed`: the one value the stack has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<&'static str>,
    /// For `fixed` and `refused`: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// What `harness stacks` shows of one adapter.
#[derive(Clone, Debug, Serialize)]
pub struct StackView {
    pub name: &'static str,
    pub description: &'static str,
    /// `None`: it can be built here; else why not (e.g. the live kernel without root).
    pub unavailable: Option<String>,
    /// `virtual` or `real`.
    pub time: String,
    pub events: bool,
    pub state: bool,
    pub reboot: bool,
    pub neighbor_control: bool,
    /// A script's sysctl lines are written in the stack's own namespace (the live kernel).
    pub raw_sysctls: bool,
    /// Every knob of the shared vocabulary, in `harness profiles` order.
    pub knobs: Vec<KnobView>,
}

impl StackView {
    pub fn of(a: &dyn Adapter) -> StackView {
        let c = a.capabilities();
        let knobs = Profile::knob_names()
            .into_iter()
            .map(|name| {
                let (support, value, reason) = match c.knob(name) {
                    KnobSupport::Honoured => ("honoured", None, None),
                    KnobSupport::Fixed { value, reason } => ("fixed", Some(value), Some(reason)),
                    KnobSupport::Unmapped { reason } => ("refused", None, Some(reason)),
                };
                KnobView {
                    name,
                    support,
                    value,
                    reason,
                }
            })
            .collect();
        StackView {
            name: a.name(),
            description: a.describe(),
            unavailable: a.unavailable(),
            time: c.time.to_string(),
            events: c.events,
            state: c.state,
            reboot: c.reboot,
            neighbor_control: c.neighbor_control,
            raw_sysctls: c.raw_sysctls,
            knobs,
        }
    }

    /// For people: the capabilities on one line each, then the knobs grouped by support.
    pub fn text(&self) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let mut s = format!("{}: {}\n", self.name, self.description);
        match &self.unavailable {
            None => s.push_str("  available:               yes\n"),
            Some(why) => s.push_str(&format!("  available:               no ({why})\n")),
        }
        s.push_str(&format!("  time:                    {}\n", self.time));
        s.push_str(&format!(
            "  events:                  {}\n",
            yes(self.events)
        ));
        s.push_str(&format!("  state introspection:     {}\n", yes(self.state)));
        s.push_str(&format!(
            "  reboot:                  {}\n",
            yes(self.reboot)
        ));
        s.push_str(&format!(
            "  neighbour-cache control: {}\n",
            yes(self.neighbor_control)
        ));
        s.push_str(&format!(
            "  raw sysctls:             {}\n",
            yes(self.raw_sysctls)
        ));
        let of = |support: &'static str| self.knobs.iter().filter(move |k| k.support == support);
        let honoured: Vec<&str> = of("honoured").map(|k| k.name).collect();
        if honoured.len() == self.knobs.len() {
            s.push_str("  knobs honoured:          all\n");
            return s;
        }
        s.push_str(&format!(
            "  knobs honoured:          {}\n",
            if honoured.is_empty() {
                "none".to_string()
            } else {
                honoured.join(", ")
            }
        ));
        for k in of("fixed") {
            s.push_str(&format!(
                "  fixed   {} = {}: {}\n",
                k.name,
                k.value.unwrap_or("?"),
                k.reason.unwrap_or("")
            ));
        }
        for k in of("refused") {
            s.push_str(&format!(
                "  refused {}: {}\n",
                k.name,
                k.reason.unwrap_or("")
            ));
        }
        s
    }
}

/// Every adapter of `registry` (or only `name`), in registration order. An unknown name is
/// the registry's typed error, listing the known ones.
pub fn views(registry: &Registry, name: Option<&str>) -> Result<Vec<StackView>, String> {
    match name {
        Some(n) => Ok(vec![StackView::of(
            registry.get(n).map_err(|e| e.to_string())?,
        )]),
        None => Ok(registry.adapters().map(StackView::of).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoltcp_honours_fixes_and_refuses_knobs_with_reasons() {
        let v = views(crate::stacks::registry(), Some("smoltcp")).unwrap();
        let s = &v[0];
        assert_eq!(
            (s.time.as_str(), s.events, s.state),
            ("virtual", false, true)
        );
        let knob = |n: &str| s.knobs.iter().find(|k| k.name == n).unwrap().clone();
        assert_eq!(knob("tcp.nagle").support, "honoured");
        let msl = knob("tcp.msl");
        assert_eq!((msl.support, msl.value), ("fixed", Some("5s")));
        let tw = knob("tcp.time_wait_rst");
        assert!(tw.reason.unwrap().contains("always closes"), "{tw:?}");
        assert_eq!(knob("arp.queue_depth").support, "refused");
        // Every knob of the vocabulary is accounted for, none twice.
        assert_eq!(s.knobs.len(), Profile::knob_names().len());
        let text = s.text();
        assert!(
            text.contains("fixed   tcp.msl = 5s: TIME-WAIT lasts"),
            "{text}"
        );
        assert!(
            text.contains("refused arp.queue_depth: smoltcp holds no packet"),
            "{text}"
        );
    }

    #[test]
    fn the_reference_honours_every_knob() {
        let v = views(crate::stacks::registry(), Some("reference")).unwrap();
        assert!(v[0].knobs.iter().all(|k| k.support == "honoured"));
        assert!(v[0].text().contains("knobs honoured:          all"));
    }

    #[test]
    fn an_unknown_stack_names_the_known_ones() {
        let e = views(crate::stacks::registry(), Some("lwip")).unwrap_err();
        assert!(e.contains("smoltcp") && e.contains("reference"), "{e}");
    }
}
