//! A paging provider on loopback for tests: PagerDuty Events API v2 (`/v2/enqueue`) and Opsgenie Alert API (`/v2/alerts`) semantics, payloads validated strictly, incidents kept by dedup key.

// Real SNS with `RawMessageDelivery` posts the message itself; moto's SNS ignores that attribute
// and posts its envelope (`{"Type":"Notification","Message":"..."}`) synchronously, inside
// Publish, so an envelope is unwrapped when present. A `SubscriptionConfirmation` (real SNS
// only; moto confirms http subscriptions itself) is answered 200 and its `SubscribeURL` recorded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Which API a request spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    PagerDuty,
    Opsgenie,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Triggered,
    Acknowledged,
    Resolved,
}

/// One incident (PagerDuty) or alert (Opsgenie), by dedup key or alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub provider: Provider,
    pub key: String,
    pub status: Status,
    /// Triggers (creates) after the first, appended to this open incident.
    pub appended: u32,
    /// Opsgenie notes, in order.
    pub notes: Vec<String>,
    /// The actions applied, in order (`trigger`, `resolve`, `create`, `addNote`, `close`...).
    pub actions: Vec<String>,
    /// PagerDuty `payload.summary` or Opsgenie `message` of the first trigger.
    pub summary: String,
    /// The last accepted body for it (unwrapped), as sent.
    pub last_body: String,
}

/// One HTTP request as it arrived, and the status it was answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub path: String,
    pub body: String,
    pub status: u16,
    /// It came in an SNS envelope.
    pub enveloped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub body: String,
    pub reason: String,
}

/// Everything the receiver has seen.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub incidents: Vec<Incident>,
    pub requests: Vec<Received>,
    pub rejections: Vec<Rejection>,
    /// Resolves, closes and notes for a key with nothing open (`resolve <key>`): accepted, as the
    /// providers accept them, and kept here.
    pub unmatched: Vec<String>,
    /// The `SubscribeURL` of each SNS subscription confirmation.
    pub confirmations: Vec<String>,
    generated: u64,
}

/// The receiver; dropping it stops the server.
#[derive(Debug)]
pub struct PagerReceiver {
    port: u16,
    state: Arc<Mutex<Snapshot>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn lock(state: &Mutex<Snapshot>) -> std::sync::MutexGuard<'_, Snapshot> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl PagerReceiver {
    /// Serves on `127.0.0.1:0`; with `routing_key`, PagerDuty events must carry exactly that key.
    pub fn start(routing_key: Option<&str>) -> std::io::Result<PagerReceiver> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(Snapshot::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, halt, key) = (state.clone(), stop.clone(), routing_key.map(str::to_string));
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = conn {
                    let _ = serve(stream, &s, key.as_deref());
                }
            }
        });
        Ok(PagerReceiver { port, state, stop, thread: Some(thread) })
    }

    /// The PagerDuty Events API v2 endpoint.
    pub fn pagerduty_url(&self) -> String {
        format!("http://127.0.0.1:{}/v2/enqueue", self.port)
    }

    /// The Opsgenie Alert API endpoint (the request's `action` says create, addNote or close).
    pub fn opsgenie_url(&self) -> String {
        format!("http://127.0.0.1:{}/v2/alerts", self.port)
    }

    /// What arrived so far: incidents, raw requests, rejections, unmatched follow-ups, confirmations.
    pub fn snapshot(&self) -> Snapshot {
        lock(&self.state).clone()
    }

    /// Waits until at least `count` requests arrived; whether they did within `timeout`.
    pub fn wait_for_requests(&self, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while lock(&self.state).requests.len() < count {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }
}

impl Drop for PagerReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, state: &Mutex<Snapshot>, key: Option<&str>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or_default().to_string(), parts.next().unwrap_or_default().to_string());
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).to_string();
    let (status, answer) = match (method.as_str(), path.split('?').next().unwrap_or_default()) {
        ("POST", p @ ("/v2/enqueue" | "/v2/alerts")) => {
            let provider = if p == "/v2/enqueue" { Provider::PagerDuty } else { Provider::Opsgenie };
            handle(&mut lock(state), provider, &path, &body, key)
        }
        _ => {
            lock(state).requests.push(Received { path: path.clone(), body, status: 404, enveloped: false });
            (404, r#"{"message":"not found"}"#.to_string())
        }
    };
    let reasons = [(200, "OK"), (202, "Accepted"), (404, "Not Found"), (422, "Unprocessable Entity")];
    let reason = reasons.iter().find(|(code, _)| *code == status).map_or("Bad Request", |(_, r)| r);
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    )?;
    out.flush()
}

