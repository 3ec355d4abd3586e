//! What an adapter declares about its stack before it is built: how it keeps time, what it can
//! show (events, connection state) and do (reboot, neighbour-cache control), and, knob by knob,
//! whether it honours the shared configuration vocabulary.

use core::fmt;

/// How a stack experiences time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeModel {
    /// Time is an argument (`now`): runs are deterministic and hours pass in milliseconds.
    Virtual,
    /// The stack runs on the wall clock (a live kernel): the driver must wait for real time.
    Real,
}

impl fmt::Display for TimeModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeModel::Virtual => "virtual",
            TimeModel::Real => "real",
        })
    }
}

/// Whether an adapter honours one knob of [`stack::policy::Profile`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KnobSupport {
    /// The adapter maps the knob onto a setting of its stack, any value.
    Honoured,
    /// The stack's behaviour is fixed at `value` (in the knob's own syntax); asking for that
    /// value is accepted, any other is refused with `reason`.
    Fixed {
        value: &'static str,
        reason: &'static str,
    },
    /// The stack has no equivalent setting and its behaviour cannot be stated as one value;
    /// asking for anything but the RFC 9293 baseline is refused with `reason`.
    Unmapped { reason: &'static str },
}

/// What an adapter can show and do. Oracles and drivers read this instead of guessing: where a
/// capability is missing, the report says "cannot judge", never nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    pub time: TimeModel,
    /// [`crate::Dut::take_events`] returns the stack's own event log (causes such as
    /// `arp-queue-overflow`). Optional evidence: verdicts never rest on it alone.
    pub events: bool,
    /// [`crate::Dut::state`] and [`crate::Dut::connections`] report TCP states.
    pub state: bool,
    /// [`crate::Dut::reboot`] loses all connection state the way a crash does.
    pub reboot: bool,
    /// Static neighbour entries ([`crate::StackConfig::static_arp`]) and
    /// [`crate::Dut::expire_neighbor`] work.
    pub neighbor_control: bool,
    /// Per knob of [`stack::policy::Profile`]; a knob not listed is [`KnobSupport::Unmapped`]
    /// with a generic reason, unless `all_knobs` is set.
    pub knobs: &'static [(&'static str, KnobSupport)],
    /// Every knob is honoured (the reference stack).
    pub all_knobs: bool,
    /// [`crate::Dut::set_sysctl`] writes kernel sysctls in the stack's own network namespace
    /// (the live kernel): a script's sysctl lines then go to the stack as written instead of
    /// onto profile knobs.
    pub raw_sysctls: bool,
}

impl Capabilities {
    /// How this adapter treats `knob`.
    pub fn knob(&self, knob: &str) -> KnobSupport {
        if self.all_knobs {
            return KnobSupport::Honoured;
        }
        self.knobs
            .iter()
            .find(|(n, _)| *n == knob)
            .map(|(_, s)| *s)
            .unwrap_or(KnobSupport::Unmapped {
                reason: "the adapter has no mapping for it",
            })
    }
}

/// One line per capability, for `harness stacks`.
impl fmt::Display for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yes = |b: bool| if b { "yes" } else { "no" };
        writeln!(f, "time: {}", self.time)?;
        writeln!(f, "events: {}", yes(self.events))?;
        writeln!(f, "state introspection: {}", yes(self.state))?;
        writeln!(f, "reboot: {}", yes(self.reboot))?;
        writeln!(f, "neighbour-cache control: {}", yes(self.neighbor_control))?;
        writeln!(f, "raw sysctls: {}", yes(self.raw_sysctls))?;
        if self.all_knobs {
            return writeln!(f, "knobs: all");
        }
        for (name, s) in self.knobs {
            match s {
                KnobSupport::Honoured => writeln!(f, "knob {name}: honoured")?,
                KnobSupport::Fixed { value, reason } => {
                    writeln!(f, "knob {name}: fixed at {value} ({reason})")?
                }
                KnobSupport::Unmapped { reason } => writeln!(f, "knob {name}: refused ({reason})")?,
            }
        }
        writeln!(f, "other knobs: refused unless at the RFC 9293 baseline")
    }
}
