//! Makes the embedded web UI follow `ui/dist`: the directory is created when missing (so
//! the embedding refers to a real path even before the UI is built — debug builds read it
//! from disk at run time), and the crate is rebuilt whenever its contents change (release
//! builds embed the files).

fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist");
    if !dist.exists() {
        let _ = std::fs::create_dir_all(&dist);
    }
    // A release binary embeds the UI at build time: without it, `/` only says how to build
    // it. Say so now, where the person building can act on it.
    let profile = std::env::var("PROFILE").unwrap_or_default();
    if profile == "release" && !dist.join("index.html").exists() {
        println!(
            "cargo:warning=ui/dist is not built: this binary will serve no web UI. Build it first with `cd ui && npm ci && npm run build` (scripts/run does both)."
        );
    }
    println!("cargo:rerun-if-changed=../../ui/dist");
    println!("cargo:rerun-if-changed=build.rs");
}
