//! Decodes a CloudWatch Logs subscription payload: base64, gzip under a size cap, then the JSON batch.

use std::borrow::Cow;
use std::io::Read;

use serde::Deserialize;

/// Largest batch we inflate. CloudWatch sends at most ~1 MB compressed; anything that inflates
/// past this is a gzip bomb or not CloudWatch, and is refused before it can exhaust memory.
pub const MAX_DECOMPRESSED_BYTES: usize = 32 << 20;

/// Deflate's best ratio: a 258-byte match costs at least two bits, so no stream inflates to more
/// than about 1,032 times its length. A trailer claiming more is a lie and is not allocated for.
const MAX_DEFLATE_RATIO: usize = 1032;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("payload of {len} bytes is not valid base64: {source}")]
    Base64 {
        len: usize,
        #[source]
        source: base64_simd::Error,
    },
    #[error("payload is not a complete gzip stream: {0}")]
    Gzip(#[source] std::io::Error),
    #[error("payload inflates beyond the {limit}-byte cap (gzip bomb or oversized batch)")]
    TooLarge { limit: usize },
    #[error("payload is not a CloudWatch Logs batch: {0}")]
    Json(#[source] simd_json::Error),
}

impl DecodeError {
    /// Low-cardinality name for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Base64 { .. } => "base64",
            DecodeError::Gzip(_) => "gzip",
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::Json(_) => "json",
        }
    }
}

/// Standard base64 (what CloudWatch and Kinesis use), SIMD-accelerated.
pub fn decode_base64(data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    decode_base64_into(data, &mut out)?;
    Ok(out)
}

/// [`decode_base64`] into `out` (cleared first), reusing its memory.
#[inline(never)]
pub fn decode_base64_into(data: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    out.clear();
    base64_simd::STANDARD.decode_append(data, out).map_err(|source| DecodeError::Base64 { len: data.len(), source })
}

/// Inflates a gzip stream, refusing more than `limit` bytes of output.
///
/// CloudWatch Logs sends one gzip member whose trailer states the inflated size, so the output is
/// allocated once and inflated in one call by libdeflate. A stream that does not fit that shape
/// (several members, a trailer that disagrees or claims more than the cap) takes the streaming
/// decoder, which stops at the cap and reports what is really wrong. One shape cannot be told
/// apart without the consumed-input count libdeflater does not expose: several members whose last
/// one inflates to exactly the bytes of the first (equal size and CRC-32) read as the first alone.
pub fn inflate(gz: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    inflate_into(gz, limit, &mut out)?;
    Ok(out)
}

/// [`inflate`] into `out` (its contents replaced), reusing its memory.
#[inline(never)]
pub fn inflate_into(gz: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let trailer = gz.len().checked_sub(8).and_then(|at| gz.get(at..)).and_then(|t| <[u8; 8]>::try_from(t).ok());
    let Some(trailer) = trailer else {
        return Err(DecodeError::Gzip(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "shorter than a gzip trailer",
        )));
    };
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    // ISIZE is the inflated size mod 2^32: only a claim. A claim past the cap, or past what
    // deflate could produce from this many bytes, allocates nothing here (a 100-byte payload must
    // not make a warm process zero 32 MiB); the streaming decoder finds out what the stream holds.
    let declared = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]) as usize;
    if declared > limit || declared > gz.len().saturating_mul(MAX_DEFLATE_RATIO) {
        return inflate_streaming(gz, limit, out);
    }
    // Not cleared first: what the last delivery left is overwritten whole (libdeflate writes
    // exactly `declared` bytes or the streaming decoder starts over), so only new room is zeroed.
    out.resize(declared, 0);
    match libdeflater::Decompressor::new().gzip_decompress(gz, out) {
        // libdeflate checked the first member against its own trailer; the stream's last trailer
        // agreeing on size and checksum means that member was the whole stream.
        Ok(n) if n == declared && n > 0 && libdeflater::crc32(out) == crc => Ok(()),
        Err(libdeflater::DecompressionError::BadData) => {
            Err(DecodeError::Gzip(std::io::Error::new(std::io::ErrorKind::InvalidData, "corrupt gzip stream")))
        }
        _ => inflate_streaming(gz, limit, out),
    }
}

