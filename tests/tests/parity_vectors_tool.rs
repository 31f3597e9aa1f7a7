//! The `parity-vectors` tool writes the vectors `parity_vectors` computes, and refuses bad
//! input with an exit status and a message that names it.

use std::process::Command;

use mdn_tests::generate::{MINIMAL, generated_blob, parity_vectors};

fn tool(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_parity-vectors"))
        .args(args)
        .output()
        .expect("the tool runs")
}

#[test]
fn writes_the_vectors_of_a_blob() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (model, out) = (dir.path().join("m.mdn"), dir.path().join("m.vectors"));
    let blob = generated_blob(&MINIMAL);
    std::fs::write(&model, &blob).expect("blob written");
    let output = tool(&[
        model.as_os_str(),
        out.as_os_str(),
        "3".as_ref(),
        "7".as_ref(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let written = std::fs::read(&out).expect("vectors written");
    assert_eq!(
        written,
        parity_vectors(&blob, 3, 7).expect("a parity model")
    );
}

#[test]
fn refuses_bad_input() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (model, out) = (dir.path().join("bad.mdn"), dir.path().join("bad.vectors"));
    std::fs::write(&model, b"not a blob").expect("file written");
    let output = tool(&[model.as_os_str(), out.as_os_str()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.mdn") && stderr.contains("magic"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written for a bad blob");
    for args in [
        &[][..],
        &["m.mdn".as_ref()][..],
        &["a".as_ref(), "b".as_ref(), "x".as_ref()][..],
    ] {
        assert_eq!(tool(args).status.code(), Some(2), "{args:?}");
    }
}
