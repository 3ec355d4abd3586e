//! Stacks under test, by name: the registry of [`crate::dut`] adapters the harness builds every
//! stack through. Third-party stacks plug in by implementing [`crate::dut::Adapter`] and
//! registering it here.

use crate::dut::{Dut, Registry, RegistryError, StackConfig};
use std::sync::OnceLock;

/// Every adapter the harness knows: the built-in ones of the `dut` crate.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::builtin)
}

/// Builds the stack called `kind` for `config`.
pub fn make(kind: &str, config: &StackConfig) -> Result<Box<dyn Dut>, RegistryError> {
    registry().build(kind, config)
}
