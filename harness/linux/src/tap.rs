//! The TAP device: `/dev/net/tun` opened and attached with `ioctl(TUNSETIFF)` as
//! `IFF_TAP | IFF_NO_PI`, so that each `read`/`write` is one whole Ethernet frame.

// Justification for the one unsafe block of this crate: attaching a file to a TAP device is
// only possible through ioctl(TUNSETIFF), which neither std nor nix wraps (nix only offers
// macros that generate unsafe functions). The call passes a pointer to a properly sized,
// zero-initialised `struct ifreq` that lives across the call; the kernel writes at most
// `sizeof(struct ifreq)` bytes into it.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

/// `_IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54CA;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;

/// `struct ifreq` as TUNSETIFF reads it: the name and the flags (the union's first member),
/// padded to the kernel's 40 bytes.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Opens `/dev/net/tun` non-blocking and creates TAP device `name` in the calling thread's
/// network namespace.
pub fn open(name: &str) -> io::Result<File> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name must be 1 to 15 bytes",
        ));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/net/tun")?;
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags: IFF_TAP | IFF_NO_PI,
        _pad: [0; 22],
    };
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: `file` is an open descriptor of /dev/net/tun; `req` is a valid, writable
    // `struct ifreq`-sized buffer for the duration of the call.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF as _, &mut req as *mut IfReq) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}
