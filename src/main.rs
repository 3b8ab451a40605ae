//! The binary: everything lives in the library so that tests run the same code.

fn main() -> std::process::ExitCode {
    entra_authmethods_exporter::allocator::configure();
    entra_authmethods_exporter::cli::main()
}