/// Any gzip stream (concatenated members included), inflated piece by piece up to `limit` bytes.
fn inflate_streaming(gz: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    out.clear();
    out.reserve(gz.len().min(limit));
    let mut decoder = flate2::read::MultiGzDecoder::new(gz).take(limit as u64 + 1);
    decoder.read_to_end(out).map_err(DecodeError::Gzip)?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    if out.is_empty() {
        return Err(DecodeError::Gzip(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "empty gzip stream")));
    }
    Ok(())
}

/// One subscription delivery. Strings borrow from the inflated buffer unless they carry escapes;
/// unknown fields (`policyLevel` from account-level policies, anything newer) are accepted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogBatch<'a> {
    #[serde(borrow)]
    pub message_type: Cow<'a, str>,
    #[serde(borrow, default)]
    pub owner: Cow<'a, str>,
    #[serde(borrow, default)]
    pub log_group: Cow<'a, str>,
    #[serde(borrow, default)]
    pub log_stream: Cow<'a, str>,
    #[serde(borrow, default)]
    pub subscription_filters: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub log_events: Vec<LogEvent<'a>>,
}

impl LogBatch<'_> {
    /// CloudWatch's reachability probe when a subscription is created: carries no log data.
    pub fn is_control(&self) -> bool {
        self.message_type == "CONTROL_MESSAGE"
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LogEvent<'a> {
    #[serde(borrow, default)]
    pub id: Cow<'a, str>,
    #[serde(default)]
    pub timestamp: i64,
    #[serde(borrow)]
    pub message: Cow<'a, str>,
}

/// Parses the batch in place: escaped strings are unescaped into `json` itself, so every string
/// borrows from it and none is copied (simd-json also validates UTF-8).
pub fn parse_batch(json: &mut [u8]) -> Result<LogBatch<'_>, DecodeError> {
    parse_batch_with(json, &mut simd_json::Buffers::default())
}

/// [`parse_batch`] with the parser's working memory from `parser`.
#[inline(never)]
pub fn parse_batch_with<'a>(json: &'a mut [u8], parser: &mut simd_json::Buffers) -> Result<LogBatch<'a>, DecodeError> {
    simd_json::serde::from_slice_with_buffers(json, parser).map_err(DecodeError::Json)
}

/// base64 + gzip, as both the direct subscription (`awslogs.data`) and Kinesis records carry it
/// (Kinesis hands the record already base64-decoded: use [`inflate`] directly).
pub fn decode_awslogs(data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    inflate(&decode_base64(data)?, MAX_DECOMPRESSED_BYTES)
}

/// The memory one delivery is decoded into, kept for the next: a warm process then writes into
/// pages it already has instead of faulting in about 10 MB of fresh ones per delivery (with the
/// records, those faults were about a fifth of a delivery's CPU time). Buffers that grew past
/// [`RETAINED_BYTES`] are given back after their delivery, so one outsized batch does not pin its
/// memory for the life of the process.
#[derive(Default)]
pub struct DecodeBuffers {
    gzip: Vec<u8>,
    json: Vec<u8>,
    /// The one-pass reader's (every batch CloudWatch writes), and simd-json's (any other).
    batch: crate::batch::Scratch,
    parser: simd_json::Buffers,
}

/// The most a kept buffer may hold: room for a full CloudWatch delivery (about 1 MB compressed,
/// a few MB inflated) several times over.
pub const RETAINED_BYTES: usize = 16 << 20;

impl std::fmt::Debug for DecodeBuffers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodeBuffers")
            .field("gzip_capacity", &self.gzip.capacity())
            .field("json_capacity", &self.json.capacity())
            .finish_non_exhaustive()
    }
}

