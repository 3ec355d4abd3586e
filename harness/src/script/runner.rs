//! The script runner: plays the remote peer of a script against one stack under test.

use crate::run::{FileResult, RunError, RunOptions};
use crate::trace::Trace;
use std::path::Path;

pub fn run_script_file(path: &Path, _opts: &RunOptions) -> Result<Vec<FileResult>, RunError> {
    Err(RunError::Input(format!(
        "{}: script runner not built yet",
        path.display()
    )))
}

pub fn trace_of_script(path: &Path, _opts: &RunOptions) -> Result<Trace, RunError> {
    Err(RunError::Input(format!(
        "{}: script runner not built yet",
        path.display()
    )))
}
