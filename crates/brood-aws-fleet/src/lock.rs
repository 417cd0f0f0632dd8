//! The run lock: one run at a time per deployment. Two runs on one deployment would break each
//! other (each makes the region's launch template anew, and one's scale-down stops the other's
//! workers), so a run holds an object in the deployment's bucket, [`LOCK_KEY`], from before its
//! fleet starts until it has been taken down.
//!
//! The lock is written with a conditional put (`If-None-Match: *`), which S3 refuses with 412
//! when the object exists, so of two runs starting at once exactly one gets it. It names its run,
//! host and start, and expires when the run's groups stop by their scheduled action anyway (the
//! planned end plus margin): a lock past its expiry was left by a controller that died, and the
//! next run takes it over, by a put conditional on the stale lock's ETag (`If-Match`), so of two
//! runs taking over at once only one wins. Releasing reads the lock back and deletes it only if it
//! still names this run (a run that outlived its lock may have been taken over); between that read
//! and the delete another run could take over, which needs a run that outlived its lock by the
//! same second. `brood cleanup` removes the lock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::aws::{aws_error, code};
use crate::{Aws, FleetError};

/// The bucket key of the run lock.
pub const LOCK_KEY: &str = "run.lock";

/// Who holds the lock, as stored in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub run_id: String,
    /// The controller's host name.
    pub host: String,
    pub started_ms: u64,
    /// After this, the lock may be taken over.
    pub expires_ms: u64,
}

impl LockHolder {
    /// A holder for `run` from now, expiring `lasts` from now.
    pub fn new(run: &str, host: &str, lasts: Duration) -> LockHolder {
        let now = unix_ms(SystemTime::now());
        LockHolder {
            run_id: run.to_string(),
            host: host.to_string(),
            started_ms: now,
            expires_ms: now.saturating_add(lasts.as_millis() as u64),
        }
    }
}

/// A lock this process holds; [`RunLock::release`] gives it up.
#[derive(Clone, Debug)]
pub struct RunLock {
    aws: Aws,
    bucket: String,
    deployment: String,
    pub holder: LockHolder,
    /// What happened on the way: a stale lock taken over, in a sentence for the user.
    pub note: Option<String>,
}

/// A stored lock as read back: its holder (`None`: not readable as one) and its ETag.
struct Stored {
    holder: Option<LockHolder>,
    etag: Option<String>,
}

/// Takes the deployment's run lock for `holder`, or says which run holds it.
pub async fn acquire(
    aws: &Aws,
    deployment: &str,
    bucket: &str,
    holder: LockHolder,
) -> Result<RunLock, FleetError> {
    let body = serde_json::to_vec_pretty(&holder).unwrap_or_default();
    let mut note = None;
    // A lock released or taken over between our calls: look again, a few times.
    for _ in 0..3 {
        if put(aws, bucket, &body, Condition::Absent).await? {
            return Ok(RunLock {
                aws: aws.clone(),
                bucket: bucket.to_string(),
                deployment: deployment.to_string(),
                holder,
                note,
            });
        }
        let Some(stored) = read(aws, bucket).await? else {
            continue;
        };
        let now = unix_ms(SystemTime::now());
        match &stored.holder {
            Some(other) if other.expires_ms > now => {
                return Err(held(deployment, bucket, other));
            }
            other => {
                let etag = stored.etag.clone().unwrap_or_default();
                if put(aws, bucket, &body, Condition::Matches(&etag)).await? {
                    note = Some(match other {
                        Some(o) => format!(
                            "deployment {deployment}: took over the lock of run {} (host {}), \
                             which expired at {}; its controller is gone",
                            o.run_id,
                            o.host,
                            utc(o.expires_ms)
                        ),
                        None => format!(
                            "deployment {deployment}: replaced an unreadable lock \
                             s3://{bucket}/{LOCK_KEY}"
                        ),
                    });
                    return Ok(RunLock {
                        aws: aws.clone(),
                        bucket: bucket.to_string(),
                        deployment: deployment.to_string(),
                        holder,
                        note,
                    });
                }
            }
        }
    }
    // Still contended after three looks: whoever holds it now.
    match read(aws, bucket).await?.and_then(|s| s.holder) {
        Some(other) => Err(held(deployment, bucket, &other)),
        None => Err(FleetError::Deployment {
            deployment: deployment.to_string(),
            message: format!(
                "the run lock s3://{bucket}/{LOCK_KEY} changed while it was being taken; try \
                 again"
            ),
        }),
    }
}

impl RunLock {
    /// Gives the lock up, if it still names this run. Returns whether it was deleted.
    pub async fn release(&self) -> Result<bool, FleetError> {
        let Some(stored) = read(&self.aws, &self.bucket).await? else {
            return Ok(false);
        };
        if stored.holder.as_ref().map(|h| &h.run_id) != Some(&self.holder.run_id) {
            return Ok(false);
        }
        remove(&self.aws, &self.bucket).await?;
        Ok(true)
    }

