//! The lab's container image, `docker-ovn/busybox:latest`. There is no image
//! registry here, so it is imported from a root filesystem made of the
//! static busybox binary and a symlink per applet.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};

use super::cmd::{self, say};
use super::docker::docker;

pub const IMAGE: &str = "docker-ovn/busybox:latest";

const DOCKER_TIMEOUT: Duration = Duration::from_secs(120);

/// Imports the image unless Docker already has it.
pub fn ensure(lab_dir: &Path) -> anyhow::Result<()> {
    if cmd::succeeds(docker(&["image", "inspect", IMAGE]), DOCKER_TIMEOUT) {
        say(format!("image: {IMAGE} present"));
        return Ok(());
    }
    let work = lab_dir.join("image");
    // A leftover from an interrupted import would be mixed in: start clean.
    let _ = std::fs::remove_dir_all(&work);
    let built = build(&work);
    let _ = std::fs::remove_dir_all(&work);
    built?;
    say(format!("image: imported {IMAGE}"));
    Ok(())
}

fn build(work: &Path) -> anyhow::Result<()> {
    let rootfs = work.join("rootfs");
    make_rootfs(&rootfs)?;
    let tarball = work.join("rootfs.tar");
    let mut tar = cmd::command("tar");
    tar.arg("-C").arg(&rootfs).arg("-cf").arg(&tarball).arg(".");
    cmd::run(tar, DOCKER_TIMEOUT).context("packing the image's root filesystem")?;
    let mut import = docker(&["import", "--change", r#"CMD ["/bin/sh"]"#]);
    import.arg(&tarball).arg(IMAGE);
    cmd::run(import, DOCKER_TIMEOUT).with_context(|| format!("importing {IMAGE}"))?;
    Ok(())
}

/// `bin/busybox`, `bin/<applet>` -> busybox, and the directories runc
/// mounts onto.
fn make_rootfs(rootfs: &Path) -> anyhow::Result<()> {
    let busybox =
        cmd::find_binary("busybox").context("busybox not found (Debian package busybox-static)")?;
    let bin = rootfs.join("bin");
    for dir in ["bin", "etc", "proc", "sys", "dev", "tmp", "root"] {
        std::fs::create_dir_all(rootfs.join(dir))
            .with_context(|| format!("cannot create {dir} in {}", rootfs.display()))?;
    }
    std::fs::copy(&busybox, bin.join("busybox"))
        .with_context(|| format!("cannot copy {}", busybox.display()))?;
    let mut list = cmd::command("busybox");
    list.arg("--list");
    let applets = cmd::run(list, Duration::from_secs(10))?;
    for applet in applets.lines().map(str::trim).filter(|a| is_applet_name(a)) {
        std::os::unix::fs::symlink("busybox", bin.join(applet))
            .with_context(|| format!("cannot link applet {applet}"))?;
    }
    if !bin.join("sh").exists() {
        bail!("{} has no sh applet", busybox.display());
    }
    Ok(())
}

/// An applet name that is safe as a file name in `bin/` (and not busybox itself).
fn is_applet_name(name: &str) -> bool {
    !name.is_empty() && name != "busybox" && !name.contains('/') && name != "." && name != ".."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applet_names_are_plain_file_names() {
        assert!(is_applet_name("sh"));
        assert!(is_applet_name("ping"));
        assert!(!is_applet_name("busybox"));
        assert!(!is_applet_name(""));
        assert!(!is_applet_name("../x"));
        assert!(!is_applet_name(".."));
    }

    #[test]
    fn rootfs_has_busybox_and_its_applets() {
        let dir = tempfile::tempdir().expect("tempdir");
        make_rootfs(dir.path()).expect("rootfs (needs the Debian package busybox-static)");
        assert!(dir.path().join("bin/busybox").is_file());
        let sh = std::fs::read_link(dir.path().join("bin/sh")).expect("sh is a symlink");
        assert_eq!(sh, Path::new("busybox"));
        assert!(dir.path().join("proc").is_dir());
    }
}
