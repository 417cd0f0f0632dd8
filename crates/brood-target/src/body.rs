//! Response bodies: whole buffers, long runs of the reference text, and paced chunk streams.
//!
//! Large bodies are served as slices of one shared block of text rather than built per request,
//! so `/bytes/{n}` costs the target no memory and little CPU whatever `n` is, which matters when
//! the target shares two cores with the load generator measuring it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::Sleep;

/// The line that the reference text repeats.
const LINE: &[u8] = b"brood target: a body of known bytes for load tests, line after line.\n";

/// Largest frame a pattern body sends at once.
const MAX_FRAME: usize = 64 << 10;

/// Length of each `/slow-body` chunk.
const SLOW_CHUNK_LEN: usize = 10;

/// The first `n` bytes of the reference text that `/bytes`, `/chunked`, `/gzip` and `/brotli`
/// serve: a fixed line repeated and cut at `n`, so callers can compute the expected body.
pub fn text(n: usize) -> Vec<u8> {
    LINE.iter().copied().cycle().take(n).collect()
}

/// The reference text, long enough that any frame of up to [`MAX_FRAME`] bytes starting at any
/// offset within the first line fits inside it.
fn block() -> &'static Bytes {
    static BLOCK: OnceLock<Bytes> = OnceLock::new();
    BLOCK.get_or_init(|| Bytes::from(text(MAX_FRAME + LINE.len())))
}

/// The body of a target response.
#[derive(Debug)]
pub(crate) struct ResponseBody {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Full(Option<Bytes>),
    /// `remaining` more bytes of the reference text, `sent` already gone, in frames of `frame`.
    Text {
        sent: u64,
        remaining: u64,
        frame: usize,
        known_length: bool,
    },
    /// `remaining` chunks of [`SLOW_CHUNK_LEN`] bytes, each after a wait of `interval`.
    Paced {
        next: u32,
        remaining: u32,
        interval: Duration,
        wait: Option<Pin<Box<Sleep>>>,
    },
}

impl ResponseBody {
    pub(crate) fn empty() -> Self {
        Self::full(Bytes::new())
    }

    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let chunk = (!bytes.is_empty()).then_some(bytes);
        Self {
            kind: Kind::Full(chunk),
        }
    }

    /// `len` bytes of the reference text with a known length (so HTTP/1.1 sends Content-Length).
    pub(crate) fn text(len: u64) -> Self {
        Self::text_frames(len, MAX_FRAME, true)
    }

    /// `len` bytes of the reference text in about four frames of unknown total length, so
    /// HTTP/1.1 sends them with chunked transfer encoding, one chunk per frame.
    pub(crate) fn chunked_text(len: u64) -> Self {
        let quarter = usize::try_from(len.div_ceil(4)).unwrap_or(MAX_FRAME);
        Self::text_frames(len, quarter.clamp(1, MAX_FRAME), false)
    }

    fn text_frames(len: u64, frame: usize, known_length: bool) -> Self {
        Self {
            kind: Kind::Text {
                sent: 0,
                remaining: len,
                frame,
                known_length,
            },
        }
    }

    /// `chunks` chunks of ten bytes, the first after `interval` and each next one `interval`
    /// later; chunk `i` reads as `i` in nine zero-padded digits and a newline.
    pub(crate) fn paced(chunks: u32, interval: Duration) -> Self {
        Self {
            kind: Kind::Paced {
                next: 0,
                remaining: chunks,
                interval,
                wait: None,
            },
        }
    }
}

fn text_frame(sent: u64, len: usize) -> Bytes {
    // Both casts are lossless: the remainder is below LINE.len().
    let start = (sent % LINE.len() as u64) as usize;
    block().slice(start..start + len)
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let frame = match &mut self.get_mut().kind {
            Kind::Full(chunk) => chunk.take(),
            Kind::Text {
                sent,
                remaining,
                frame,
                ..
            } => {
                let len = usize::try_from(*remaining).map_or(*frame, |r| r.min(*frame));
                let data = (len > 0).then(|| text_frame(*sent, len));
                *sent += len as u64;
                *remaining -= len as u64;
                data
            }
            Kind::Paced {
                next,
                remaining,
                interval,
                wait,
            } => {
                if *remaining == 0 {
                    return Poll::Ready(None);
                }
                let sleep = wait.get_or_insert_with(|| Box::pin(tokio::time::sleep(*interval)));
                ready!(sleep.as_mut().poll(cx));
                *wait = None;
                let chunk = format!("{next:0width$}\n", width = SLOW_CHUNK_LEN - 1);
                *next += 1;
                *remaining -= 1;
                Some(Bytes::from(chunk))
            }
        };
        Poll::Ready(frame.map(|data| Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(chunk) => chunk.is_none(),
            Kind::Text { remaining, .. } => *remaining == 0,
            Kind::Paced { remaining, .. } => *remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(chunk) => SizeHint::with_exact(chunk.as_ref().map_or(0, |c| c.len() as u64)),
            Kind::Text {
                remaining,
                known_length: true,
                ..
            } => SizeHint::with_exact(*remaining),
            Kind::Text { .. } | Kind::Paced { .. } => SizeHint::default(),
        }
    }
}

/// Reads a request body to its end and returns it, or what arrived before the peer failed.
pub(crate) async fn read_all(body: Incoming) -> Bytes {
    let mut body = body;
    let mut bytes = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    Bytes::from(bytes)
}

/// Reads a request body to its end and returns it, or `None` if it is longer than `limit`
/// bytes. A longer body is still read to its end, without keeping it, so the client has sent
/// everything before the refusal arrives rather than meeting a closed socket mid-send.
pub(crate) async fn read_up_to(body: Incoming, limit: usize) -> Option<Bytes> {
    let mut body = body;
    let mut bytes = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limit {
                discard(body).await;
                return None;
            }
            bytes.extend_from_slice(&data);
        }
    }
    Some(Bytes::from(bytes))
}

/// Reads a request body to its end without keeping it, as a server that used it would.
pub(crate) async fn discard(body: Incoming) {
    let mut body = body;
    while let Some(Ok(_)) = body.frame().await {}
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(body: ResponseBody) -> Vec<Vec<u8>> {
        let mut body = body;
        let mut frames = Vec::new();
        while let Some(frame) = body.frame().await {
            let data = frame.map(|f| f.into_data().unwrap_or_default());
            frames.push(data.unwrap_or_else(|never| match never {}).to_vec());
        }
        frames
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map(|rt| rt.block_on(future))
            .unwrap_or_else(|e| panic!("runtime: {e}"))
    }

    #[test]
    fn long_text_bodies_match_the_reference_text() {
        let n = 3 * MAX_FRAME + 17;
        let frames = block_on(collect(ResponseBody::text(n as u64)));
        assert_eq!(frames.len(), 4);
        assert_eq!(frames.concat(), text(n));
    }

    #[test]
    fn chunked_text_comes_in_several_frames() {
        let body = ResponseBody::chunked_text(100);
        assert_eq!(body.size_hint().exact(), None);
        let frames = block_on(collect(body));
        assert_eq!(frames.len(), 4);
        assert_eq!(frames.concat(), text(100));
        assert_eq!(block_on(collect(ResponseBody::chunked_text(0))).len(), 0);
    }

    #[test]
    fn paced_chunks_are_numbered() {
        let frames = block_on(collect(ResponseBody::paced(3, Duration::ZERO)));
        assert_eq!(frames.concat(), b"000000000\n000000001\n000000002\n");
        assert!(frames.iter().all(|f| f.len() == SLOW_CHUNK_LEN));
    }
}
