//! Standard output of the commands. A reader that goes away early, as in
//! `sharepay reading list | head -3`, ends the output but not the command:
//! the work finishes, temporary files are removed and nothing panics.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once standard output has failed; later lines are dropped.
static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);

/// Prints one line to standard output like `println!`, except that a
/// failed write does not panic.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}

/// Writes `line` and a newline. A closed pipe is the reader's choice and
/// passes silently; any other failure is reported once on standard error.
pub fn write_line(line: std::fmt::Arguments<'_>) {
    if STDOUT_FAILED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(line)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    if let Err(e) = written {
        STDOUT_FAILED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("sharepay: cannot write to standard output ({e}); the command goes on");
        }
    }
}
