//! Where cgroup v2 is and where this process sits in it: parsing
//! `/proc/self/mountinfo` (the `cgroup2` mount; never a hard-coded path)
//! and the `0::` line of `/proc/self/cgroup`, and checking that a directory
//! a user names is a writable cgroup v2 directory.
//!
//! Pure parsing is separate from the file reads so it is unit-tested on
//! sample text. Making cgroups is in [`super`].

use std::path::{Path, PathBuf};

/// `statfs` magic of the cgroup v2 file system.
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// The directory of this process's own cgroup v2, e.g.
/// `/sys/fs/cgroup/unified/` or `/sys/fs/cgroup/system.slice/x.service`.
pub(crate) fn own_cgroup_dir() -> Result<PathBuf, String> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
    let path = v2_path(&cgroup)
        .ok_or("this process is in no cgroup v2 (no \"0::\" line in /proc/self/cgroup)")?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    let mounts = v2_mounts(&mountinfo);
    if mounts.is_empty() {
        return Err("no cgroup2 file system is mounted".into());
    }
    mounts
        .iter()
        .find_map(|(mount, root)| dir_under_mount(mount, root, path))
        .ok_or_else(|| {
            format!("this process's cgroup {path} is not visible under any cgroup2 mount")
        })
}

/// Checks that `dir` is a directory on a cgroup v2 file system that this
/// process may create cgroups in.
pub(crate) fn check_writable_v2_dir(dir: &Path) -> Result<(), String> {
    let stat = rustix::fs::statfs(dir).map_err(|e| format!("cannot stat it: {e}"))?;
    // The field's integer type differs between architectures.
    #[allow(clippy::unnecessary_cast)]
    if stat.f_type as i64 != CGROUP2_SUPER_MAGIC {
        return Err("it is not on a cgroup v2 file system".into());
    }
    if !dir.is_dir() {
        return Err("it is not a directory".into());
    }
    rustix::fs::access(
        dir,
        rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
    )
    .map_err(|e| format!("cannot create cgroups in it: {e}"))
}

/// The path in the `0::` (cgroup v2) line of `/proc/<pid>/cgroup`.
pub(crate) fn v2_path(proc_cgroup: &str) -> Option<&str> {
    proc_cgroup
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(str::trim_end)
}

/// Every `cgroup2` mount in a `mountinfo` text: (mount point, root of the
/// mount inside the hierarchy).
pub(crate) fn v2_mounts(mountinfo: &str) -> Vec<(PathBuf, String)> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            if right.split_whitespace().next()? != "cgroup2" {
                return None;
            }
            let mut fields = left.split_whitespace();
            let root = unescape(fields.nth(3)?);
            let mount = unescape(fields.next()?);
            Some((PathBuf::from(mount), root))
        })
        .collect()
}

/// Where cgroup `path` is under a mount of the hierarchy's `root`.
fn dir_under_mount(mount: &Path, root: &str, path: &str) -> Option<PathBuf> {
    let rel = if root == "/" {
        path
    } else {
        let rest = path.strip_prefix(root)?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        rest
    };
    let rel = rel.trim_start_matches('/');
    Some(if rel.is_empty() {
        mount.to_path_buf()
    } else {
        mount.join(rel)
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space, and so on).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let s = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(s, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn finds_the_v2_mount_beside_v1_controllers() {
        assert_eq!(
            v2_mounts(HYBRID),
            vec![(PathBuf::from("/sys/fs/cgroup/unified"), "/".to_owned())]
        );
    }

    #[test]
    fn reads_the_v2_line_only() {
        let text = "4:memory:/a/b\n0::/system.slice/x.service\n";
        assert_eq!(v2_path(text), Some("/system.slice/x.service"));
        assert_eq!(v2_path("4:memory:/a\n"), None);
    }

    #[test]
    fn joins_the_path_under_the_mount_and_its_root() {
        let mount = Path::new("/sys/fs/cgroup");
        assert_eq!(dir_under_mount(mount, "/", "/"), Some(mount.to_path_buf()));
        assert_eq!(
            dir_under_mount(mount, "/", "/a/b"),
            Some(PathBuf::from("/sys/fs/cgroup/a/b"))
        );
        assert_eq!(
            dir_under_mount(mount, "/a", "/a/b"),
            Some(PathBuf::from("/sys/fs/cgroup/b"))
        );
        assert_eq!(dir_under_mount(mount, "/a", "/ab"), None);
        assert_eq!(dir_under_mount(mount, "/a", "/c"), None);
    }

    #[test]
    fn unescapes_spaces_in_mount_points() {
        let text = "1 2 0:3 / /mnt/my\\040cg rw - cgroup2 none rw\n";
        assert_eq!(v2_mounts(text)[0].0, PathBuf::from("/mnt/my cg"));
    }

    #[test]
    fn a_plain_dir_is_not_a_cgroup_dir() {
        let dir = std::env::temp_dir();
        let err = check_writable_v2_dir(&dir).unwrap_err();
        assert!(err.contains("cgroup v2"), "{err}");
    }
}
