//! Stacks under test: the reference stack (in-process). Third-party stacks plug in here by
//! implementing [`crate::dut::Dut`].

pub mod reference;

use crate::dut::Dut;
use core::net::Ipv4Addr;
use stack::policy::Profile;
use stack::wire::EthernetAddress;

/// What every stack needs to join a simulated segment.
#[derive(Clone, Debug)]
pub struct HostParams {
    pub mac: EthernetAddress,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
    pub profile: Profile,
    pub seed: u64,
    pub static_arp: Vec<(Ipv4Addr, EthernetAddress)>,
}

/// The stacks `--stack` accepts.
pub const KINDS: [&str; 1] = ["reference"];

/// Builds a stack under test by name.
pub fn make(kind: &str, p: HostParams) -> Result<Box<dyn Dut>, String> {
    match kind {
        "reference" => Ok(Box::new(reference::ReferenceDut::new(p)?)),
        "smoltcp" | "linux" => Err(format!(
            "stack `{kind}` is not available in this build (available: {})",
            KINDS.join(", ")
        )),
        other => Err(format!(
            "unknown stack `{other}` (available: {})",
            KINDS.join(", ")
        )),
    }
}
