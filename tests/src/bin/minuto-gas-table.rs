//! Merges the Markdown gas tables of an uncached and a cached e2e run into issue #17's
//! README table ([`minuto_e2e::merge_gas_tables`]); `scripts/gas` runs both and calls it.
//!
//! Usage: `minuto-gas-table <uncached.md> <cached.md>`; the table goes to stdout.

use std::process::ExitCode;

use anyhow::{Context, Result};

fn run() -> Result<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [uncached, cached] = &args[..] else {
        anyhow::bail!("usage: minuto-gas-table <uncached.md> <cached.md>");
    };
    let read =
        |path: &str| std::fs::read_to_string(path).with_context(|| format!("reading {path}"));
    minuto_e2e::merge_gas_tables(&read(uncached)?, &read(cached)?)
}

fn main() -> ExitCode {
    match run() {
        Ok(table) => {
            print!("{table}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("minuto-gas-table: {e:#}");
            ExitCode::FAILURE
        }
    }
}
