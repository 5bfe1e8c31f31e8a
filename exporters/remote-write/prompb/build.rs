//! Compiles Prometheus' remote write protos with prost, after dropping
//! their `gogoproto` import and field options (hints for Go's code
//! generator that protoc cannot resolve without gogo's own protos).

use std::path::{Path, PathBuf};

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let staged = out.join("proto");
    let files = [
        "types.proto",
        "remote.proto",
        "io/prometheus/write/v2/types.proto",
    ];
    for file in files {
        let from = Path::new("proto").join(file);
        println!("cargo:rerun-if-changed={}", from.display());
        let text = std::fs::read_to_string(&from)?
            .replace("import \"gogoproto/gogo.proto\";", "")
            .replace(" [(gogoproto.nullable) = false]", "");
        let to = staged.join(file);
        std::fs::create_dir_all(to.parent().expect("a file has a directory"))?;
        std::fs::write(to, text)?;
    }
    let paths: Vec<PathBuf> = files.iter().map(|f| staged.join(f)).collect();
    prost_build::Config::new().compile_protos(&paths, &[staged])
}
