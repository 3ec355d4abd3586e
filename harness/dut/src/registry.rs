//! The adapters by name. The harness builds every stack under test through a [`Registry`], so
//! `--stack NAME` and a scenario host's `stack = "NAME"` reach any adapter registered here,
//! including ones a user adds with [`Registry::register`].

use crate::caps::Capabilities;
use crate::config::{Refusal, StackConfig};
use crate::Dut;

/// A way to build one kind of stack under test.
pub trait Adapter: Send + Sync {
    /// The name `--stack` takes (`reference`, `smoltcp`, `linux`).
    fn name(&self) -> &'static str;
    /// One line for `harness stacks`.
    fn describe(&self) -> &'static str;
    fn capabilities(&self) -> &Capabilities;
    /// `Some(reason)` when this adapter cannot run on this machine at all (no root, no TAP).
    fn unavailable(&self) -> Option<String> {
        None
    }
    /// Builds a stack for `config`, or refuses by knob or capability name.
    fn build(&self, config: &StackConfig) -> Result<Box<dyn Dut>, Refusal>;
}

/// An adapter described by data: its name, one line, its capabilities, whether it can run
/// here and how to build it. Every shipped adapter is one (`reference::ADAPTER`,
/// `smoltcp::ADAPTER`, the live kernel's `linux_dut::ADAPTER`); a stack that needs more
/// implements [`Adapter`] itself.
pub struct AdapterSpec {
    pub name: &'static str,
    pub describe: &'static str,
    pub capabilities: &'static Capabilities,
    /// `Some(reason)` when the stack cannot run on this machine at all.
    pub unavailable: fn() -> Option<String>,
    pub build: fn(&StackConfig) -> Result<Box<dyn Dut>, Refusal>,
}

impl Adapter for AdapterSpec {
    fn name(&self) -> &'static str {
        self.name
    }
    fn describe(&self) -> &'static str {
        self.describe
    }
    fn capabilities(&self) -> &Capabilities {
        self.capabilities
    }
    fn unavailable(&self) -> Option<String> {
        (self.unavailable)()
    }
    fn build(&self, config: &StackConfig) -> Result<Box<dyn Dut>, Refusal> {
        (self.build)(config)
    }
}

/// Why no stack could be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("unknown stack `{name}`{hint} (available: {available})")]
    Unknown {
        name: String,
        /// ` — did you mean `x`?` or empty.
        hint: String,
        available: String,
    },
    #[error("stack `{name}` is not available here: {reason}")]
    Unavailable { name: String, reason: String },
    #[error("a stack named `{0}` is already registered")]
    Duplicate(&'static str),
    #[error(transparent)]
    Refused(#[from] Refusal),
}

/// Adapters, in registration order.
pub struct Registry {
    adapters: Vec<Box<dyn Adapter>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry {
            adapters: Vec::new(),
        }
    }

    /// The adapters this crate ships: `reference` (and the in-process third-party stacks).
    pub fn builtin() -> Registry {
        let mut r = Registry::new();
        for a in crate::builtin_adapters() {
            // Built-in names are distinct by construction.
            let _ = r.register(a);
        }
        r
    }

    /// Adds an adapter; its name must be new.
    pub fn register(&mut self, adapter: Box<dyn Adapter>) -> Result<(), RegistryError> {
        if self.adapters.iter().any(|a| a.name() == adapter.name()) {
            return Err(RegistryError::Duplicate(adapter.name()));
        }
        self.adapters.push(adapter);
        Ok(())
    }

    /// Names of every registered adapter, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.adapters.iter().map(|a| a.name()).collect()
    }

    /// Every registered adapter.
    pub fn adapters(&self) -> impl Iterator<Item = &dyn Adapter> {
        self.adapters.iter().map(|a| a.as_ref())
    }

    /// The adapter called `name`, if it is registered and can run here.
    pub fn get(&self, name: &str) -> Result<&dyn Adapter, RegistryError> {
        let a = self
            .adapters
            .iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| RegistryError::Unknown {
                name: name.to_string(),
                hint: stack::suggest::did_you_mean(name, self.names()),
                available: self.names().join(", "),
            })?;
        if let Some(reason) = a.unavailable() {
            return Err(RegistryError::Unavailable {
                name: name.to_string(),
                reason,
            });
        }
        Ok(a.as_ref())
    }

    /// Builds the stack called `name` for `config`.
    pub fn build(&self, name: &str, config: &StackConfig) -> Result<Box<dyn Dut>, RegistryError> {
        Ok(self.get(name)?.build(config)?)
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_name_lists_the_available_ones() {
        let e = Registry::builtin().get("bsd").err().unwrap();
        assert!(
            matches!(&e, RegistryError::Unknown { name, available, .. }
                if name == "bsd" && available.starts_with("reference")),
            "{e}"
        );
        let e = Registry::builtin().get("smoltkp").err().unwrap();
        assert!(
            e.to_string()
                .starts_with("unknown stack `smoltkp` — did you mean `smoltcp`?"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_names_are_refused() {
        let mut r = Registry::builtin();
        let e = r.register(Box::new(crate::reference::ADAPTER)).unwrap_err();
        assert_eq!(e, RegistryError::Duplicate("reference"));
    }
}
