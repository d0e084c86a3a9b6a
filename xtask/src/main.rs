//! Project tasks for Minuto, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! - `wasm`: build each Stylus contract to WASM on its own, rewrite it the way
//!   `cargo stylus` does (through the text format), check its entrypoint and imports,
//!   compress it with brotli, write the code the chain stores (`<crate>.code`: the
//!   `EFF00000` prefix and the brotli stream, what `minuto-deploy` deploys byte for byte)
//!   and gate that file's size on each contract's budget (never above the 24 KiB limit).
//! - `abi`: export each contract's Solidity interface, complete it with the fragments
//!   marked in its source, and write (or, with `--check`, compare) `abi/<Interface>.sol`.
//! - `clippy`: the per-contract lints the workspace-wide clippy cannot do (wasm32 library,
//!   `export-abi` binary).

use std::{
    collections::BTreeSet,
    fmt::Write as _,
    fs,
    io::Write as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{anyhow, bail, ensure, Context, Result};
use clap::{Parser, Subcommand};
use serde_json::Value;

/// Contract crates, in the order they are reported.
const CONTRACTS: &[&str] = &[
    "minuto-escrow",
    "minuto-credentials",
    "minuto-badges",
    "minuto-ratings",
    "minuto-vetting",
    "minuto-booking",
];

/// Largest deployable program: 24 KiB of brotli-compressed WASM (EIP-170 size), counted
/// as the chain stores it.
const MAX_BROTLI_BYTES: usize = 24_576;
/// The Stylus code prefix: `EFF000` marks a Stylus program, the fourth byte says the
/// brotli stream uses no dictionary.
const STYLUS_PREFIX: [u8; 4] = [0xEF, 0xF0, 0x00, 0x00];
/// What a developer's `cargo stylus deploy` of one contract stores beyond the `.code`
/// file measured here: its project-hash metadata section, compressed with the module (up
/// to 90 bytes, measured with cargo-stylus 0.10.10 on all four contracts; 128 leaves a
/// margin). `minuto-deploy` deploys the `.code` file itself, without it.
const STORED_OVERHEAD: usize = 128;
/// Each contract's budget for its stored size (`.code` + [`STORED_OVERHEAD`]), below the
/// chain's limit so that features still fit later; 18,432 for the escrow, the target the
/// contracts issue (#11) set (see README, WASM size).
const BUDGETS: &[(&str, usize)] = &[
    ("minuto-escrow", 18_432),
    ("minuto-credentials", 20_480),
    ("minuto-badges", 20_480),
    ("minuto-ratings", 20_480),
    ("minuto-vetting", 20_480),
    ("minuto-booking", 20_480),
];

/// The stored-size budget of `name`: its entry in [`BUDGETS`], or the chain's limit.
fn budget(name: &str) -> usize {
    BUDGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(MAX_BROTLI_BYTES, |(_, b)| (*b).min(MAX_BROTLI_BYTES))
}
/// Compression settings cargo-stylus uses.
const BROTLI_QUALITY: u32 = 11;
const BROTLI_LGWIN: u32 = 22;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The function Stylus calls for every transaction.
const ENTRYPOINT: &str = "user_entrypoint";
/// The only import module a deployable Stylus program may use.
const HOST_MODULE: &str = "vm_hooks";

const ABI_BEGIN: &str = "// abi:begin";
const ABI_END: &str = "// abi:end";

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Minuto project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build contracts to Stylus-ready WASM, report sizes, fail over each budget (as stored).
    Wasm {
        /// Only this contract crate (repeatable). Default: all contracts.
        #[arg(long = "crate", value_name = "NAME")]
        crates: Vec<String>,
        /// Where the modules, their `.code` files and sizes.md go. Default:
        /// `<target>/minuto-wasm`.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Export Solidity interfaces to abi/ (with --check: compare, write nothing).
    Abi {
        /// Fail if abi/ differs from what the contracts export.
        #[arg(long)]
        check: bool,
        /// Only this contract crate (repeatable). Default: all contracts.
        #[arg(long = "crate", value_name = "NAME")]
        crates: Vec<String>,
    },
    /// Clippy (-D warnings) for each contract's wasm32 library and export-abi binary.
    Clippy {
        /// Only this contract crate (repeatable). Default: all contracts.
        #[arg(long = "crate", value_name = "NAME")]
        crates: Vec<String>,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = Workspace::load().and_then(|ws| match cli.task {
        Task::Wasm { crates, out_dir } => wasm(&ws, &crates, out_dir),
        Task::Abi { check, crates } => abi(&ws, check, &crates),
        Task::Clippy { crates } => clippy(&ws, &crates),
    });
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------
// Workspace metadata

struct Workspace {
    root: PathBuf,
    target_dir: PathBuf,
    packages: Vec<Package>,
}

struct Package {
    name: String,
    manifest_dir: PathBuf,
    license: Option<String>,
    features: BTreeSet<String>,
    /// Rust name of the cdylib target, if the package has one.
    cdylib: Option<String>,
    bins: BTreeSet<String>,
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

impl Workspace {
    fn load() -> Result<Self> {
        let start = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("xtask has no parent directory")?;
        let out = cargo()
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(start)
            .stderr(Stdio::inherit())
            .output()
            .context("running cargo metadata")?;
        ensure!(out.status.success(), "cargo metadata failed");
        let meta: Value = serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
        let str_of = |v: &Value, key: &str| -> Result<String> {
            v[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("cargo metadata: missing `{key}`"))
        };
        let members: BTreeSet<&str> = meta["workspace_members"]
            .as_array()
            .context("cargo metadata: missing workspace_members")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut packages = Vec::new();
        for pkg in meta["packages"].as_array().into_iter().flatten() {
            if !members.contains(pkg["id"].as_str().unwrap_or_default()) {
                continue;
            }
            let manifest = PathBuf::from(str_of(pkg, "manifest_path")?);
            let mut cdylib = None;
            let mut bins = BTreeSet::new();
            for target in pkg["targets"].as_array().into_iter().flatten() {
                let kinds: Vec<&str> = target["kind"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let name = str_of(target, "name")?;
                if kinds.contains(&"cdylib") {
                    cdylib = Some(name.replace('-', "_"));
                }
                if kinds.contains(&"bin") {
                    bins.insert(name);
                }
            }
            packages.push(Package {
                name: str_of(pkg, "name")?,
                manifest_dir: manifest
                    .parent()
                    .context("manifest has no directory")?
                    .to_owned(),
                license: pkg["license"].as_str().map(str::to_owned),
                features: pkg["features"]
                    .as_object()
                    .map(|f| f.keys().cloned().collect())
                    .unwrap_or_default(),
                cdylib,
                bins,
            });
        }
        Ok(Self {
            root: PathBuf::from(str_of(&meta, "workspace_root")?),
            target_dir: PathBuf::from(str_of(&meta, "target_directory")?),
            packages,
        })
    }

    fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// The contract crates to work on: `requested`, or every name in [`CONTRACTS`].
    /// Explicitly requested crates must exist; default ones that don't are noted and skipped.
    fn contracts<'a>(&'a self, requested: &[String]) -> Result<Vec<&'a Package>> {
        if requested.is_empty() {
            let mut found = Vec::new();
            for name in CONTRACTS {
                match self.package(name) {
                    Some(p) => found.push(p),
                    None => println!("note: skipping {name}: not a workspace member"),
                }
            }
            return Ok(found);
        }
        requested
            .iter()
            .map(|name| {
                self.package(name)
                    .ok_or_else(|| anyhow!("`{name}` is not a workspace member"))
            })
            .collect()
    }

    fn rel<'p>(&self, path: &'p Path) -> &'p Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }
}

fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("starting {shown}"))?;
    ensure!(status.success(), "command failed ({status}): {shown}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// cargo xtask wasm

struct SizeRow {
    name: String,
    wasm: usize,
    /// Length of the `.code` file: prefix + brotli.
    code: usize,
}

impl SizeRow {
    /// What the chain stores, with the allowance for cargo-stylus's metadata.
    fn stored(&self) -> usize {
        self.code + STORED_OVERHEAD
    }
}

fn wasm(ws: &Workspace, requested: &[String], out_dir: Option<PathBuf>) -> Result<()> {
    let out_dir = out_dir.unwrap_or_else(|| ws.target_dir.join("minuto-wasm"));
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for pkg in ws.contracts(requested)? {
        let Some(lib_name) = &pkg.cdylib else {
            let msg = format!("{} has no cdylib target", pkg.name);
            if requested.is_empty() {
                println!("note: skipping {msg}");
                continue;
            }
            bail!(msg);
        };
        // Keep going after a failure, so one report covers every contract.
        match build_contract(ws, pkg, lib_name, &out_dir) {
            Ok(row) => rows.push(row),
            Err(err) => {
                eprintln!("error: {}: {err:#}", pkg.name);
                failed.push(pkg.name.clone());
            }
        }
    }
    if rows.is_empty() && failed.is_empty() {
        println!("note: no contract crates to build");
        return Ok(());
    }

    if !rows.is_empty() {
        print!("{}", size_table(&rows, false));
        let md = format!(
            "# Contract sizes\n\nWASM after the text-format round trip; brotli quality {BROTLI_QUALITY}, \
             window {BROTLI_LGWIN}; code = the `EFF00000` prefix + brotli \
             (the `.code` file minuto-deploy deploys); stored = code + {STORED_OVERHEAD} for \
             cargo-stylus's metadata. Written by `cargo xtask wasm`.\n\n{}",
            size_table(&rows, true)
        );
        let md_path = out_dir.join("sizes.md");
        fs::write(&md_path, md).with_context(|| format!("writing {}", md_path.display()))?;
        println!("wrote {} and the modules beside it", md_path.display());
    }

    let over: Vec<String> = rows
        .iter()
        .filter(|r| r.stored() > budget(&r.name))
        .map(|r| {
            format!(
                "{} ({} bytes stored, budget {})",
                r.name,
                group(r.stored()),
                group(budget(&r.name))
            )
        })
        .collect();
    let mut errors = Vec::new();
    if !failed.is_empty() {
        errors.push(format!("failed to build or check: {}", failed.join(", ")));
    }
    if !over.is_empty() {
        errors.push(format!(
            "over budget (the Stylus limit is {} bytes as stored): {}",
            group(MAX_BROTLI_BYTES),
            over.join(", ")
        ));
    }
    ensure!(errors.is_empty(), "{}", errors.join("; "));
    Ok(())
}

/// Builds one contract on its own, rewrites and checks its module, writes it to `out_dir`.
fn build_contract(
    ws: &Workspace,
    pkg: &Package,
    lib_name: &str,
    out_dir: &Path,
) -> Result<SizeRow> {
    // One crate per build: building several at once unifies their features.
    let local = machine_paths(&ws.root);
    run(cargo()
        .args(["build", "--lib", "--release", "--target", WASM_TARGET, "-p"])
        .arg(&pkg.name)
        .args(["--config", &remap_config(&local)?])
        .current_dir(&ws.root))?;
    let built = ws
        .target_dir
        .join(WASM_TARGET)
        .join("release")
        .join(format!("{lib_name}.wasm"));
    let raw = fs::read(&built).with_context(|| format!("reading {}", built.display()))?;
    let module = stylus_ready(&raw).with_context(|| built.display().to_string())?;
    if let Some(path) = embedded_path(&module, &local) {
        bail!(
            "the module embeds {}: the same commit would build other code on another machine",
            path.display()
        );
    }
    check_module(&module).context("the WASM is not a deployable Stylus program")?;
    let memory = footprint(&module).context("measuring the module's memory")?;
    println!(
        "{}: {} initial memory page(s); stack {} bytes, its deepest chain of calls {} bytes",
        pkg.name,
        memory.pages,
        group(memory.stack as usize),
        group(memory.deepest as usize)
    );
    memory.check()?;
    let out = out_dir.join(format!("{}.wasm", pkg.name));
    fs::write(&out, &module).with_context(|| format!("writing {}", out.display()))?;
    // What the chain stores and minuto-deploy deploys: measured here, byte for byte.
    let mut code = STYLUS_PREFIX.to_vec();
    code.extend(compress(&module)?);
    let code_path = out_dir.join(format!("{}.code", pkg.name));
    fs::write(&code_path, &code).with_context(|| format!("writing {}", code_path.display()))?;
    Ok(SizeRow {
        name: pkg.name.clone(),
        wasm: module.len(),
        code: code.len(),
    })
}

/// What `cargo stylus` does before compressing: print the module as text and parse it
/// back. That re-encodes what rustc ≥ 1.82 writes with reference-types encodings (e.g.
/// `call_indirect` table indices), which Stylus rejects, and drops custom sections.
/// This machine's directories whose paths rustc writes into a contract's panic locations:
/// the workspace root and each source directory under `$CARGO_HOME/registry/src` and
/// `$CARGO_HOME/git/checkouts`. Left in, the same commit builds different code under
/// another user's home (a different code hash for minuto-deploy's "same code as this
/// build" check and for a verifier rebuilding elsewhere), and longer data segments, which
/// every call pays for at program init.
fn machine_paths(root: &Path) -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let mut paths = vec![root.to_path_buf()];
    for sub in ["registry/src", "git/checkouts"] {
        let Some(entries) = home.as_ref().and_then(|h| fs::read_dir(h.join(sub)).ok()) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        dirs.sort();
        paths.extend(dirs);
    }
    paths
}

/// A `cargo --config` value adding `--remap-path-prefix=<path>/=` for each of `paths` to
/// the WASM target's rustflags (cargo joins config arrays, so `.cargo/config.toml`'s
/// flags stay).
fn remap_config(paths: &[PathBuf]) -> Result<String> {
    let flags = paths
        .iter()
        .map(|path| {
            let text = path
                .to_str()
                .filter(|t| !t.contains('\'') && !t.contains('\n'))
                .with_context(|| {
                    format!("{} cannot be remapped in a --config value", path.display())
                })?;
            Ok(format!(
                "'--remap-path-prefix={}/='",
                text.trim_end_matches('/')
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(format!(
        "target.{WASM_TARGET}.rustflags=[{}]",
        flags.join(", ")
    ))
}

/// The first of `paths` whose bytes appear in `module`.
fn embedded_path<'p>(module: &[u8], paths: &'p [PathBuf]) -> Option<&'p Path> {
    paths.iter().map(PathBuf::as_path).find(|path| {
        let needle = path.as_os_str().as_encoded_bytes();
        !needle.is_empty() && module.windows(needle.len()).any(|w| w == needle)
    })
}

fn stylus_ready(raw: &[u8]) -> Result<Vec<u8>> {
    let text = wasmprinter::print_bytes(raw).context("printing the module as text")?;
    wat::parse_str(&text).context("parsing the module text back")
}

/// The checks `cargo stylus check` would make first, without a node.
fn check_module(module: &[u8]) -> Result<()> {
    use wasmparser::{ExternalKind, Parser, Payload, TypeRef, Validator, WasmFeatures};

    // What a Stylus program may use: no reference types, SIMD, threads, tail calls...
    let features = WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::FLOATS;
    Validator::new_with_features(features)
        .validate_all(module)
        .context(
            "invalid under the WASM features Stylus accepts (no reference types, SIMD, threads)",
        )?;

    let mut problems = Vec::new();
    let mut entrypoint = false;
    let mut memory = false;
    for payload in Parser::new(0).parse_all(module) {
        match payload? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    if import.module != HOST_MODULE {
                        let hint = match import.module {
                            "console" => " (a debug-only host module: is the `debug` feature on?)",
                            "env" => " (an unresolved symbol, often std/float formatting or a C dependency)",
                            _ => "",
                        };
                        problems.push(format!(
                            "imports `{}`.`{}`: only `{HOST_MODULE}` is available on chain{hint}",
                            import.module, import.name
                        ));
                    } else if !matches!(import.ty, TypeRef::Func(_)) {
                        problems.push(format!(
                            "imports non-function `{HOST_MODULE}`.`{}`",
                            import.name
                        ));
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    match (export.name, export.kind) {
                        (ENTRYPOINT, ExternalKind::Func) => entrypoint = true,
                        ("memory", ExternalKind::Memory) => memory = true,
                        _ => {}
                    }
                }
            }
            Payload::StartSection { .. } => problems.push("has a start function".to_owned()),
            _ => {}
        }
    }
    if !entrypoint {
        problems.push(format!(
            "does not export the function `{ENTRYPOINT}` (no `#[entrypoint]` in the crate, or it is \
             compiled out for wasm32)"
        ));
    }
    if !memory {
        problems.push("does not export `memory`".to_owned());
    }
    ensure!(problems.is_empty(), "{}", problems.join("; "));
    Ok(())
}

/// Rounds a group of functions calling each other is counted for (see [`footprint`]).
const RECURSION_ROUNDS: u32 = 64;

/// Pages a call gets without paying for them (Arbitrum's `InitialFreePages`): each initial
/// page past these costs about 1,000 gas on every call of the program.
const FREE_PAGES: u64 = 2;

/// What a module asks of memory: its initial pages, its stack (the initial value of
/// `__stack_pointer`, the first global: rustc puts the stack first, growing down from it,
/// so an overflow traps below address 0 instead of running into data), and the most
/// stack any chain of calls can take.
#[derive(Debug, PartialEq, Eq)]
struct Footprint {
    pages: u64,
    stack: u32,
    /// Each function's frame (its prologue's `global.get $sp; i32.const N; i32.sub`)
    /// summed along the deepest chain of calls from the entrypoint; a `call_indirect`
    /// counts as a call to the deepest function in the table; recursion counts
    /// [`RECURSION_ROUNDS`] rounds.
    deepest: u32,
}

impl Footprint {
    /// The initial memory within the free pages, and the deepest chain of calls within
    /// three quarters of the stack (the rest a margin for what the frames do not show).
    fn check(&self) -> Result<()> {
        ensure!(
            self.pages <= FREE_PAGES,
            "{} initial memory pages: each past {FREE_PAGES} costs ~1,000 gas on every call \
             (set the stack size: -zstack-size in .cargo/config.toml)",
            self.pages
        );
        ensure!(
            u64::from(self.deepest) * 4 <= u64::from(self.stack) * 3,
            "the deepest chain of calls takes {} bytes of stack, over 3/4 of the {} the \
             module has: raise -zstack-size in .cargo/config.toml",
            self.deepest,
            self.stack
        );
        Ok(())
    }
}

/// Measures [`Footprint`] of `module`.
fn footprint(module: &[u8]) -> Result<Footprint> {
    use wasmparser::{ElementItems, ExternalKind, Operator, Parser, Payload, TypeRef};

    let mut imported = 0u32;
    let mut entry = None;
    let mut pages = 0;
    let mut stack = None;
    let mut table = Vec::new();
    // Per defined function: its frame, the functions it calls, whether it calls indirectly.
    let mut funcs: Vec<(u32, Vec<u32>, bool)> = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        match payload? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import?.ty, TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    pages = memory?.initial;
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    if (export.name, export.kind) == (ENTRYPOINT, ExternalKind::Func) {
                        entry = Some(export.index);
                    }
                }
            }
            Payload::GlobalSection(reader) => {
                if let Some(global) = reader.into_iter().next() {
                    let mut init = global?.init_expr.get_operators_reader();
                    if let Operator::I32Const { value } = init.read()? {
                        stack = Some(value as u32);
                    }
                }
            }
            Payload::ElementSection(reader) => {
                for element in reader {
                    if let ElementItems::Functions(items) = element?.items {
                        for f in items {
                            table.push(f?);
                        }
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let mut ops = Vec::new();
                let mut reader = body.get_operators_reader()?;
                while !reader.eof() {
                    ops.push(reader.read()?);
                }
                let mut frame = 0u32;
                let mut calls = Vec::new();
                let mut indirect = false;
                for (i, op) in ops.iter().enumerate() {
                    match op {
                        Operator::GlobalGet { global_index: 0 } => {
                            if let (Some(Operator::I32Const { value }), Some(Operator::I32Sub)) =
                                (ops.get(i + 1), ops.get(i + 2))
                            {
                                frame = frame.max(*value as u32);
                            }
                        }
                        Operator::Call { function_index } => calls.push(*function_index),
                        Operator::CallIndirect { .. } => indirect = true,
                        _ => {}
                    }
                }
                funcs.push((frame, calls, indirect));
            }
            _ => {}
        }
    }
    let stack = stack.context("no __stack_pointer global")?;
    let entry = entry.with_context(|| format!("no `{ENTRYPOINT}` export"))?;

    // The call graph (an indirect call may reach any function in the table), its strongly
    // connected components (Tarjan), then the deepest chain over the components. A
    // component with more than one function, or one calling itself, is recursion: in
    // these modules, `core::fmt` formatting through `dyn` calls (a `Display` that formats
    // its parts), nested as deep as the format strings are; it counts
    // [`RECURSION_ROUNDS`] rounds of its frames.
    let n = funcs.len();
    let local = |f: &u32| f.checked_sub(imported).map(|k| k as usize);
    let succ: Vec<Vec<usize>> = funcs
        .iter()
        .map(|(_, calls, indirect)| {
            let indirect = if *indirect { &table[..] } else { &[] };
            calls.iter().chain(indirect).filter_map(local).collect()
        })
        .collect();
    struct Tarjan<'a> {
        succ: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        comp: Vec<usize>,
        comps: usize,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: usize) {
            self.index[v] = Some(self.next);
            self.low[v] = self.next;
            self.next += 1;
            self.stack.push(v);
            self.on[v] = true;
            for w in self.succ[v].clone() {
                match self.index[w] {
                    None => {
                        self.visit(w);
                        self.low[v] = self.low[v].min(self.low[w]);
                    }
                    Some(i) if self.on[w] => self.low[v] = self.low[v].min(i),
                    Some(_) => {}
                }
            }
            if Some(self.low[v]) == self.index[v] {
                while let Some(w) = self.stack.pop() {
                    self.on[w] = false;
                    self.comp[w] = self.comps;
                    if w == v {
                        break;
                    }
                }
                self.comps += 1;
            }
        }
    }
    let mut t = Tarjan {
        succ: &succ,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        comp: vec![0; n],
        comps: 0,
    };
    for v in 0..n {
        if t.index[v].is_none() {
            t.visit(v);
        }
    }
    let (comp, comps) = (t.comp, t.comps);
    let mut frame = vec![0u32; comps];
    let mut members = vec![0usize; comps];
    let mut recursive = vec![false; comps];
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); comps];
    for v in 0..n {
        let c = comp[v];
        frame[c] += funcs[v].0;
        members[c] += 1;
        for &w in &succ[v] {
            if comp[w] == c {
                recursive[c] = true;
            } else {
                next[c].push(comp[w]);
            }
        }
    }
    // Tarjan numbers components in reverse topological order: callees first.
    let mut deepest_from = vec![0u32; comps];
    for c in 0..comps {
        let rounds = if recursive[c] || members[c] > 1 {
            RECURSION_ROUNDS
        } else {
            1
        };
        deepest_from[c] =
            frame[c] * rounds + next[c].iter().map(|d| deepest_from[*d]).max().unwrap_or(0);
    }
    let deepest = match local(&entry) {
        Some(k) => deepest_from[comp[k]],
        None => 0,
    };
    Ok(Footprint {
        pages,
        stack,
        deepest,
    })
}

