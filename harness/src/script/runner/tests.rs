//! Runner tests: tiny scripts against the reference stack.
