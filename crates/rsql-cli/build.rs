//! Link options of the `rsql` binary.

fn main() {
    // Relative relocations packed into a compact table (DT_RELR, glibc 2.36 and GNU ld 2.38 or
    // later): the loader no longer reads a 24-byte entry for each of the binary's ~120,000
    // pointers to itself at start-up, pages that then stayed resident for the whole run.
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if target_os == "linux" && target_env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
