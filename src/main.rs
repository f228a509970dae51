//! The `noisegate` binary: runs the CLI and maps the outcome to an exit code
//! (0 done, 2 usage, input or I/O error; a closed stdout is a quiet 0).

mod args;
mod choice;
mod cmd;
mod progress;

use std::io;
use std::process::ExitCode;

fn main() -> ExitCode {
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
            eprintln!("noisegate: {e:#}");
            ExitCode::from(2)
        }
    }
}
