//! `passo graph DEFINITION [--format mermaid|dot|svg]`: the definition drawn as the console
//! draws it (the same layout and SVG, or the same nodes and edges as Mermaid or Graphviz
//! text), for docs and code review.

use passo_server::console::{dot, graph::Graph, mermaid, svg};
use std::process::ExitCode;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// A Mermaid flowchart (renders in GitHub and GitLab Markdown).
    Mermaid,
    /// Graphviz DOT (`dot -Tpng`).
    Dot,
    /// A standalone SVG image, laid out as in the console.
    Svg,
}

#[derive(clap::Args)]
pub struct Args {
    /// The definition file (JSON or YAML).
    definition: std::path::PathBuf,
    #[arg(long, value_enum, default_value = "mermaid")]
    format: Format,
}

pub fn main(a: Args) -> ExitCode {
    let text = match std::fs::read_to_string(&a.definition) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: cannot read: {e}", a.definition.display());
            return ExitCode::from(2);
        }
    };
    let machine = match passo_asl::parse_text(&text)
        .map_err(|d| vec![d])
        .and_then(|v| passo_asl::parse(&v))
    {
        Ok(m) => m,
        Err(diags) => {
            eprintln!(
                "{}: {}",
                a.definition.display(),
                passo_asl::invalid_definition_message(&diags)
            );
            return ExitCode::from(1);
        }
    };
    let g = Graph::of(&machine);
    let out = match a.format {
        Format::Mermaid => mermaid::render(&g),
        Format::Dot => dot::render(&g),
        Format::Svg => svg::render(&g, true) + "\n",
    };
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    ExitCode::SUCCESS
}
