//! Files only the agent's own account may read: the state file holds what was published and the
//! salt its fingerprints are keyed with.
//!
//! The mode is given to `open(2)` itself, so no byte is ever readable by others, not even
//! between creating the file and a later `chmod`. On Windows a new file inherits its directory's
//! ACL, which for the data directories ddns uses is already the account's and the
//! administrators'.

use std::fs::File;
use std::io;
use std::path::Path;

/// Creates `path`, which must not exist, readable and writable by its owner only (mode 0600 on
/// Unix, less the umask).
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// Whether only its owner may read `path` (no group or other permission bits on Unix). On
/// Windows the directory's ACL decides, which ddns sets up, so any file counts as private.
pub fn is_private(path: &Path) -> io::Result<bool> {
    let meta = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        Ok(meta.permissions().mode() & 0o077 == 0)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_private_and_never_over_an_existing_file() {
        let dir = std::env::temp_dir().join(format!("ddns-private-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret");
        let _ = std::fs::remove_file(&path);
        drop(create_private(&path).unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            create_private(&path).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