/// One request: unwrapped from an SNS envelope if it is one, validated, applied; the status and body answered.
fn handle(s: &mut Snapshot, provider: Provider, path: &str, body: &str, key: Option<&str>) -> (u16, String) {
    let mut enveloped = false;
    let result = parse(body).and_then(|outer| {
        let sns = outer.get("Type").and_then(Json::as_str).filter(|_| outer.get("TopicArn").is_some());
        match sns {
            Some("SubscriptionConfirmation") => {
                s.confirmations.push(outer.get("SubscribeURL").and_then(Json::as_str).unwrap_or_default().to_string());
                Ok(None)
            }
            Some("UnsubscribeConfirmation") => Ok(None),
            Some("Notification") => {
                enveloped = true;
                let message = outer.get("Message").and_then(Json::as_str).ok_or("the SNS envelope has no Message")?;
                Ok(Some((parse(message)?, message.to_string())))
            }
            Some(other) => Err(format!("SNS message type `{other}` is not one a subscriber gets")),
            None => Ok(Some((outer, body.to_string()))),
        }
    });
    let (status, answer) = match result {
        Ok(None) => (200, "{}".to_string()),
        Ok(Some((event, raw))) => {
            let applied = match provider {
                Provider::PagerDuty => pagerduty(s, &event, &raw, key),
                Provider::Opsgenie => opsgenie(s, &event, &raw),
            };
            match applied {
                Ok(answer) => (202, answer),
                Err(reason) => reject(s, provider, &raw, reason),
            }
        }
        Err(reason) => reject(s, provider, body, reason),
    };
    s.requests.push(Received { path: path.to_string(), body: body.to_string(), status, enveloped });
    (status, answer)
}

fn reject(s: &mut Snapshot, provider: Provider, body: &str, reason: String) -> (u16, String) {
    let answer = match provider {
        Provider::PagerDuty => format!(r#"{{"status":"invalid event","errors":["{}"]}}"#, escape(&reason)),
        Provider::Opsgenie => format!(r#"{{"message":"{}","took":0.0}}"#, escape(&reason)),
    };
    s.rejections.push(Rejection { body: body.to_string(), reason });
    (if provider == Provider::PagerDuty { 400 } else { 422 }, answer)
}

fn only(obj: &Json, allowed: &[&str], what: &str) -> Result<(), String> {
    let Json::Obj(fields) = obj else { return Err(format!("{what} is not an object")) };
    match fields.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        Some((k, _)) => Err(format!("{what} has unknown field `{k}`")),
        None => Ok(()),
    }
}

/// `field` of `obj`, a string of `min..=max` characters when present; `required` makes it present.
fn text<'a>(obj: &'a Json, field: &str, required: bool, max: usize) -> Result<Option<&'a str>, String> {
    match obj.get(field) {
        None | Some(Json::Null) if !required => Ok(None),
        None | Some(Json::Null) => Err(format!("`{field}` is required")),
        Some(Json::Str(v)) if v.is_empty() && required => Err(format!("`{field}` is empty")),
        Some(Json::Str(v)) if v.chars().count() > max => Err(format!("`{field}` is longer than {max} characters")),
        Some(Json::Str(v)) => Ok(Some(v)),
        Some(_) => Err(format!("`{field}` is not a string")),
    }
}

fn open_of<'a>(s: &'a mut Snapshot, provider: Provider, key: &str) -> Option<&'a mut Incident> {
    s.incidents.iter_mut().find(|i| i.provider == provider && i.key == key && i.status != Status::Resolved)
}

const PD_FIELDS: &[&str] =
    &["routing_key", "event_action", "dedup_key", "payload", "links", "images", "client", "client_url"];
const PD_PAYLOAD: &[&str] =
    &["summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details"];
const OG_CREATE: &[&str] =
    &["action", "message", "alias", "description", "priority", "details", "source", "tags", "entity", "user", "note"];

