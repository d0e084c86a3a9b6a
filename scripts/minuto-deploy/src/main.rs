//! `minuto-deploy`: see the crate docs, or `scripts/deploy --help`.

use clap::Parser;
use minuto_deploy::{run, Cli, Config, Mode};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cfg = match Config::from_cli(Cli::parse()) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("minuto-deploy: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    // Ctrl-C drops the run (a build in progress is killed on drop); the record already
    // holds every step that completed, a sent deployment's transaction included.
    let outcome = tokio::select! {
        r = run(&cfg) => r,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("minuto-deploy: interrupted; the record holds every completed step, run again to resume");
            return std::process::ExitCode::from(130);
        }
    };
    match outcome {
        Ok(report) => {
            if !report.gas.is_empty() {
                let label = if cfg.mode == Mode::Apply {
                    "gas used"
                } else {
                    "gas (estimate)"
                };
                println!("\n{:<72} {:>12}", "step", label);
                for (step, gas) in &report.gas {
                    println!("{step:<72} {gas:>12}");
                }
            }
            if !report.admin_calls.is_empty() {
                println!("\nThe admin ({}) must still send:", cfg.admin);
                for a in &report.admin_calls {
                    println!("  {} — to {} data {}", a.what, a.to_label(), a.data);
                }
            }
            if cfg.mode == Mode::Apply && !report.pending.is_empty() {
                eprintln!("\nminuto-deploy: the deployment is not finished (also in the record's `pending`):");
                for p in &report.pending {
                    eprintln!("  - {p}");
                }
                return std::process::ExitCode::from(3);
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("minuto-deploy: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