fn compress(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut writer =
            brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, BROTLI_LGWIN);
        writer.write_all(data)?;
        writer.flush()?;
    }
    Ok(out)
}

/// `12345` -> `12,345`; negative numbers keep their sign.
fn group(n: usize) -> String {
    group_signed(n as i64)
}

fn group_signed(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

fn size_table(rows: &[SizeRow], markdown: bool) -> String {
    let header = [
        "contract".to_owned(),
        "wasm bytes".to_owned(),
        "code bytes".to_owned(),
        format!("stored (+{STORED_OVERHEAD})"),
        "budget".to_owned(),
        "headroom".to_owned(),
    ];
    let body: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                group(r.wasm),
                group(r.code),
                group(r.stored()),
                group(budget(&r.name)),
                group_signed(budget(&r.name) as i64 - r.stored() as i64),
            ]
        })
        .collect();
    let width: Vec<usize> = (0..6)
        .map(|i| {
            body.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String; 6]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let sep = if markdown || i > 0 { "| " } else { "" };
            if i == 0 {
                let _ = write!(s, "{sep}{cell:<w$} ", w = width[i]);
            } else {
                let _ = write!(s, "{sep}{cell:>w$} ", w = width[i]);
            }
        }
        if markdown {
            s.push('|');
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(&header);
    if markdown {
        let mut rule = String::new();
        for (i, w) in width.iter().enumerate() {
            let dashes = "-".repeat(*w);
            if i == 0 {
                let _ = write!(rule, "| {dashes} ");
            } else {
                let _ = write!(rule, "| {}: ", &dashes[1..]);
            }
        }
        out += &(rule + "|\n");
    } else {
        let total: usize = width.iter().sum::<usize>() + 3 * 5;
        out += &("-".repeat(total) + "\n");
    }
    for row in &body {
        out += &line(row);
    }
    out
}

