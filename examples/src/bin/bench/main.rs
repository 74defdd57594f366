//! `bench`: measures every performance target of proc-manager against the
//! best simple hand-written tokio code doing the same work, in the same run,
//! alternating the two round by round so a noisy machine affects both alike.
//!
//! ```text
//! cargo run --release -p proc-manager-examples --bin bench -- [--quick] [--json FILE] [--only a,b] [--plot FILE.svg]
//! ```
//!
//! The bench is also its own child: started with `PROC_MANAGER_BOOTSTRAP_MODE`
//! set, it runs the behaviour its payload's config selects (`mode.rs`).
//! The memory scenario runs each side in a fresh copy of the bench
//! (`--memory-probe`), so one side's heap cannot hide the other's.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod baseline;
mod child;
mod harness;
mod machine;
mod mode;
mod peer;
mod plot;
mod report;
mod scenarios;

use std::path::PathBuf;
use std::process::ExitCode;

use nix::sys::resource::{Resource, getrlimit, setrlimit};

use crate::harness::{Result, Side};
use crate::machine::{Load, Machine};

/// The command line.
#[derive(Debug, Default)]
struct Args {
    quick: bool,
    json: Option<PathBuf>,
    only: Option<Vec<String>>,
    memory_probe: Option<(Side, usize)>,
    fd_limit_probe: Option<u64>,
    plot: Option<PathBuf>,
    from: Option<PathBuf>,
}

const USAGE: &str = "usage: bench [--quick] [--json FILE] [--only scenario,scenario...] \
                     [--plot FILE.svg [--from BENCH.json]] [--side ours|baseline|peer]";

fn parse_args() -> Result<Args> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => args.quick = true,
            "--side" => {
                let side = it.next().ok_or("--side needs ours, baseline or peer")?;
                harness::only_side(side.parse()?);
            }
            "--json" => args.json = Some(it.next().ok_or("--json needs a file")?.into()),
            "--plot" => args.plot = Some(it.next().ok_or("--plot needs a file")?.into()),
            "--from" => args.from = Some(it.next().ok_or("--from needs a JSON file")?.into()),
            "--only" => {
                let list = it.next().ok_or("--only needs scenario names")?;
                args.only = Some(list.split(',').map(str::to_owned).collect());
            }
            "--memory-probe" => {
                let side = it.next().ok_or("--memory-probe needs a side")?.parse()?;
                let n = it.next().ok_or("--memory-probe needs a count")?.parse()?;
                args.memory_probe = Some((side, n));
            }
            "--fd-limit-probe" => {
                let limit = it.next().ok_or("--fd-limit-probe needs a limit")?.parse()?;
                args.fd_limit_probe = Some(limit);
            }
            "-h" | "--help" => {
                let names: Vec<_> = scenarios::SCENARIOS.iter().map(|s| s.name).collect();
                println!("{USAGE}\nscenarios: {}", names.join(", "));
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    if let Some(only) = &args.only {
        for name in only {
            if scenarios::find(name).is_none() {
                return Err(format!("unknown scenario {name:?}").into());
            }
        }
    }
    if args.from.is_some() && args.plot.is_none() {
        return Err("--from is for --plot".into());
    }
    if args.plot.is_some()
        && args.from.is_none()
        && args
            .only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|n| n == "scale_2000"))
    {
        return Err("--plot draws scale_2000: add it to --only, or use --from BENCH.json".into());
    }
    Ok(args)
}

/// Raises the soft open-files limit to the hard one: a thousand children
/// with pipes and sockets need several thousand fds.
fn raise_nofile() -> Result<u64> {
    let (_soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    Ok(hard)
}

fn main() -> ExitCode {
    if std::env::var_os(proc_manager_bootstrap::protocol::BOOTSTRAP_MODE_ENV).is_some() {
        child::run();
    }
    if let Some(role) = child::Plain::from_args() {
        child::run_plain(role);
    }
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<()> {
    let args = parse_args()?;
    let nofile = raise_nofile()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some((side, n)) = args.memory_probe {
        return runtime.block_on(scenarios::memory::probe(side, n));
    }
    if let Some(limit) = args.fd_limit_probe {
        return runtime.block_on(scenarios::fd_limit::probe(limit));
    }
    if let (Some(svg), Some(json)) = (&args.plot, &args.from) {
        plot::draw(&plot::curve_from_json(json)?, svg)?;
        println!(
            "scale curve of {} drawn to {}",
            json.display(),
            svg.display()
        );
        return Ok(());
    }
    let mut machine = Machine::at_start(args.quick, nofile, scenarios::socket_base());
    println!("{}", machine.header());
    let rows = runtime.block_on(scenarios::run_all(args.quick, args.only.as_deref()))?;
    machine.load_at_end = Some(Load::now());
    println!("\n{}", report::table(&machine, &rows));
    if let Some(path) = &args.json {
        report::write_json(&machine, &rows, path)?;
        println!("JSON written to {}", path.display());
    }
    if let Some(svg) = &args.plot {
        let scale = rows
            .iter()
            .find(|r| r.scenario == "scale_2000")
            .and_then(|r| r.detail.as_ref())
            .ok_or("--plot: this run has no scale_2000 curve")?;
        plot::draw(&plot::curve_of(scale)?, svg)?;
        println!("scale curve drawn to {}", svg.display());
    }
    Ok(())
}
