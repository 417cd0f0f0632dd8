//! The worker binary on its way to the bucket: its debug information and symbols stripped (a
//! debug build of brood is about twice its stripped size, and every instance downloads the binary
//! on boot), then uploaded in parts with its progress on the console.

use std::path::{Path, PathBuf};

use crate::aws::{aws_error, retry};
use crate::elf::{inspect_bytes, ElfInfo};
use crate::FleetError;

/// Parts of a multipart upload (S3 wants at least 5 MiB but the last).
const PART: usize = 8 << 20;

/// Tools tried in turn: binutils' `strip` (its Debian build reads only the host's
/// architecture), then `llvm-strip` (every architecture).
const STRIP_TOOLS: &[&str] = &["strip", "llvm-strip"];

/// The binary without its `.debug_*` sections and symbol table (as `strip`, or cargo's
/// `strip = true`), when it has them and a strip tool on this machine removes them; otherwise
/// the binary as it is, with a warning to print. The result is checked: still an ELF file of the
/// same architecture and glibc needs, with no debug sections and no symbols.
pub fn strip_debug(bytes: Vec<u8>, info: &ElfInfo) -> (Vec<u8>, Option<String>) {
    if info.debug_bytes == 0 && !info.symbols {
        return (bytes, None);
    }
    let arch = info.arch;
    let size = bytes.len();
    // A second or two of work once per run, before any instance exists.
    let stripped = stripped_copy(&bytes);
    match stripped {
        Ok(s)
            if inspect_bytes(&s).is_ok_and(|i| {
                i.arch == arch && i.glibc == info.glibc && i.debug_bytes == 0 && !i.symbols
            }) =>
        {
            eprintln!(
                "brood: stripped the worker binary's debug information and symbols: {:.1} MB -> \
                 {:.1} MB",
                size as f64 / 1e6,
                s.len() as f64 / 1e6
            );
            (s, None)
        }
        other => {
            let why = match other {
                Err(e) => e,
                Ok(_) => "the stripped file did not check out".into(),
            };
            let warning = format!(
                "the worker binary carries symbols or {:.1} MB of debug information and could \
                 not be stripped ({why}); uploading it as it is (scripts/build-worker.sh builds \
                 a stripped one)",
                info.debug_bytes as f64 / 1e6
            );
            (bytes, Some(warning))
        }
    }
}

/// Runs the first strip tool that works on a copy in a private temporary folder.
fn stripped_copy(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let dir = private_dir().map_err(|e| format!("a temporary folder: {e}"))?;
    let result = (|| {
        let input = dir.join("brood");
        let output = dir.join("brood.stripped");
        std::fs::write(&input, bytes).map_err(|e| e.to_string())?;
        let mut tried = Vec::new();
        for tool in STRIP_TOOLS {
            let run = std::process::Command::new(tool)
                .arg("--strip-all")
                .arg("-o")
                .arg(&output)
                .arg(&input)
                .stdin(std::process::Stdio::null())
                .output();
            match run {
                Ok(out) if out.status.success() => {
                    return std::fs::read(&output).map_err(|e| e.to_string())
                }
                Ok(out) => tried.push(format!(
                    "{tool}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )),
                Err(e) => tried.push(format!("{tool}: {e}")),
            }
        }
        Err(tried.join("; "))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A new folder only this user can read, under the system's temporary folder.
fn private_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = base.join(format!("brood-strip-{}-{nanos}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

/// The progress line of an upload.
pub fn progress(sent: usize, total: usize) -> String {
    let percent = (sent * 100).checked_div(total).unwrap_or(100);
    format!(
        "brood: uploaded {:.1} of {:.1} MB ({percent}%)",
        sent as f64 / 1e6,
        total as f64 / 1e6
    )
}

/// Puts `body` at `key`, in parts of [`PART`] when it is larger, printing the progress after
/// each part. A failed multipart upload is aborted, so no part is left billed in the bucket.
pub async fn put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    region: &str,
) -> Result<(), FleetError> {
    let object = format!("s3://{bucket}/{key}");
    if body.len() <= PART {
        retry(&[], || async {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(body.clone().into())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_error("PutObject", region, &object, e))
        })
        .await?;
        eprintln!("{}", progress(body.len(), body.len()));
        return Ok(());
    }
    let upload = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| aws_error("CreateMultipartUpload", region, &object, e))?;
    let Some(id) = upload.upload_id() else {
        return Err(FleetError::Aws {
            operation: "CreateMultipartUpload",
            region: region.into(),
            resource: object,
            message: "no upload id in the answer".into(),
            transient: false,
        });
    };
    let result = put_parts(s3, bucket, key, id, &body, region).await;
    if result.is_err() {
        let _ = s3
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .send()
            .await;
    }
    result
}

async fn put_parts(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    id: &str,
    body: &[u8],
    region: &str,
) -> Result<(), FleetError> {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let object = format!("s3://{bucket}/{key}");
    let mut parts = Vec::new();
    let mut sent = 0;
    for (i, chunk) in body.chunks(PART).enumerate() {
        let number = i as i32 + 1;
        let out = retry(&[], || async {
            s3.upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(id)
                .part_number(number)
                .body(chunk.to_vec().into())
                .send()
                .await
                .map_err(|e| aws_error("UploadPart", region, &object, e))
        })
        .await?;
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag)
                .build(),
        );
        sent += chunk.len();
        eprintln!("{}", progress(sent, body.len()));
    }
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_error("CompleteMultipartUpload", region, &object, e))
}

/// The binary at `path`, read whole.
pub async fn read(path: &Path) -> Result<Vec<u8>, FleetError> {
    tokio::fs::read(path).await.map_err(|e| FleetError::Io {
        path: path.display().to_string(),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::craft::executable;

    #[test]
    fn progress_shows_bytes_and_percent() {
        assert_eq!(
            progress(8_388_608, 20_000_000),
            "brood: uploaded 8.4 of 20.0 MB (41%)"
        );
        assert_eq!(progress(0, 0), "brood: uploaded 0.0 of 0.0 MB (100%)");
    }

    #[test]
    fn a_binary_without_debug_information_is_uploaded_as_it_is() {
        let bytes = executable(0x3e, None, &[], 0);
        let info = inspect_bytes(&bytes).unwrap();
        let (out, warning) = strip_debug(bytes.clone(), &info);
        assert_eq!(out, bytes);
        assert_eq!(warning, None);
    }

    /// This machine's own test binary carries line tables and symbols; the strip tool removes
    /// them.
    #[test]
    fn a_real_build_loses_its_debug_sections() {
        let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let info = inspect_bytes(&bytes).unwrap();
        assert!(info.debug_bytes > 0, "{info:?}");
        let (out, warning) = strip_debug(bytes.clone(), &info);
        assert_eq!(
            warning, None,
            "binutils or llvm strip is expected on this machine"
        );
        assert!(info.symbols);
        assert!(out.len() < bytes.len() - info.debug_bytes as usize / 2);
        let after = inspect_bytes(&out).unwrap();
        assert_eq!(
            (after.arch, after.debug_bytes, after.symbols),
            (info.arch, 0, false)
        );
        assert_eq!(after.glibc, info.glibc);
    }
}
