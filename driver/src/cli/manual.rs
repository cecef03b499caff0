//! `docker-ovn manual DIR` (hidden): the manual pages and shell
//! completions the `.deb` ships (`scripts/build-deb.sh`), made from the
//! CLI's own definitions so that they never disagree with `--help`:
//! `DIR/man1/docker-ovn.1` and one page per command
//! (`docker-ovn-serve.1`, ...; `clap_mangen`), and `DIR/completions/`
//! for bash, zsh and fish (`clap_complete`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap_complete::Shell;

/// Where the pages and completions went.
#[derive(Debug)]
pub struct Written {
    pub pages: Vec<PathBuf>,
    pub completions: Vec<PathBuf>,
}

/// Writes the pages and completions of `command` (the `docker-ovn`
/// command line, with its subcommands) under `dir`.
pub fn write(command: clap::Command, dir: &Path) -> anyhow::Result<Written> {
    let pages_dir = dir.join("man1");
    let completions_dir = dir.join("completions");
    for made in [&pages_dir, &completions_dir] {
        std::fs::create_dir_all(made).with_context(|| made.display().to_string())?;
    }
    // Subcommands' pages need the full command tree built.
    let mut command = command;
    command.build();
    clap_mangen::generate_to(command.clone(), &pages_dir)
        .with_context(|| format!("writing manual pages to {}", pages_dir.display()))?;
    let name = command.get_name().to_string();
    // clap's own `help` subcommand would get a page per command: noise.
    let help_pages = format!("{name}-help");
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(&pages_dir)? {
        let path = entry?.path();
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned());
        if file.is_some_and(|f| f.starts_with(&help_pages)) {
            std::fs::remove_file(&path).with_context(|| path.display().to_string())?;
        } else {
            pages.push(path);
        }
    }
    pages.sort();
    let mut completions = Vec::new();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let path = clap_complete::generate_to(shell, &mut command, &name, &completions_dir)
            .with_context(|| format!("writing the {shell} completion"))?;
        completions.push(path);
    }
    Ok(Written { pages, completions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subcommand_gets_a_page_and_every_shell_a_completion() {
        let command = clap::Command::new("docker-ovn")
            .version("1.0")
            .about("a test")
            .subcommand(clap::Command::new("serve").arg(clap::arg!(--"nb-db" <TARGET> "where")))
            .subcommand(clap::Command::new("status"));
        let dir = tempfile::tempdir().unwrap();
        let written = write(command, dir.path()).unwrap();
        let names: Vec<String> = written
            .pages
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&"docker-ovn.1".to_string()), "{names:?}");
        assert!(
            names.contains(&"docker-ovn-serve.1".to_string()),
            "{names:?}"
        );
        assert!(
            !names.iter().any(|n| n.starts_with("docker-ovn-help")),
            "{names:?}"
        );
        let serve = std::fs::read_to_string(dir.path().join("man1/docker-ovn-serve.1")).unwrap();
        assert!(serve.contains("nb\\-db"), "{serve}");
        assert_eq!(written.completions.len(), 3);
        let bash = std::fs::read_to_string(&written.completions[0]).unwrap();
        assert!(bash.contains("serve") && bash.contains("--nb-db"), "{bash}");
    }
}
