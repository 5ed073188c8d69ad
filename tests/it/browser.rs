//! The viewer (`map-ui/`) end to end in Debian's headless Chromium: runs `node --test` on
//! `tests/browser/viewer.test.mjs` (the map) and `cases.test.mjs` (the case workflow role by
//! role, with users added by `citygrid user add`) against this build's binary. Needs `node`,
//! Debian `chromium` and `npm ci` in `tests/browser` (scripts/test installs them). Screenshots at
//! both tablet sizes go to `<target>/tmp/screenshots`. The time the viewer took to show the
//! district is passed on as the line `VIEWER_DISTRICT_MS=<n>` (seen with `--nocapture`).

use std::path::Path;
use std::process::Command;

use crate::support::repo;

#[test]
fn the_viewer_renders_answers_taps_and_summarises_a_drawn_polygon_in_chromium() {
    run_browser_test("tests/browser/viewer.test.mjs");
}

#[test]
fn a_case_goes_from_the_tablet_form_to_its_closure_role_by_role_in_chromium() {
    run_browser_test("tests/browser/cases.test.mjs");
}

/// Runs one `node --test` file of `tests/browser` against this build's binary.
fn run_browser_test(file: &str) {
    let root = repo();
    assert!(
        root.join("tests/browser/node_modules/playwright-core")
            .is_dir(),
        "tests/browser/node_modules is missing: run `npm ci` in tests/browser (scripts/test does)"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists() || std::env::var_os("CHROMIUM").is_some(),
        "Debian chromium is missing: apt-get install chromium (scripts/test does)"
    );
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    let output = Command::new("node")
        .args(["--test", file])
        .current_dir(&root)
        .env("CITYGRID_BIN", env!("CARGO_BIN_EXE_citygrid"))
        .env("CITYGRID_SCREENSHOTS", &screenshots)
        .env_remove("CITYGRID_VIEWER_DIR")
        .output()
        .expect("node runs (Node.js 20 or later)");
    assert!(
        output.status.success(),
        "the browser test {file} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // A figure to read, never asserted (speed is for scripts/bench-viewer on a release build).
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Some(figure) = line
            .trim_start_matches(['#', ' '])
            .strip_prefix("VIEWER_DISTRICT_MS=")
        {
            let build = if cfg!(debug_assertions) {
                "dev"
            } else {
                "release"
            };
            println!("VIEWER_DISTRICT_MS={figure} ({file}, {build} profile)");
        }
    }
}