// ---------------------------------------------------------------------------------------
// cargo xtask abi

fn abi(ws: &Workspace, check: bool, requested: &[String]) -> Result<()> {
    let abi_dir = ws.root.join("abi");
    let mut stale = Vec::new();
    let mut failed = Vec::new();
    let mut done = 0;
    for pkg in ws.contracts(requested)? {
        let bin = format!("{}-abi", pkg.name);
        if !pkg.features.contains("export-abi") || !pkg.bins.contains(&bin) {
            let msg = format!(
                "{} has no `export-abi` feature and `[[bin]] {bin}` to export its ABI with",
                pkg.name
            );
            if requested.is_empty() {
                println!("note: skipping {msg}");
                continue;
            }
            bail!(msg);
        }
        // Keep going after a failure, so one report covers every contract.
        let (name, text) = match generate_abi(ws, pkg, &bin) {
            Ok(generated) => generated,
            Err(err) => {
                eprintln!("error: {}: {err:#}", pkg.name);
                failed.push(pkg.name.clone());
                continue;
            }
        };
        let path = abi_dir.join(format!("{name}.sol"));
        let shown = ws.rel(&path).display().to_string();
        done += 1;
        if check {
            let current = fs::read_to_string(&path).ok();
            if current.as_deref() == Some(text.as_str()) {
                println!("ok: {shown} matches {}", pkg.name);
            } else {
                let current = current.unwrap_or_default();
                let state = if path.exists() {
                    "out of date with"
                } else {
                    "missing; generated from"
                };
                eprintln!("{shown} is {state} {}:", pkg.name);
                eprint!(
                    "{}",
                    similar::TextDiff::from_lines(&current, &text)
                        .unified_diff()
                        .context_radius(3)
                        .header(
                            &format!("{shown} (checked in)"),
                            &format!("{shown} (generated)")
                        )
                );
                stale.push(shown);
            }
        } else {
            fs::create_dir_all(&abi_dir)?;
            fs::write(&path, &text).with_context(|| format!("writing {shown}"))?;
            println!("wrote {shown} from {}", pkg.name);
        }
    }
    if done == 0 {
        println!("note: no contract crates export an ABI yet");
    }
    let mut errors = Vec::new();
    if !failed.is_empty() {
        errors.push(format!(
            "could not export the ABI of: {}",
            failed.join(", ")
        ));
    }
    if !stale.is_empty() {
        errors.push(format!(
            "abi/ does not match the contracts: {}\nrun: cargo xtask abi",
            stale.join(", ")
        ));
    }
    ensure!(errors.is_empty(), "{}", errors.join("\n"));
    Ok(())
}

