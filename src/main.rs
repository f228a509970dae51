//! The `noisegate` binary: runs the CLI and maps the outcome to an exit code
//! (0 done, 2 usage, input or I/O error; a closed stdout is a quiet 0).

mod args;
mod choice;
mod cmd;
mod dns;
mod progress;

use std::io;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A merge, a backup or a state file being written is not left behind as a temporary.
    noisegate_engine::clean_up_on_signals();
    match cmd::run() {
        Ok(code) => code,
        Err(e) => {
            let broken_pipe = e
                .chain()
                .filter_map(|c| c.downcast_ref::<io::Error>())
                .any(|io| io.kind() == io::ErrorKind::BrokenPipe);
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!(
                "noisegate: {}",
                noisegate_engine::terminal_text(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}
