//! Embeds every `config/channels/*.toml` as a default channel, so adding a channel file is all a
//! new default channel needs (no hand-kept `include_str!` list).

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/channels");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("config/channels is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = String::from("const EMBEDDED_CHANNELS: &[(&str, &str)] = &[\n");
    for file in files {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("UTF-8 file name");
        let path = file.canonicalize().expect("channel file path");
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            out,
            "    ({stem:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("write to a String");
    }
    out.push_str("];\n");
    let target =
        Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("embedded_channels.rs");
    std::fs::write(target, out).expect("write embedded_channels.rs");
}