impl DecodeBuffers {
    /// `awslogs.data` (base64 + gzip) decoded and parsed into a batch borrowing from these buffers.
    pub fn awslogs(&mut self, data: &[u8]) -> Result<LogBatch<'_>, DecodeError> {
        decode_base64_into(data, &mut self.gzip)?;
        inflate_into(&self.gzip, MAX_DECOMPRESSED_BYTES, &mut self.json)?;
        self.parse()
    }

    /// A gzip payload (a Kinesis record) inflated and parsed into a batch borrowing from these buffers.
    pub fn gzip(&mut self, gz: &[u8]) -> Result<LogBatch<'_>, DecodeError> {
        inflate_into(gz, MAX_DECOMPRESSED_BYTES, &mut self.json)?;
        self.parse()
    }

    /// The inflated JSON read in one pass ([`crate::batch`]) or, where that declines, by simd-json.
    #[inline(never)]
    fn parse(&mut self) -> Result<LogBatch<'_>, DecodeError> {
        match crate::batch::plan(&self.json, &mut self.batch) {
            Some(plan) => crate::batch::build(&self.json, &plan, &self.batch),
            None => parse_batch_with(&mut self.json, &mut self.parser),
        }
    }

    /// After a delivery: buffers past [`RETAINED_BYTES`] are given back; the rest are kept as
    /// they are (each use replaces what a buffer holds, and the inflate buffer's length is kept
    /// so the next delivery's inflate does not zero what it is about to overwrite).
    pub fn release(&mut self) {
        let oversized = self.json.capacity() > RETAINED_BYTES;
        for buffer in [&mut self.gzip, &mut self.json] {
            if buffer.capacity() > RETAINED_BYTES {
                *buffer = Vec::new();
            }
        }
        // The parser's buffers grow with the JSON it was given; their sizes are not exposed.
        if oversized {
            self.parser = simd_json::Buffers::default();
        }
        if self.batch.capacity_bytes() > RETAINED_BYTES {
            self.batch = crate::batch::Scratch::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("write");
        e.finish().expect("finish")
    }

    const BATCH: &str = r#"{"messageType":"DATA_MESSAGE","owner":"111111111111","logGroup":"/abc-trading/dev/audit",
        "logStream":"pod-1","subscriptionFilters":["all"],"policyLevel":"ACCOUNT_LEVEL_POLICY",
        "logEvents":[{"id":"1","timestamp":1700000000000,"message":"plain \"quoted\" line"},
                     {"id":"2","timestamp":1700000000001,"message":"second","extractedFields":{}}]}"#;

    #[test]
    fn a_batch_round_trips_with_unknown_fields_accepted() {
        let encoded = base64_simd::STANDARD.encode_to_string(gzip(BATCH.as_bytes()));
        let mut json = decode_awslogs(encoded.as_bytes()).expect("decodes");
        let batch = parse_batch(&mut json).expect("parses");
        assert!(!batch.is_control());
        assert_eq!(batch.log_group, "/abc-trading/dev/audit");
        assert_eq!(batch.log_events.len(), 2);
        assert_eq!(batch.log_events[0].message, "plain \"quoted\" line");
        assert!(matches!(batch.log_events[0].message, Cow::Borrowed(_)), "escapes are undone in place, not copied");
        assert!(matches!(batch.log_events[1].message, Cow::Borrowed(_)));
    }

    #[test]
    fn bad_input_gets_a_typed_error() {
        assert_eq!(decode_awslogs(b"not base64 at all!").expect_err("b64").kind(), "base64");
        let gz = gzip(BATCH.as_bytes());
        let truncated = base64_simd::STANDARD.encode_to_string(&gz[..gz.len() / 2]);
        assert_eq!(decode_awslogs(truncated.as_bytes()).expect_err("truncated").kind(), "gzip");
        let not_gzip = base64_simd::STANDARD.encode_to_string(b"{\"plain\":\"json\"}");
        assert_eq!(decode_awslogs(not_gzip.as_bytes()).expect_err("not gzip").kind(), "gzip");
        assert_eq!(decode_awslogs(b"").expect_err("empty").kind(), "gzip");
        let garbage = gzip(b"{\"messageType\": 12");
        assert_eq!(parse_batch(&mut inflate(&garbage, 1 << 20).expect("inflates")).expect_err("json").kind(), "json");
        let latin1 = gzip(b"{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[{\"message\":\"caf\xe9\"}]}");
        assert_eq!(parse_batch(&mut inflate(&latin1, 1 << 20).expect("inflates")).expect_err("utf-8").kind(), "json");
    }

    #[test]
    fn a_gzip_bomb_is_refused_at_the_cap() {
        // 64 MiB of zeros compresses to ~64 KiB; the cap stops inflation at 32 MiB + 1 byte.
        let bomb = gzip(&vec![0u8; 64 << 20]);
        assert!(bomb.len() < 1 << 20);
        let err = inflate(&bomb, MAX_DECOMPRESSED_BYTES).expect_err("bomb");
        assert!(matches!(err, DecodeError::TooLarge { limit } if limit == MAX_DECOMPRESSED_BYTES), "{err}");
    }

    #[test]
    fn a_forged_size_trailer_does_not_drive_allocation() {
        let mut gz = gzip(b"tiny");
        let n = gz.len();
        gz[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(inflate(&gz, 1024).expect_err("forged").kind(), "gzip", "the claim is checked, not believed");
        gz[n - 4..].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(inflate(&gz, 1024).expect_err("understated").kind(), "gzip");
        // Under the cap but past anything deflate yields from 24 bytes: nothing is sized for it.
        gz[n - 4..].copy_from_slice(&(16u32 << 20).to_le_bytes());
        let mut kept = Vec::new();
        assert_eq!(inflate_into(&gz, MAX_DECOMPRESSED_BYTES, &mut kept).expect_err("implausible").kind(), "gzip");
        assert!(kept.capacity() < 64 << 10, "{} bytes were allocated for a claim", kept.capacity());
    }

    #[test]
    fn the_most_compressible_stream_stays_under_the_ratio_bound() {
        let zeros = vec![0u8; 8 << 20];
        let best = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(&zeros).expect("write");
            e.finish().expect("finish")
        };
        assert!(zeros.len() <= best.len() * MAX_DEFLATE_RATIO, "ratio {}", zeros.len() / best.len());
        assert_eq!(inflate(&best, MAX_DECOMPRESSED_BYTES).expect("inflates").len(), zeros.len());
    }

    #[test]
    fn concatenated_members_are_all_inflated() {
        let mut gz = gzip(b"first member, ");
        gz.extend(gzip(b"second"));
        assert_eq!(inflate(&gz, 1024).expect("inflates"), b"first member, second");
        let mut longer_first = gzip(b"a longer first member");
        longer_first.extend(gzip(b"short"));
        assert_eq!(inflate(&longer_first, 1024).expect("inflates"), b"a longer first membershort");
        let mut capped = gzip(&[b'x'; 600]);
        capped.extend(gzip(&[b'y'; 600]));
        assert_eq!(inflate(&capped, 1000).expect_err("over the cap").kind(), "too_large");
    }

    #[test]
    fn kept_buffers_decode_alike_and_give_back_what_outgrew_the_limit() {
        // An unknown field holding an object: the one-pass reader declines, simd-json reads it.
        assert!(crate::batch::read(BATCH.as_bytes(), &mut crate::batch::Scratch::default()).is_none());
        let encoded = base64_simd::STANDARD.encode_to_string(gzip(BATCH.as_bytes()));
        let mut buffers = DecodeBuffers::default();
        for _ in 0..2 {
            let batch = buffers.awslogs(encoded.as_bytes()).expect("decodes");
            assert_eq!(batch.log_events[0].message, "plain \"quoted\" line");
            buffers.release();
        }
        assert!(buffers.json.capacity() >= BATCH.len(), "kept for the next delivery");
        let gz = gzip(BATCH.as_bytes());
        assert_eq!(buffers.gzip(&gz).expect("decodes").log_events.len(), 2);
        buffers.release();

        buffers.json = Vec::with_capacity(RETAINED_BYTES + 1);
        buffers.release();
        assert_eq!(buffers.json.capacity(), 0, "an outsized buffer is given back");
        assert!(buffers.gzip.capacity() > 0, "the others are kept");
    }

    #[test]
    fn control_messages_are_recognised() {
        let mut json = *br#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"",
            "subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
        assert!(parse_batch(&mut json[..]).expect("parses").is_control());
    }
}
