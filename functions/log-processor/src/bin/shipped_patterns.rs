//! The shipped patterns compiled and run as the Lambda binary runs them: in a build without case folding.
//!
//! The function links regex without its case-folding table and compiles each shipped pattern
//! from the form the build script spelled out (`build/patterns.rs`). The workspace's tests cannot
//! show that this works: other crates give regex the table there. Built alone, as
//! `scripts/test.sh` builds it, this binary refuses to run if the table is linked, then compiles
//! every shipped pattern and runs the redaction corpus.

use std::process::ExitCode;

use log_processor::redact::Redactor;

include!("../../tests/corpus/redaction.rs");

const BUILD_ALONE: &str =
    "cargo run -p log-processor --no-default-features --features shipped-patterns --bin shipped-patterns";

fn main() -> ExitCode {
    if regex_syntax::parse("(?i)k").is_ok() {
        eprintln!(
            "shipped-patterns: this build links regex's case-folding table, as the function does not; run `{BUILD_ALONE}`"
        );
        return ExitCode::from(2);
    }
    let compiled = match log_processor::compiled::compile_shipped_patterns() {
        Ok(n) => n,
        Err(e) => return fail(&e),
    };
    let redactor = match Redactor::with_default_rules() {
        Ok(redactor) => redactor,
        Err(e) => return fail(&e),
    };
    let mut problems = Vec::new();
    for (rule, line) in SECRETS {
        let mut counts = redactor.new_counts();
        let out = redactor.redact(line, &mut counts);
        if let Some(secret) = SECRET_VALUES.iter().find(|secret| out.contains(*secret)) {
            problems.push(format!("{rule}: `{secret}` survived in {out:?}"));
        }
    }
    for line in LOOK_ALIKES {
        let mut counts = redactor.new_counts();
        let out = redactor.redact(line, &mut counts);
        if out != *line {
            problems.push(format!("look-alike changed: {line:?} -> {out:?}"));
        }
    }
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("shipped-patterns: {problem}");
        }
        return ExitCode::FAILURE;
    }
    println!(
        "shipped-patterns: {compiled} patterns compiled without case folding; {} secrets redacted, {} look-alikes kept",
        SECRETS.len(),
        LOOK_ALIKES.len()
    );
    ExitCode::SUCCESS
}

fn fail(error: &dyn std::error::Error) -> ExitCode {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    eprintln!("shipped-patterns: {message}");
    ExitCode::FAILURE
}
