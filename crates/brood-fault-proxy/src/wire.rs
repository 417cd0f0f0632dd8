//! AWS's wire formats, as far as the proxy needs them: which service and action a request is
//! (the signature's scope, `X-Amz-Target` or the form's `Action=`), and errors in each
//! protocol's own shape, exactly as the SDK parses them: AWS JSON 1.0 with the query-compatible
//! `x-amzn-query-error` header (SQS), the EC2 query protocol's `<Response><Errors>`, and the
//! query protocol's `<ErrorResponse>` (AutoScaling, IAM, STS). Also the failed scaling activity
//! added to a `DescribeScalingActivities` answer.

use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderMap, StatusCode};

use crate::rules::Call;

/// What a request is, from its headers, query string and body.
pub(crate) fn call(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Call {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // `Credential=AKID/20260101/us-east-1/sqs/aws4_request`
    let service = header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or_default()
        .to_string();
    let mut call = Call {
        service,
        ..Call::default()
    };
    if let Some(target) = header("x-amz-target") {
        call.action = target.rsplit('.').next().unwrap_or(target).to_string();
        let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let text = |k: &str| json.get(k).and_then(|v| v.as_str()).map(String::from);
        call.queue = text("QueueName").or_else(|| text("QueueUrl").map(queue_of_url));
        call.group = text("AutoScalingGroupName");
        return call;
    }
    let form = header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
        .then(|| String::from_utf8_lossy(body).into_owned());
    let pairs: Vec<(String, String)> = [query.unwrap_or_default(), form.as_deref().unwrap_or("")]
        .iter()
        .flat_map(|text| text.split('&'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let param = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    call.action = param("Action").unwrap_or_default();
    call.queue = param("QueueName").or_else(|| param("QueueUrl").map(queue_of_url));
    call.group = param("AutoScalingGroupName");
    call
}

fn queue_of_url(url: String) -> String {
    url.rsplit('/').next().unwrap_or_default().to_string()
}

/// Percent-decoding of a form field (`+` is a space).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An error answer as the service would give it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ErrorAnswer {
    pub status: StatusCode,
    pub content_type: &'static str,
    /// `x-amzn-query-error` (JSON protocol only).
    pub query_error: Option<String>,
    pub body: String,
}

/// The service's throttling error: (status, code, message).
pub(crate) fn throttling(call: &Call, json: bool) -> (u16, &'static str, &'static str) {
    match (call.service.as_str(), json) {
        ("ec2", _) => (503, "RequestLimitExceeded", "Request limit exceeded."),
        ("sqs", true) => (400, "RequestThrottled", "Request is throttled."),
        _ => (400, "Throttling", "Rate exceeded"),
    }
}

/// An error in the protocol the request used; `json` when it came with `X-Amz-Target`.
pub(crate) fn error_answer(
    call: &Call,
    json: bool,
    status: u16,
    code: &str,
    message: &str,
    request_id: &str,
) -> ErrorAnswer {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    if json {
        // The shape's name is the query code's last part: the SDK takes the code from the
        // header, as AWS sends it (`AWS.SimpleQueueService.QueueDeletedRecently;Sender`).
        let shape = code.rsplit('.').next().unwrap_or(code);
        let body = serde_json::json!({
            "__type": format!("com.amazonaws.{}#{shape}", call.service),
            "message": message,
        });
        return ErrorAnswer {
            status,
            content_type: "application/x-amz-json-1.0",
            // Only SQS of the JSON services speaks the query-compatible dialect.
            query_error: (call.service == "sqs").then(|| format!("{code};Sender")),
            body: body.to_string(),
        };
    }
    let (code, message) = (xml_escape(code), xml_escape(message));
    let body = if call.service == "ec2" {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>\
             <Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    } else {
        let namespace = match call.service.as_str() {
            "autoscaling" => "http://autoscaling.amazonaws.com/doc/2011-01-01/",
            "iam" => "https://iam.amazonaws.com/doc/2010-05-08/",
            "sts" => "https://sts.amazonaws.com/doc/2011-06-15/",
            _ => "http://queue.amazonaws.com/doc/2012-11-05/",
        };
        format!(
            "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    };
    ErrorAnswer {
        status,
        content_type: "text/xml",
        query_error: None,
        body,
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A `DescribeScalingActivities` answer with a failed launch of `group`, started and ended
/// `now`, put first (AutoScaling lists the newest first). A body without an activity list is
/// returned unchanged.
pub(crate) fn with_failed_activity(
    body: &[u8],
    group: &str,
    message: &str,
    now: SystemTime,
) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let at = rfc3339(now);
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let member = format!(
        "<member><ActivityId>f0000000-0000-4000-8000-{:012x}</ActivityId>\
         <AutoScalingGroupName>{group}</AutoScalingGroupName>\
         <Description>Launching a new EC2 instance.  Status Reason: {message}</Description>\
         <Cause>At {at} an instance was started in response to a difference between desired and \
         actual capacity, increasing the capacity from 0 to 1.</Cause>\
         <StartTime>{at}</StartTime><EndTime>{at}</EndTime><StatusCode>Failed</StatusCode>\
         <StatusMessage>{message}</StatusMessage><Progress>100</Progress></member>",
        since.as_millis() & 0xffff_ffff_ffff,
        group = xml_escape(group),
        message = xml_escape(message),
    );
    let rewritten = if let Some(i) = text.find("<Activities>") {
        let at = i + "<Activities>".len();
        format!("{}{member}{}", &text[..at], &text[at..])
    } else if text.contains("<Activities/>") {
        text.replacen(
            "<Activities/>",
            &format!("<Activities>{member}</Activities>"),
            1,
        )
    } else {
        return body.to_vec();
    };
    rewritten.into_bytes()
}

/// `2026-12-07T22:53:28Z`, the form AutoScaling writes times in.
fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    const SIGNED: &str = "AWS4-HMAC-SHA256 Credential=testing/20261207/eu-west-1/{}/aws4_request, \
                          SignedHeaders=host, Signature=00";

    fn signed(service: &str) -> String {
        SIGNED.replace("{}", service)
    }

    #[test]
    fn a_json_call_is_known_by_its_target_and_a_query_call_by_its_action() {
        let sqs = signed("sqs");
        let c = call(
            &headers(&[
                ("authorization", &sqs),
                ("x-amz-target", "AmazonSQS.DeleteQueue"),
            ]),
            None,
            br#"{"QueueUrl": "http://127.0.0.1:1/123456789012/brood-a_ctl-r1-w1"}"#,
        );
        assert_eq!(
            (c.service.as_str(), c.action.as_str(), c.queue.as_deref()),
            ("sqs", "DeleteQueue", Some("brood-a_ctl-r1-w1"))
        );
        let asg = signed("autoscaling");
        let c = call(
            &headers(&[
                ("authorization", &asg),
                ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
            ]),
            None,
            b"Action=DescribeScalingActivities&Version=2011-01-01&AutoScalingGroupName=brood-a%2Db+x-workers",
        );
        assert_eq!(
            (c.service.as_str(), c.action.as_str(), c.group.as_deref()),
            (
                "autoscaling",
                "DescribeScalingActivities",
                Some("brood-a-b x-workers")
            )
        );
        let c = call(&headers(&[]), Some("Action=DescribeRegions&x=%4"), b"");
        assert_eq!(
            (c.service.as_str(), c.action.as_str()),
            ("", "DescribeRegions")
        );
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("a%2"), "a%2");
        assert_eq!(decode("%41%zz"), "A%zz");
    }

    #[test]
    fn errors_take_each_protocols_shape() {
        let sqs = Call {
            service: "sqs".into(),
            ..Call::default()
        };
        let e = error_answer(
            &sqs,
            true,
            400,
            "AWS.SimpleQueueService.QueueDeletedRecently",
            "wait",
            "r",
        );
        assert_eq!(
            e.query_error.as_deref(),
            Some("AWS.SimpleQueueService.QueueDeletedRecently;Sender")
        );
        assert!(
            e.body.contains("com.amazonaws.sqs#QueueDeletedRecently"),
            "{}",
            e.body
        );
        let ec2 = Call {
            service: "ec2".into(),
            ..Call::default()
        };
        let e = error_answer(
            &ec2,
            false,
            400,
            "DependencyViolation",
            "a <dependent> object",
            "r",
        );
        assert!(
            e.body
                .contains("<Errors><Error><Code>DependencyViolation</Code>")
                && e.body.contains("a &lt;dependent&gt; object"),
            "{}",
            e.body
        );
        assert_eq!(throttling(&ec2, false).0, 503);
    }

    #[test]
    fn a_failed_activity_goes_first_in_the_list() {
        let at = UNIX_EPOCH + Duration::from_secs(1_796_684_008);
        let body = b"<R><DescribeScalingActivitiesResult><Activities><member><ActivityId>old\
                     </ActivityId></member></Activities></DescribeScalingActivitiesResult></R>";
        let out = String::from_utf8(with_failed_activity(body, "g", "vCPU & quota", at)).unwrap();
        let failed = out.find("<StatusCode>Failed").unwrap();
        assert!(failed < out.find("old").unwrap(), "{out}");
        assert!(
            out.contains("<StartTime>2026-12-07T22:53:28Z</StartTime>"),
            "{out}"
        );
        assert!(out.contains("vCPU &amp; quota"), "{out}");
        let empty = with_failed_activity(b"<Activities/>", "g", "m", at);
        assert!(String::from_utf8(empty)
            .unwrap()
            .starts_with("<Activities><member>"));
        assert_eq!(with_failed_activity(b"<Other/>", "g", "m", at), b"<Other/>");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }
}