/// Exports one contract's interface and merges its fragments: (interface name, file text).
fn generate_abi(ws: &Workspace, pkg: &Package, bin: &str) -> Result<(String, String)> {
    let exported = export_abi(ws, pkg, bin, &[])?;
    // `print_from_args` answers `constructor` with the signature alone (or nothing).
    let constructor = export_abi(ws, pkg, bin, &["constructor"])?;
    let constructor = constructor.trim();
    let constructor = (constructor.starts_with("constructor(") && !constructor.contains('\n'))
        .then_some(constructor);
    let fragments = abi_fragments(ws, pkg)?;
    merge_abi(
        &pkg.name,
        pkg.license.as_deref(),
        &exported,
        constructor,
        &fragments,
    )
    .context("merging the exported ABI with its fragments")
}

/// Runs the crate's ABI binary with `args` and returns what it prints.
fn export_abi(ws: &Workspace, pkg: &Package, bin: &str, args: &[&str]) -> Result<String> {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "-q",
        "-p",
        &pkg.name,
        "--features",
        "export-abi",
        "--bin",
        bin,
        "--",
    ])
    .args(args)
    .current_dir(&ws.root)
    .stdin(Stdio::null())
    .stderr(Stdio::inherit());
    let shown = format!("{cmd:?}");
    let out = cmd.output().with_context(|| format!("starting {shown}"))?;
    ensure!(
        out.status.success(),
        "command failed ({}): {shown}",
        out.status
    );
    String::from_utf8(out.stdout).with_context(|| format!("{shown} printed non-UTF-8"))
}

