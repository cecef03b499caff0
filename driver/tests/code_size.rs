//! The size rules of the production crates, checked on every test run so
//! that they hold as the code grows: no file under `driver/src` over 450
//! lines, and no function over 60 lines in `driver/src`, `plugin-api/src`,
//! `ovsdb-client/src` or `flows/src` (test modules aside). Plain text scanning: a
//! function runs from its `fn` line to the brace that closes its body.

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 450;
const MAX_FUNCTION_LINES: usize = 60;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// Every `.rs` file below `dir`, except unit-test files (`tests.rs`).
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_none_or(|n| n != "tests.rs")
        {
            files.push(path);
        }
    }
    files
}

/// A line's code, without string and char literals and `//` comments.
fn code_of(line: &str) -> String {
    let mut code = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(s) = chars.next() {
                    match s {
                        '\\' => drop(chars.next()),
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '\'' if chars.clone().nth(1) == Some('\'') => drop(chars.nth(1)),
            '/' if chars.peek() == Some(&'/') => break,
            _ => code.push(c),
        }
    }
    code
}

/// Whether `line` starts a function (`fn`, `pub fn`, `async fn`, ...).
fn starts_function(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().take(5).collect();
    let qualifiers = [
        "pub",
        "pub(crate)",
        "pub(super)",
        "async",
        "const",
        "unsafe",
    ];
    let first_other = words.iter().position(|w| !qualifiers.contains(w));
    first_other.is_some_and(|i| words[i] == "fn")
}

/// `(first line, length)` of each function longer than the limit, outside
/// `#[cfg(test)]` code (which, by this project's layout, ends a file).
fn long_functions(text: &str) -> Vec<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .iter()
        .position(|l| l.trim_start().starts_with("#[cfg(test)]"))
        .unwrap_or(lines.len());
    let mut long = Vec::new();
    for start in (0..end).filter(|&i| starts_function(lines[i])) {
        let (mut depth, mut opened) = (0i32, false);
        for (offset, line) in lines[start..end].iter().enumerate() {
            let code = code_of(line);
            if !opened && code.trim_end().ends_with(';') {
                break;
            }
            for c in code.chars() {
                depth += match c {
                    '{' => 1,
                    '}' => -1,
                    _ => 0,
                };
                opened |= c == '{';
            }
            if opened && depth == 0 {
                if offset + 1 > MAX_FUNCTION_LINES {
                    long.push((start + 1, offset + 1));
                }
                break;
            }
        }
    }
    long
}

#[test]
fn no_driver_source_file_is_over_450_lines() {
    let too_long: Vec<String> = sources(&workspace().join("driver/src"))
        .into_iter()
        .filter_map(|path| {
            let lines = std::fs::read_to_string(&path).ok()?.lines().count();
            (lines > MAX_FILE_LINES).then(|| format!("{}: {lines} lines", path.display()))
        })
        .collect();
    assert!(too_long.is_empty(), "split these files: {too_long:#?}");
}

#[test]
fn no_production_function_is_over_60_lines() {
    let mut too_long = Vec::new();
    for crate_dir in [
        "driver/src",
        "plugin-api/src",
        "ovsdb-client/src",
        "flows/src",
    ] {
        for path in sources(&workspace().join(crate_dir)) {
            let text = std::fs::read_to_string(&path).expect("a source file");
            for (line, length) in long_functions(&text) {
                too_long.push(format!("{}:{line}: {length} lines", path.display()));
            }
        }
    }
    assert!(too_long.is_empty(), "split these functions: {too_long:#?}");
}

#[test]
fn the_scanner_measures_functions_and_skips_literals_and_tests() {
    let body: String = (0..61).map(|_| "    let x = \"{\"; // }\n").collect();
    let text = format!("pub async fn long() {{\n{body}}}\nfn short() {{}}\n");
    assert_eq!(long_functions(&text), [(1, 63)]);
    let in_tests = format!("#[cfg(test)]\nmod tests {{\n{text}}}\n");
    assert!(long_functions(&in_tests).is_empty());
    assert!(long_functions("fn declared_only();\n").is_empty());
    assert_eq!(code_of("let c = '{'; // {"), "let c = ; ");
}
