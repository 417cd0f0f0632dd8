//! Turning SDK errors into [`BackendError`]s that name the operation, the resource and its
//! region, and deciding which of them are transient.
//!
//! The SDK already retried transient failures (see [`crate::MAX_ATTEMPTS`]) before an error
//! reaches this module, so `transient` here tells the caller that trying again later may work,
//! not that it should loop at once.

use std::error::Error;

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use brood_cluster::BackendError;

/// Error codes AWS services use for throttling and momentary unavailability.
const TRANSIENT_CODES: [&str; 11] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
];

/// The error code the service answered with, e.g. `AWS.SimpleQueueService.NonExistentQueue`.
pub(crate) fn code<E, R>(error: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::ServiceError(e) => e.err().code(),
        _ => None,
    }
}

/// Whether SQS refused to create a queue because one of that name was deleted less than 60 s
/// ago. AWS then answers `AWS.SimpleQueueService.QueueDeletedRecently` (the query protocol's
/// code, which the JSON protocol also sends in its `x-amzn-query-error` header) or
/// `QueueDeletedRecently`; no retry inside the SDK cures it, only waiting out the minute does.
pub fn is_queue_deleted_recently<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    code(error).is_some_and(|c| c.rsplit(['.', '#']).next() == Some("QueueDeletedRecently"))
}

/// Whether trying again later may succeed: timeouts, connection failures, throttling, 5xx.
pub(crate) fn is_transient<E>(error: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(e) => {
            e.raw().status().as_u16() >= 500
                || e.err().code().is_some_and(|c| TRANSIENT_CODES.contains(&c))
        }
        _ => false,
    }
}

/// The error's code and message as the service gave them, else its full chain of causes.
pub(crate) fn describe<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::ServiceError(e) => match (e.err().code(), e.err().message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_string(),
            _ => DisplayErrorContext(error).to_string(),
        },
        _ => DisplayErrorContext(error).to_string(),
    }
}

/// A [`BackendError`] for `operation` on `resource` (which names the region), from an SDK error.
pub(crate) fn from_sdk<E>(
    operation: &'static str,
    resource: &str,
    error: &SdkError<E, HttpResponse>,
) -> BackendError
where
    E: ProvideErrorMetadata + Error + 'static,
{
    BackendError {
        operation,
        resource: resource.to_string(),
        message: describe(error),
        transient: is_transient(error),
    }
}

/// A [`BackendError`] that no retry will cure (a malformed name, a missing object).
pub(crate) fn permanent(
    operation: &'static str,
    resource: &str,
    message: impl Into<String>,
) -> BackendError {
    BackendError {
        operation,
        resource: resource.to_string(),
        message: message.into(),
        transient: false,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::primitives::SdkBody;
    use aws_sdk_sqs::error::ErrorMetadata;
    use aws_sdk_sqs::operation::send_message::SendMessageError;

    use super::*;

    fn service_error(status: u16, code: &str) -> SdkError<SendMessageError, HttpResponse> {
        let raw = http::Response::builder()
            .status(status)
            .body(SdkBody::empty())
            .expect("a response");
        let err = SendMessageError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message("what the service said")
                .build(),
        );
        SdkError::service_error(err, HttpResponse::try_from(raw).expect("a response"))
    }

    #[test]
    fn throttling_5xx_and_timeouts_are_transient() {
        let e = from_sdk(
            "SendMessage",
            "queue q in r",
            &service_error(400, "Throttling"),
        );
        assert!(e.transient, "{e}");
        assert!(from_sdk("SendMessage", "q", &service_error(503, "SlowDown")).transient);
        assert!(from_sdk("SendMessage", "q", &service_error(500, "Whatever")).transient);
        let timeout: SdkError<SendMessageError, HttpResponse> =
            SdkError::timeout_error("took too long");
        assert!(from_sdk("SendMessage", "q", &timeout).transient);
    }

    #[test]
    fn a_queue_name_deleted_recently_is_recognised_in_every_spelling() {
        for code in [
            "AWS.SimpleQueueService.QueueDeletedRecently",
            "QueueDeletedRecently",
            "com.amazonaws.sqs#QueueDeletedRecently",
        ] {
            assert!(
                is_queue_deleted_recently(&service_error(400, code)),
                "{code}"
            );
        }
        for code in [
            "QueueAlreadyExists",
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDeletedRecentlyNot",
            "",
        ] {
            assert!(
                !is_queue_deleted_recently(&service_error(400, code)),
                "{code}"
            );
        }
        let timeout: SdkError<SendMessageError, HttpResponse> = SdkError::timeout_error("slow");
        assert!(!is_queue_deleted_recently(&timeout));
        // Not transient in the SDK's sense: the caller waits out the minute itself.
        let e = from_sdk(
            "CreateQueue",
            "q",
            &service_error(400, "AWS.SimpleQueueService.QueueDeletedRecently"),
        );
        assert!(!e.transient);
    }

    #[test]
    fn refusals_are_permanent_and_say_why() {
        let e = from_sdk(
            "SendMessage",
            "queue brood-default-jobs in eu-west-2",
            &service_error(403, "AccessDenied"),
        );
        assert!(!e.transient);
        assert_eq!(
            e.to_string(),
            "SendMessage on queue brood-default-jobs in eu-west-2: AccessDenied: what the service said"
        );
    }
}