struct Fragment {
    file: String,
    lines: Vec<String>,
}

/// Lines between `// abi:begin` and `// abi:end` in the crate's `src/**/*.rs`, by path.
fn abi_fragments(ws: &Workspace, pkg: &Package) -> Result<Vec<Fragment>> {
    let mut files = Vec::new();
    collect_rs(&pkg.manifest_dir.join("src"), &mut files)?;
    files.sort();
    let mut fragments = Vec::new();
    for file in files {
        let shown = ws.rel(&file).display().to_string();
        let text = fs::read_to_string(&file).with_context(|| format!("reading {shown}"))?;
        let mut open: Option<(usize, Vec<String>)> = None;
        for (i, line) in text.lines().enumerate() {
            let at = format!("{shown}:{}", i + 1);
            if line.contains(ABI_BEGIN) {
                ensure!(
                    open.is_none(),
                    "{at}: `{ABI_BEGIN}` inside another fragment"
                );
                open = Some((i + 1, Vec::new()));
            } else if line.contains(ABI_END) {
                let (_, lines) = open
                    .take()
                    .ok_or_else(|| anyhow!("{at}: `{ABI_END}` without `{ABI_BEGIN}`"))?;
                fragments.push(Fragment {
                    file: shown.clone(),
                    lines,
                });
            } else if let Some((_, lines)) = &mut open {
                // Rust attributes inside `sol!` (`#[derive(AbiType)]`, …) are not Solidity.
                let code = line.trim_start();
                if code.starts_with("#[") || code.starts_with("#![") {
                    continue;
                }
                lines.push(line.trim_end().to_owned());
            }
        }
        if let Some((line, _)) = open {
            bail!("{shown}:{line}: `{ABI_BEGIN}` without `{ABI_END}`");
        }
    }
    Ok(fragments)
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_rs(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// A Solidity `function`, `event` or `error` declaration, reduced to what identifies it.
#[derive(Debug, PartialEq, Eq)]
struct Decl {
    kind: String,
    name: String,
    /// Parameter types, without names, `indexed` or data locations.
    types: Vec<String>,
}

impl Decl {
    fn signature(&self) -> String {
        format!("{} {}({})", self.kind, self.name, self.types.join(","))
    }
}

/// The declarations in Solidity text (one per `;`-terminated statement; `//` comments and
/// anything but functions, events and errors are ignored).
fn declarations(text: &str) -> Vec<Decl> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ");
    // A statement after a struct starts behind its closing brace.
    code.split(';')
        .filter_map(|stmt| parse_decl(stmt.rsplit(['{', '}']).next().unwrap_or_default().trim()))
        .collect()
}

fn parse_decl(stmt: &str) -> Option<Decl> {
    let (kind, rest) = stmt.split_once(char::is_whitespace)?;
    if !matches!(kind, "function" | "event" | "error") {
        return None;
    }
    let rest = rest.trim_start();
    let open = rest.find('(')?;
    let name = rest[..open].trim().to_owned();
    // The parameter list: up to the matching parenthesis.
    let mut depth = 0;
    let mut params = String::new();
    for c in rest[open..].chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            break;
        }
        params.push(c);
    }
    let params = &params[1..];
    // Split on top-level commas; a parameter's type is its first word (or tuple).
    let mut types = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in params.char_indices().chain([(params.len(), ',')]) {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                let param = params[start..i].trim();
                start = i + 1;
                if param.is_empty() {
                    continue;
                }
                let ty = if param.starts_with('(') {
                    let end = param.rfind(')').map_or(param.len(), |e| e + 1);
                    let tail = param[end..].split_whitespace().next().unwrap_or_default();
                    let tail = if tail.starts_with('[') { tail } else { "" };
                    format!(
                        "{}{tail}",
                        param[..end].split_whitespace().collect::<String>()
                    )
                } else {
                    param
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                };
                types.push(ty);
            }
            _ => {}
        }
    }
    Some(Decl {
        kind: kind.to_owned(),
        name,
        types,
    })
}