    pub fn deployment(&self) -> &str {
        &self.deployment
    }
}

/// The lock as it stands, if there is one.
pub async fn holder(aws: &Aws, bucket: &str) -> Result<Option<LockHolder>, FleetError> {
    Ok(read(aws, bucket).await?.and_then(|s| s.holder))
}

/// Deletes the lock whoever holds it (`brood cleanup`); deleting a missing one is no error.
pub async fn remove(aws: &Aws, bucket: &str) -> Result<(), FleetError> {
    aws.s3()
        .delete_object()
        .bucket(bucket)
        .key(LOCK_KEY)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_error("DeleteObject", &aws.home_region, &resource(bucket), e))
}

/// The refusal: which run holds the deployment, since and until when, and the ways past it.
fn held(deployment: &str, bucket: &str, other: &LockHolder) -> FleetError {
    FleetError::Deployment {
        deployment: deployment.to_string(),
        message: format!(
            "run {} (host {}) is using it since {}; its lock s3://{bucket}/{LOCK_KEY} expires at \
             {}. One run at a time per deployment: wait for that run to end, run on another \
             deployment (--deployment NAME), or, if that run's controller is gone, wait for the \
             lock to expire (it is then taken over) or remove it with `brood cleanup \
             --deployment {deployment}`",
            other.run_id,
            other.host,
            utc(other.started_ms),
            utc(other.expires_ms)
        ),
    }
}

enum Condition<'a> {
    /// Only if there is no lock (`If-None-Match: *`).
    Absent,
    /// Only if the lock is still this one (`If-Match: <etag>`).
    Matches(&'a str),
}

/// Writes the lock under `condition`; `false` when S3 refused for the condition (412), or for a
/// conflicting conditional write in progress (409).
async fn put(
    aws: &Aws,
    bucket: &str,
    body: &[u8],
    condition: Condition<'_>,
) -> Result<bool, FleetError> {
    let mut put = aws
        .s3()
        .put_object()
        .bucket(bucket)
        .key(LOCK_KEY)
        .content_type("application/json")
        .body(body.to_vec().into());
    put = match condition {
        Condition::Absent => put.if_none_match("*"),
        Condition::Matches(etag) => put.if_match(etag),
    };
    match put.send().await {
        Ok(_) => Ok(true),
        Err(e) if refused_condition(&e) => Ok(false),
        Err(e) => Err(aws_error(
            "PutObject",
            &aws.home_region,
            &resource(bucket),
            e,
        )),
    }
}

/// S3's answers to a conditional write that lost: 412 PreconditionFailed, or 409
/// ConditionalRequestConflict while another conditional write of the key is in progress.
fn refused_condition<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    matches!(
        code(e),
        Some("PreconditionFailed") | Some("ConditionalRequestConflict")
    )
}

async fn read(aws: &Aws, bucket: &str) -> Result<Option<Stored>, FleetError> {
    let out = match aws
        .s3()
        .get_object()
        .bucket(bucket)
        .key(LOCK_KEY)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if matches!(code(&e), Some("NoSuchKey") | Some("NotFound")) => return Ok(None),
        Err(e) => {
            return Err(aws_error(
                "GetObject",
                &aws.home_region,
                &resource(bucket),
                e,
            ))
        }
    };
    let etag = out.e_tag.clone();
    let bytes = out.body.collect().await.map_err(|e| FleetError::Aws {
        operation: "GetObject",
        region: aws.home_region.clone(),
        resource: resource(bucket),
        message: e.to_string(),
        transient: true,
    })?;
    Ok(Some(Stored {
        holder: serde_json::from_slice(&bytes.into_bytes()).ok(),
        etag,
    }))
}

fn resource(bucket: &str) -> String {
    format!("s3://{bucket}/{LOCK_KEY}")
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A moment as `2026-12-07T22:53:28Z`.
pub fn utc(ms: u64) -> String {
    use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
    DateTime::from_secs((ms / 1000) as i64)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| format!("{ms} ms after 1970"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_shown_in_utc() {
        assert_eq!(utc(1_796_684_008_250), "2026-12-07T22:53:28Z");
    }

    #[test]
    fn a_holder_expires_after_what_it_is_given() {
        let h = LockHolder::new("r1", "box", Duration::from_secs(60));
        assert_eq!(h.expires_ms - h.started_ms, 60_000);
        let text = held("team", "b", &h).to_string();
        for part in [
            "team",
            "r1",
            "box",
            "expires at",
            "--deployment",
            "brood cleanup",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }
}