fn pagerduty(s: &mut Snapshot, e: &Json, raw: &str, expected: Option<&str>) -> Result<String, String> {
    only(e, PD_FIELDS, "the event")?;
    let routing_key = text(e, "routing_key", true, 32)?.unwrap_or_default();
    if routing_key.chars().count() != 32 || expected.is_some_and(|k| k != routing_key) {
        return Err("`routing_key` is not an integration key of this service".into());
    }
    let action = text(e, "event_action", true, 16)?.unwrap_or_default();
    let dedup = text(e, "dedup_key", action != "trigger", 255)?.map(str::to_string);
    for (list, field) in [("links", "href"), ("images", "src")] {
        match e.get(list) {
            None => {}
            Some(Json::Arr(items)) => {
                for item in items {
                    text(item, field, true, 2048).map_err(|m| format!("{list}: {m}"))?;
                }
            }
            Some(_) => return Err(format!("`{list}` is not an array")),
        }
    }
    let key = match action {
        "trigger" => {
            let p = e.get("payload").ok_or("`payload` is required for a trigger")?;
            only(p, PD_PAYLOAD, "payload")?;
            let summary = text(p, "summary", true, 1024)?.unwrap_or_default().to_string();
            text(p, "source", true, 1024)?;
            let severity = text(p, "severity", true, 16)?.unwrap_or_default();
            if !["critical", "error", "warning", "info"].contains(&severity) {
                return Err(format!("`severity` `{severity}` is not critical, error, warning or info"));
            }
            for f in ["timestamp", "component", "group", "class"] {
                text(p, f, false, 1024)?;
            }
            if p.get("custom_details").is_some_and(|d| !matches!(d, Json::Obj(_))) {
                return Err("`custom_details` is not an object".into());
            }
            let key = dedup.unwrap_or_else(|| {
                s.generated += 1;
                format!("generated-{}", s.generated)
            });
            trigger(s, Provider::PagerDuty, &key, "trigger", summary, raw);
            key
        }
        "acknowledge" | "resolve" => {
            let key = dedup.unwrap_or_default();
            let status = if action == "resolve" { Status::Resolved } else { Status::Acknowledged };
            follow(s, Provider::PagerDuty, &key, action, raw, |i| i.status = status);
            key
        }
        other => return Err(format!("`event_action` `{other}` is not trigger, acknowledge or resolve")),
    };
    Ok(format!(r#"{{"status":"success","message":"Event processed","dedup_key":"{}"}}"#, escape(&key)))
}

/// A trigger or create: appended to the open incident of `key`, else a new one.
fn trigger(s: &mut Snapshot, provider: Provider, key: &str, action: &str, summary: String, raw: &str) {
    if let Some(i) = open_of(s, provider, key) {
        i.appended += 1;
        i.actions.push(action.into());
        i.last_body = raw.into();
        return;
    }
    s.incidents.push(Incident {
        provider,
        key: key.into(),
        status: Status::Triggered,
        appended: 0,
        notes: Vec::new(),
        actions: vec![action.into()],
        summary,
        last_body: raw.into(),
    });
}

/// A resolve, acknowledge, close or note on the open incident of `key`; with none, kept as unmatched.
fn follow(s: &mut Snapshot, provider: Provider, key: &str, action: &str, raw: &str, apply: impl FnOnce(&mut Incident)) {
    match open_of(s, provider, key) {
        Some(i) => {
            apply(i);
            i.actions.push(action.into());
            i.last_body = raw.into();
        }
        None => s.unmatched.push(format!("{action} {key}")),
    }
}

fn opsgenie(s: &mut Snapshot, e: &Json, raw: &str) -> Result<String, String> {
    let action = text(e, "action", true, 16)?.unwrap_or_default();
    match action {
        "create" => {
            only(e, OG_CREATE, "the alert")?;
            let message = text(e, "message", true, 130)?.unwrap_or_default().to_string();
            let alias = text(e, "alias", false, 512)?.map(str::to_string);
            text(e, "description", false, 15_000)?;
            for (f, max) in [("source", 100), ("entity", 512), ("user", 100), ("note", 25_000)] {
                text(e, f, false, max)?;
            }
            if let Some(p) = text(e, "priority", false, 2)?
                && !["P1", "P2", "P3", "P4", "P5"].contains(&p)
            {
                return Err(format!("`priority` `{p}` is not P1 to P5"));
            }
            match e.get("tags") {
                None => {}
                Some(Json::Arr(tags)) if tags.len() <= 20 => {
                    for t in tags {
                        match t {
                            Json::Str(t) if t.chars().count() <= 50 => {}
                            _ => return Err("a tag is not a string of at most 50 characters".into()),
                        }
                    }
                }
                Some(_) => return Err("`tags` is not an array of at most 20".into()),
            }
            match e.get("details") {
                None => {}
                Some(Json::Obj(d)) => {
                    let mut size = 0;
                    for (k, v) in d {
                        let Json::Str(v) = v else { return Err(format!("detail `{k}` is not a string")) };
                        size += k.chars().count() + v.chars().count();
                    }
                    if size > 8000 {
                        return Err(format!("`details` is {size} characters, above 8000"));
                    }
                }
                Some(_) => return Err("`details` is not an object".into()),
            }
            let key = alias.unwrap_or_else(|| message.clone());
            trigger(s, Provider::Opsgenie, &key, "create", message, raw);
        }
        "addNote" | "close" => {
            only(e, &["action", "alias", "note", "source", "user"], "the request")?;
            let alias = text(e, "alias", true, 512)?.unwrap_or_default().to_string();
            let note = text(e, "note", action == "addNote", 25_000)?.map(str::to_string);
            for (f, max) in [("source", 100), ("user", 100)] {
                text(e, f, false, max)?;
            }
            follow(s, Provider::Opsgenie, &alias, action, raw, |i| {
                i.notes.extend(note);
                if action == "close" {
                    i.status = Status::Resolved;
                }
            });
        }
        other => return Err(format!("`action` `{other}` is not create, addNote or close")),
    }
    Ok(format!(r#"{{"result":"Request will be processed","took":0.0,"requestId":"{}"}}"#, s.requests.len() + 1))
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The JSON the receiver reads: enough of RFC 8259 to validate payloads without a dependency.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        if let Json::Str(s) = self { Some(s) } else { None }
    }
}

fn parse(text: &str) -> Result<Json, String> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    let value = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("the body is not JSON: trailing data at byte {}", p.i));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b" \t\r\n".contains(b)) {
            self.i += 1;
        }
    }

    fn fail<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("the body is not JSON: {what} at byte {}", self.i))
    }

    fn eat(&mut self, word: &str) -> bool {
        let hit = self.s[self.i..].starts_with(word.as_bytes());
        if hit {
            self.i += word.len();
        }
        hit
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > 64 {
            return self.fail("nesting too deep");
        }
        self.ws();
        match self.s.get(self.i) {
            Some(&open @ (b'{' | b'[')) => {
                self.i += 1;
                let (object, close) = (open == b'{', if open == b'{' { "}" } else { "]" });
                let (mut fields, mut items) = (Vec::new(), Vec::new());
                self.ws();
                while !self.eat(close) {
                    if !fields.is_empty() || !items.is_empty() {
                        if !self.eat(",") {
                            return self.fail("expected `,`");
                        }
                        self.ws();
                    }
                    if object {
                        let key = self.string()?;
                        self.ws();
                        if !self.eat(":") {
                            return self.fail("expected `:`");
                        }
                        fields.push((key, self.value(depth + 1)?));
                    } else {
                        items.push(self.value(depth + 1)?);
                    }
                    self.ws();
                }
                Ok(if object { Json::Obj(fields) } else { Json::Arr(items) })
            }
            Some(b'"') => self.string().map(Json::Str),
            _ if self.eat("true") => Ok(Json::Bool(true)),
            _ if self.eat("false") => Ok(Json::Bool(false)),
            _ if self.eat("null") => Ok(Json::Null),
            _ => {
                let start = self.i;
                while self.s.get(self.i).is_some_and(|b| b"+-.eE0123456789".contains(b)) {
                    self.i += 1;
                }
                let n = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
                match n.parse::<f64>() {
                    Ok(v) if !n.starts_with('+') => Ok(Json::Num(v)),
                    _ => self.fail("expected a value"),
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        if !self.eat("\"") {
            return self.fail("expected a string");
        }
        let mut out = String::new();
        loop {
            let start = self.i;
            while self.s.get(self.i).is_some_and(|b| *b != b'"' && *b != b'\\' && *b >= 0x20) {
                self.i += 1;
            }
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).or_else(|_| self.fail("invalid UTF-8"))?);
            let Some(&b) = self.s.get(self.i) else { return self.fail("unterminated string") };
            self.i += 1;
            match (b, self.s.get(self.i).copied()) {
                (b'"', _) => return Ok(out),
                (b'\\', Some(b'u')) => {
                    self.i += 1;
                    let high = self.hex4()?;
                    let code = if (0xD800..0xDC00).contains(&high) && self.eat("\\u") {
                        let low = self.hex4()?;
                        if !(0xDC00..0xE000).contains(&low) {
                            return self.fail("unpaired surrogate");
                        }
                        0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        high
                    };
                    out.push(char::from_u32(code).map_or_else(|| self.fail("invalid \\u escape"), Ok)?);
                }
                (b'\\', Some(e)) => match b"\"\\/bfnrt".iter().position(|x| *x == e) {
                    Some(k) => {
                        self.i += 1;
                        out.push(['"', '\\', '/', '\u{8}', '\u{c}', '\n', '\r', '\t'][k]);
                    }
                    None => return self.fail("invalid escape"),
                },
                _ => return self.fail("control character or unterminated escape in a string"),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.s.get(self.i..self.i + 4).and_then(|d| std::str::from_utf8(d).ok());
        match digits.and_then(|d| u32::from_str_radix(d, 16).ok()) {
            Some(v) => {
                self.i += 4;
                Ok(v)
            }
            None => self.fail("invalid \\u escape"),
        }
    }
}