/// Builds `abi/<Interface>.sol` from the SDK's export, the constructor signature and the
/// source fragments. Returns the interface name and the file text.
///
/// Errors the SDK exported without parameter names are replaced by the fragment's named
/// declaration of the same error (their parameter types must agree); a function both
/// exported and in a fragment is refused, since the interface would declare it twice.
fn merge_abi(
    crate_name: &str,
    license: Option<&str>,
    exported: &str,
    constructor: Option<&str>,
    fragments: &[Fragment],
) -> Result<(String, String)> {
    let lines: Vec<&str> = exported.lines().map(str::trim_end).collect();
    // Drop the SDK's banner comment and SPDX line: we write our own.
    let pragma = lines
        .iter()
        .position(|l| l.starts_with("pragma "))
        .context("the export printed no `pragma` line")?;
    let body = &lines[pragma..];
    let main = body
        .iter()
        .rposition(|l| l.starts_with("interface "))
        .context("the export printed no `interface`")?;
    let name = body[main]["interface ".len()..]
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default()
        .to_owned();
    let close = body
        .iter()
        .rposition(|l| l.trim() == "}")
        .filter(|close| *close > main)
        .context("the export's interface has no closing brace")?;

    let fragment_decls: Vec<(String, Decl)> = fragments
        .iter()
        .flat_map(|f| {
            declarations(&f.lines.join("\n"))
                .into_iter()
                .map(|d| (f.file.clone(), d))
        })
        .collect();

    let mut kept: Vec<String> = Vec::new();
    for (i, line) in body[..close].iter().enumerate() {
        if i == main {
            // The SDK writes `interface IName  {`: keep single spaces.
            kept.push(line.split_whitespace().collect::<Vec<_>>().join(" "));
            continue;
        }
        let Some(decl) = parse_decl(line.trim().trim_end_matches(';')) else {
            kept.push((*line).to_owned());
            continue;
        };
        let same_name = fragment_decls
            .iter()
            .find(|(_, d)| d.kind == decl.kind && d.name == decl.name);
        match (decl.kind.as_str(), same_name) {
            ("error", Some((file, d))) => ensure!(
                d.types == decl.types,
                "{file}: `{}` does not match the contract's `{}`",
                d.signature(),
                decl.signature()
            ),
            ("function", _) => {
                if let Some((file, _)) = fragment_decls
                    .iter()
                    .find(|(_, d)| d.signature() == decl.signature())
                {
                    bail!(
                        "{file}: `{}` is already in the exported interface; remove it from the fragment",
                        decl.signature()
                    );
                }
                kept.push((*line).to_owned());
            }
            _ => kept.push((*line).to_owned()),
        }
    }
    // Tidy the blank lines dropped declarations leave behind.
    kept.dedup_by(|b, a| a.trim().is_empty() && b.trim().is_empty());
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "// SPDX-License-Identifier: {}",
        license.unwrap_or("UNLICENSED")
    );
    let _ = writeln!(
        out,
        "// Generated by cargo xtask abi from {crate_name}; do not edit."
    );
    if let Some(constructor) = constructor {
        let _ = writeln!(out, "// Deploy with: {constructor}");
    }
    // Structs declared in the fragments are returned `memory` in Solidity; the export
    // leaves the data location out, which solc rejects.
    let structs: Vec<String> = fragments
        .iter()
        .flat_map(|f| f.lines.iter())
        .filter_map(|l| l.trim_start().strip_prefix("struct "))
        .filter_map(|rest| {
            rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
        })
        .map(str::to_owned)
        .collect();
    for l in &kept {
        let mut line = l.to_string();
        for s in &structs {
            line = line.replace(&format!("returns ({s})"), &format!("returns ({s} memory)"));
        }
        let _ = writeln!(out, "{line}");
    }
    if !fragments.is_empty() {
        if !kept.last().is_some_and(|l| l.trim_end().ends_with('{')) {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "    // From the contract source ({ABI_BEGIN} ... {ABI_END}): what the SDK export leaves out."
        );
        for (i, frag) in fragments.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let indent = frag
                .lines
                .iter()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.len() - l.trim_start().len())
                .min()
                .unwrap_or(0);
            for l in &frag.lines {
                if l.trim().is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "    {}", &l[indent..]);
                }
            }
        }
    }
    for l in &body[close..] {
        let _ = writeln!(out, "{l}");
    }
    // Exactly one trailing newline.
    let out = out.trim_end().to_owned() + "\n";
    Ok((name, out))
}

