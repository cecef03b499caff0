//! The plugin's unix socket file: claiming the path safely, and removing it
//! again without ever deleting a file that is not ours.
//!
//! Binding happens inside a fresh 0700 directory next to the final path;
//! the socket gets its mode there and is then renamed into place. So there
//! is no moment in which the socket is reachable with a laxer mode than
//! asked for, and a restarting plugin swaps the file atomically.

use std::fs::{self, DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Identifies the socket file we created by path, device and inode.
#[derive(Debug, Clone)]
pub(crate) struct SocketId {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl SocketId {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file if it is still the one we bound: after a restart
    /// race the path may belong to a newer instance, which we must not break.
    pub(crate) fn remove(&self) {
        let Ok(meta) = fs::symlink_metadata(&self.path) else {
            return;
        };
        if meta.dev() != self.dev || meta.ino() != self.ino {
            return;
        }
        match fs::remove_file(&self.path) {
            Ok(()) => tracing::debug!(path = %self.path.display(), "removed plugin socket"),
            Err(err) => {
                tracing::warn!(path = %self.path.display(), %err, "cannot remove plugin socket")
            }
        }
    }
}

/// Owns the socket file: removes it when dropped.
#[derive(Debug)]
pub(crate) struct SocketFile(SocketId);

impl SocketFile {
    pub(crate) fn id(&self) -> &SocketId {
        &self.0
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        self.0.remove();
    }
}

/// Binds a non-blocking listener at `path` with permissions `mode`,
/// creating the parent directory and replacing a stale socket file.
pub(crate) fn bind(path: &Path, mode: u32) -> Result<(UnixListener, SocketFile), Error> {
    let Some(name) = path.file_name() else {
        let err = io::Error::new(io::ErrorKind::InvalidInput, "not a file path");
        return Err(Error::io("binding", path, err));
    };
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| Error::io("creating directory", parent, e))?;
    clear_stale(path)?;
    let staging = parent.join(format!(
        ".{}.{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let bound = bind_staged(&staging, path, mode);
    // Whatever happened, the staging directory is ours and must go.
    let _ = fs::remove_file(staging.join("s"));
    let _ = fs::remove_dir(&staging);
    bound
}

/// Decides whether an existing file at `path` may be replaced: only a socket
/// nobody answers on (a crashed plugin's leftover).
fn clear_stale(path: &Path) -> Result<(), Error> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(Error::io("inspecting", path, err)),
    };
    if !meta.file_type().is_socket() {
        return Err(Error::NotASocket(path.to_owned()));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(Error::AlreadyListening(path.to_owned())),
        Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(path = %path.display(), "replacing stale plugin socket");
            match fs::remove_file(path) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => {
                    Err(Error::io("removing stale socket", path, err))
                }
                _ => Ok(()),
            }
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(Error::io("probing existing socket", path, err)),
    }
}

fn bind_staged(
    staging: &Path,
    path: &Path,
    mode: u32,
) -> Result<(UnixListener, SocketFile), Error> {
    // A leftover from a crashed run with our pid is ours to clear.
    let _ = fs::remove_file(staging.join("s"));
    let _ = fs::remove_dir(staging);
    DirBuilder::new()
        .mode(0o700)
        .create(staging)
        .map_err(|e| Error::io("creating staging directory", staging, e))?;
    let staged = staging.join("s");
    let listener = UnixListener::bind(&staged).map_err(|e| Error::io("binding", &staged, e))?;
    fs::set_permissions(&staged, Permissions::from_mode(mode))
        .map_err(|e| Error::io("setting the mode of", &staged, e))?;
    fs::rename(&staged, path).map_err(|e| Error::io("moving the socket to", path, e))?;
    let meta = fs::symlink_metadata(path).map_err(|e| Error::io("inspecting", path, e))?;
    let socket = SocketFile(SocketId {
        path: path.to_owned(),
        dev: meta.dev(),
        ino: meta.ino(),
    });
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::io("configuring", path, e))?;
    Ok((listener, socket))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn binds_with_mode_and_creates_parent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugins/ovn.sock");
        let (_listener, socket) = bind(&path, 0o600).unwrap();
        assert!(fs::symlink_metadata(&path).unwrap().file_type().is_socket());
        assert_eq!(mode_of(&path), 0o600);
        // No staging leftovers next to the socket.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("ovn.sock")]);
        drop(socket);
        assert!(!path.exists());
    }

    #[test]
    fn stale_socket_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ovn.sock");
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let (_listener, _socket) = bind(&path, 0o600).unwrap();
        assert_eq!(mode_of(&path), 0o600);
    }

    #[test]
    fn live_socket_is_not_stolen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ovn.sock");
        let _live = UnixListener::bind(&path).unwrap();
        let err = bind(&path, 0o600).unwrap_err();
        assert!(matches!(err, Error::AlreadyListening(_)), "{err}");
        assert!(
            err.to_string().contains("another plugin is listening"),
            "{err}"
        );
        assert!(UnixStream::connect(&path).is_ok());
    }

    #[test]
    fn regular_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ovn.sock");
        fs::write(&path, "precious").unwrap();
        let err = bind(&path, 0o600).unwrap_err();
        assert!(matches!(err, Error::NotASocket(_)), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "precious");
    }

    #[test]
    fn a_replaced_file_is_not_removed_by_the_old_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ovn.sock");
        let (listener, socket) = bind(&path, 0o600).unwrap();
        drop(listener);
        fs::remove_file(&path).unwrap();
        fs::write(&path, "successor").unwrap();
        drop(socket);
        assert_eq!(fs::read_to_string(&path).unwrap(), "successor");
    }
}
