//! The one place that writes to stdout and stderr.

use serde::Serialize;

/// Text or JSON output.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    json: bool,
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }

    /// True when the user asked for JSON (progress bars stay off then).
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// Prints a result: `value` as JSON, or the text from `human`.
    pub(crate) fn result<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value).expect("serializable"));
        } else {
            println!("{}", human());
        }
    }

    /// A line of narration (text mode only, on stderr so stdout stays clean).
    pub(crate) fn note(&self, line: impl AsRef<str>) {
        if !self.json {
            eprintln!("{}", line.as_ref());
        }
    }

    /// Reports a failure with its chain of causes.
    pub(crate) fn error(&self, err: &anyhow::Error) {
        if self.json {
            let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
            eprintln!("{}", serde_json::json!({ "error": chain }));
        } else {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
        }
    }
}