// ---------------------------------------------------------------------------------------
// cargo xtask clippy

fn clippy(ws: &Workspace, requested: &[String]) -> Result<()> {
    for pkg in ws.contracts(requested)? {
        if pkg.cdylib.is_some() {
            run(cargo()
                .args([
                    "clippy",
                    "--lib",
                    "--release",
                    "--target",
                    WASM_TARGET,
                    "-p",
                    &pkg.name,
                ])
                .args(["--", "-D", "warnings"])
                .current_dir(&ws.root))?;
        }
        let bin = format!("{}-abi", pkg.name);
        if pkg.features.contains("export-abi") && pkg.bins.contains(&bin) {
            run(cargo()
                .args([
                    "clippy",
                    "-p",
                    &pkg.name,
                    "--features",
                    "export-abi",
                    "--bin",
                    &bin,
                ])
                .args(["--", "-D", "warnings"])
                .current_dir(&ws.root))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPORTED: &str = "/**\n * This file was automatically generated by Stylus and represents a Rust program.\n */\n\n\
        // SPDX-License-Identifier: MIT-OR-APACHE-2.0\npragma solidity ^0.8.23;\n\ninterface IProbe  {\n    \
        function get() external view returns (uint256);\n\n    error Nope(uint8);\n}\n";

    #[test]
    fn machine_paths_are_remapped_and_caught_if_left_in_a_module() {
        let paths = [
            PathBuf::from("/home/ann/minuto"),
            PathBuf::from("/home/ann/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/"),
        ];
        assert_eq!(
            remap_config(&paths).unwrap(),
            "target.wasm32-unknown-unknown.rustflags=['--remap-path-prefix=/home/ann/minuto/=', \
             '--remap-path-prefix=/home/ann/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/=']"
        );
        // A quote would end the TOML literal string early: refused, not mangled.
        assert!(remap_config(&[PathBuf::from("/home/o'neil/.cargo")]).is_err());

        let clean = b"\0asm..stylus-sdk-0.9.0/src/storage/traits.rs..";
        assert_eq!(embedded_path(clean, &paths), None);
        let leaked =
            b"..../home/ann/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/ruint/src/lib.rs";
        assert_eq!(embedded_path(leaked, &paths), Some(paths[1].as_path()));
    }

    /// A module with `pages` of memory, a stack of `stack` bytes, and functions given as
    /// WAT bodies (each may allocate a frame with `(call $alloc N)`-free prologues).
    /// The first of `funcs` is the entrypoint.
    fn module(pages: u32, stack: u32, funcs: &str) -> Vec<u8> {
        wat::parse_str(format!(
            "(module (import \"vm_hooks\" \"x\" (func $host))
               (memory {pages}) (global $sp (mut i32) (i32.const {stack}))
               (type $t (func))
               {funcs}
               (export \"{ENTRYPOINT}\" (func 1)))"
        ))
        .unwrap()
    }

    /// A function `$name` with a frame of `frame` bytes, then `body`.
    fn func(name: &str, frame: u32, body: &str) -> String {
        format!(
            "(func ${name} (global.set $sp (i32.sub (global.get $sp) (i32.const {frame}))) {body}
               (global.set $sp (i32.add (global.get $sp) (i32.const {frame}))))"
        )
    }

    #[test]
    fn the_footprint_sums_frames_along_the_deepest_chain_of_calls() {
        // a (1,000) → b (3,000) → host, and a → c (100), which calls through the table,
        // which holds b: the deepest chain is a → c → b, 4,100 bytes. d (9,000) is never
        // called: it does not count.
        let funcs = [
            func("a", 1_000, "(call $b) (call $c)"),
            func("b", 3_000, "(call $host)"),
            func("c", 100, "(call_indirect (type $t) (i32.const 0))"),
            func("d", 9_000, "(call $d)"),
            "(table 1 funcref) (elem (i32.const 0) $b)".to_owned(),
        ]
        .join("\n");
        let f = footprint(&module(1, 32_768, &funcs)).unwrap();
        assert_eq!(
            f,
            Footprint {
                pages: 1,
                stack: 32_768,
                deepest: 4_100
            }
        );
        f.check().unwrap();
        // The table's deepest function counts for an indirect call.
        let funcs = [
            func("c", 30_000, "(call_indirect (type $t) (i32.const 0))"),
            func("b", 3_000, ""),
            "(table 1 funcref) (elem (i32.const 0) $b)".to_owned(),
        ]
        .join("\n");
        let f = footprint(&module(1, 32_768, &funcs)).unwrap();
        assert_eq!(f.deepest, 33_000);
        assert_eq!(
            f.check().unwrap_err().to_string(),
            "the deepest chain of calls takes 33000 bytes of stack, over 3/4 of the 32768 the \
             module has: raise -zstack-size in .cargo/config.toml"
        );
    }

    #[test]
    fn the_footprint_refuses_pages_past_the_free_ones_and_counts_recursion_64_rounds() {
        let f = footprint(&module(17, 1_048_576, &func("a", 16, ""))).unwrap();
        assert_eq!(f.pages, 17);
        assert_eq!(
            f.check().unwrap_err().to_string(),
            "17 initial memory pages: each past 2 costs ~1,000 gas on every call (set the \
             stack size: -zstack-size in .cargo/config.toml)"
        );
        // Recursion counts 64 rounds of its frames.
        let f = footprint(&module(1, 32_768, &func("a", 16, "(call $a)"))).unwrap();
        assert_eq!(f.deepest, 16 * 64);
    }

    fn frag(lines: &[&str]) -> Fragment {
        Fragment {
            file: "src/lib.rs".into(),
            lines: lines.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn merges_fragments_before_the_closing_brace() {
        let (name, text) = merge_abi(
            "probe",
            Some("MIT"),
            EXPORTED,
            Some("constructor(address admin)"),
            &[frag(&[
                "        /// Set.",
                "        event Set(uint256 indexed value);",
                "",
                "        error Nope(uint8 why);",
            ])],
        )
        .unwrap();
        assert_eq!(name, "IProbe");
        assert_eq!(
            text,
            "// SPDX-License-Identifier: MIT\n\
             // Generated by cargo xtask abi from probe; do not edit.\n\
             // Deploy with: constructor(address admin)\n\
             pragma solidity ^0.8.23;\n\
             \n\
             interface IProbe {\n    \
             function get() external view returns (uint256);\n\
             \n    \
             // From the contract source (// abi:begin ... // abi:end): what the SDK export leaves out.\n    \
             /// Set.\n    \
             event Set(uint256 indexed value);\n\
             \n    \
             error Nope(uint8 why);\n\
             }\n"
        );
    }

    #[test]
    fn refuses_functions_already_exported() {
        let err = merge_abi(
            "probe",
            None,
            EXPORTED,
            None,
            &[frag(&["function get() external view returns (uint256 x);"])],
        );
        assert!(format!("{:#}", err.unwrap_err()).contains("already in the exported interface"));
    }

    #[test]
    fn refuses_errors_that_disagree_with_the_contract() {
        let err = merge_abi(
            "probe",
            None,
            EXPORTED,
            None,
            &[frag(&["error Nope(uint16 why);"])],
        );
        assert!(format!("{:#}", err.unwrap_err()).contains("does not match"));
    }

    #[test]
    fn parses_declarations() {
        let decls = declarations(
            "event A(uint256 indexed id, address who); // note\n\
             function f((uint8,bytes)[] calldata xs, bytes memory b) external;\n\
             struct S { uint8 x; }\n\
             error E(\n    uint64 at,\n    uint64 earliest\n);",
        );
        let sigs: Vec<String> = decls.iter().map(Decl::signature).collect();
        assert_eq!(
            sigs,
            [
                "event A(uint256,address)",
                "function f((uint8,bytes)[],bytes)",
                "error E(uint64,uint64)"
            ]
        );
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group(24_576), "24,576");
        assert_eq!(group(999), "999");
        assert_eq!(group_signed(-1_234_567), "-1,234,567");
    }
}
