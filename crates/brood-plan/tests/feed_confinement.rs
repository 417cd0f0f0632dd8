//! Hardening item 1: feed files are read only from the scenario's folder (or the folder a server
//! was told to use) and below it; a name that leads outside is refused, and the error quotes
//! nothing of any file.

use std::path::Path;

use brood_plan::{parse_scenario, Format};

fn read(dir: &Path, file: &str) -> Result<(), String> {
    let text =
        format!("host: http://h\nusers:\n  - feeds: [{{file: {file:?}}}]\n    tasks: [GET /a]\n");
    let mut scenario = parse_scenario(&text, Format::Yaml, "s.yaml").map_err(|e| e.to_string())?;
    scenario.read_feeds(dir).map_err(|e| e.to_string())
}

#[test]
fn hardening_1_feed_files_outside_the_folder_are_refused_quoting_nothing() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("scenarios");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    // A secret next to the folder, as controller.key sits next to the web's scenarios folder.
    std::fs::write(root.path().join("controller.key"), "SECRET-KEY-BYTES\n1\n").unwrap();
    std::fs::write(dir.join("data/users.csv"), "name\nann\n").unwrap();
    std::os::unix::fs::symlink(root.path().join("controller.key"), dir.join("link.csv")).unwrap();
    std::os::unix::fs::symlink(root.path(), dir.join("up")).unwrap();

    let secret = root.path().join("controller.key");
    let outside = [
        "/etc/passwd",
        "/proc/self/environ",
        "../../../../etc/passwd",
        "../controller.key",
        "data/../../controller.key",
        secret.to_str().unwrap(),
        "link.csv",
        "up/controller.key",
    ];
    for name in outside {
        let err = read(&dir, name).unwrap_err();
        assert!(
            err.contains("is outside the folder feed files are read from"),
            "{name}: {err}"
        );
        for leaked in ["SECRET", "root:", "PATH=", "BROOD"] {
            assert!(!err.contains(leaked), "{name} leaked {leaked}: {err}");
        }
    }
    // Inside the folder, by any spelling, still works.
    for name in [
        "data/users.csv",
        "./data/users.csv",
        "data/../data/users.csv",
    ] {
        read(&dir, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
