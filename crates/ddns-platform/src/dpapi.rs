//! Windows DPAPI with machine scope (`CryptProtectData` with `CRYPTPROTECT_LOCAL_MACHINE`):
//! bytes sealed so that any process of this machine can open them and no other machine can.
//! Elsewhere both functions answer `Unsupported`; `ddns-secrets` decides when to use them.

use std::io;

/// Seals `clear` for this machine.
pub fn protect(clear: &[u8]) -> io::Result<Vec<u8>> {
    imp::protect(clear)
}

/// Opens bytes [`protect`] sealed on this machine.
pub fn unprotect(sealed: &[u8]) -> io::Result<Vec<u8>> {
    imp::unprotect(sealed)
}

#[cfg(windows)]
#[allow(unsafe_code)]
mod imp {
    use std::io;

    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::Security::Cryptography::{
        CRYPT_INTEGER_BLOB, CRYPTPROTECT_LOCAL_MACHINE, CRYPTPROTECT_UI_FORBIDDEN,
        CryptProtectData, CryptUnprotectData,
    };

    fn blob(data: &[u8]) -> io::Result<CRYPT_INTEGER_BLOB> {
        Ok(CRYPT_INTEGER_BLOB {
            cbData: u32::try_from(data.len())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "value too large"))?,
            // DPAPI only reads the input blob.
            pbData: data.as_ptr().cast_mut(),
        })
    }

    /// Copies DPAPI's output and frees it with `LocalFree`, as its documentation asks.
    fn take(out: CRYPT_INTEGER_BLOB) -> Vec<u8> {
        if out.pbData.is_null() {
            return Vec::new();
        }
        // SAFETY: on success DPAPI hands out `cbData` bytes at `pbData`, allocated with
        // LocalAlloc; they are copied once, then freed once.
        let bytes = unsafe { std::slice::from_raw_parts(out.pbData, out.cbData as usize) }.to_vec();
        // SAFETY: `pbData` came from DPAPI's LocalAlloc and is not used after this.
        unsafe { LocalFree(out.pbData.cast()) };
        bytes
    }

    pub(super) fn protect(clear: &[u8]) -> io::Result<Vec<u8>> {
        let input = blob(clear)?;
        let mut out = CRYPT_INTEGER_BLOB {
            cbData: 0,
            pbData: std::ptr::null_mut(),
        };
        // SAFETY: every pointer is valid for the call or null where the API allows it.
        let ok = unsafe {
            CryptProtectData(
                &input,
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                CRYPTPROTECT_LOCAL_MACHINE | CRYPTPROTECT_UI_FORBIDDEN,
                &mut out,
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(take(out))
    }

    pub(super) fn unprotect(sealed: &[u8]) -> io::Result<Vec<u8>> {
        let input = blob(sealed)?;
        let mut out = CRYPT_INTEGER_BLOB {
            cbData: 0,
            pbData: std::ptr::null_mut(),
        };
        // SAFETY: as in `protect`; no description is asked for.
        let ok = unsafe {
            CryptUnprotectData(
                &input,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                CRYPTPROTECT_UI_FORBIDDEN,
                &mut out,
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(take(out))
    }
}

#[cfg(not(windows))]
mod imp {
    use std::io;

    fn unsupported() -> io::Error {
        io::Error::new(io::ErrorKind::Unsupported, "DPAPI exists on Windows only")
    }

    pub(super) fn protect(_: &[u8]) -> io::Result<Vec<u8>> {
        Err(unsupported())
    }

    pub(super) fn unprotect(_: &[u8]) -> io::Result<Vec<u8>> {
        Err(unsupported())
    }
}
