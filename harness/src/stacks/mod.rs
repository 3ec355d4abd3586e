//! Stacks under test, by name: the registry of [`crate::dut`] adapters the harness builds every
//! stack through: the built-in ones of the `dut` crate and the live Linux kernel (`linux-dut`). Third-party stacks plug in by implementing [`crate::dut::Adapter`] and
//! registering it here.

pub mod list;

use crate::dut::{Dut, Registry, RegistryError, StackConfig};
use std::sync::OnceLock;

/// Every adapter the harness knows: the built-in ones of the `dut` crate.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r = Registry::builtin();
        // The live kernel (network namespace + TAP); it reports itself unavailable without
        // root or /dev/net/tun. Its name is distinct from the built-in ones.
        let _ = r.register(Box::new(linux_dut::ADAPTER));
        r
    })
}

/// Builds the stack called `kind` for `config`.
pub fn make(kind: &str, config: &StackConfig) -> Result<Box<dyn Dut>, RegistryError> {
    registry().build(kind, config)
}
