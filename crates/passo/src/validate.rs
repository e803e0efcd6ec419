//! `passo validate FILE...`: every problem of every definition, with code and location.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Definition files (JSON or YAML).
    #[arg(required = true)]
    files: Vec<std::path::PathBuf>,
    /// Print the result as JSON (ValidateStateMachineDefinition's shape).
    #[arg(long)]
    json: bool,
}

pub fn main(args: Args) -> ExitCode {
    let mut worst = 0u8;
    for file in &args.files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{}: cannot read: {e}", file.display());
                worst = 2;
                continue;
            }
        };
        let diags = match passo_asl::parse_text(&text) {
            Ok(v) => passo_asl::validate(&v),
            Err(d) => vec![d],
        };
        if args.json {
            let list: Vec<serde_json::Value> = diags
                .iter()
                .map(|d| serde_json::json!({"severity": "ERROR", "code": d.code.as_str(), "location": d.location, "message": d.message}))
                .collect();
            let result = if diags.is_empty() { "OK" } else { "FAIL" };
            outln!(
                "{}",
                serde_json::json!({"file": file.display().to_string(), "result": result, "diagnostics": list})
            );
        } else if diags.is_empty() {
            outln!("{}: valid", file.display());
        } else {
            outln!(
                "{}: {} problem{}",
                file.display(),
                diags.len(),
                if diags.len() == 1 { "" } else { "s" }
            );
            for d in &diags {
                let at = if d.location.is_empty() {
                    "/"
                } else {
                    d.location.as_str()
                };
                outln!("  {} at {}: {}", d.code.as_str(), at, d.message);
            }
        }
        if !diags.is_empty() {
            worst = worst.max(1);
        }
    }
    ExitCode::from(worst)
}
