//! A minimal HTTP/1.1 client connection: keep-alive, one request in flight, bodies by
//! `Content-Length`, chunked encoding or (for `Connection: close`) end of stream.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub struct Conn {
    stream: BufReader<TcpStream>,
    /// The server said it closes after this answer (or spoke HTTP/1.0 without keep-alive).
    closing: bool,
}

pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

fn invalid(msg: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.into())
}

impl Conn {
    pub async fn connect(addr: &str) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::with_capacity(64 * 1024, stream),
            closing: false,
        })
    }

    /// Whether the connection must be replaced before the next request.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// Sends one complete request (head and body) and reads the answer.
    pub async fn round_trip(
        &mut self,
        request: &[u8],
        line: &mut String,
    ) -> std::io::Result<Answer> {
        self.stream.get_mut().write_all(request).await?;
        line.clear();
        if self.stream.read_line(line).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before the answer",
            ));
        }
        let mut parts = line.split_ascii_whitespace();
        let version = parts.next().unwrap_or_default();
        let http10 = version == "HTTP/1.0";
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid(format!("bad status line {line:?}")))?;
        let mut length: Option<usize> = None;
        let mut chunked = false;
        let mut close = http10;
        loop {
            line.clear();
            if self.stream.read_line(line).await? == 0 {
                return Err(invalid("connection closed in the headers"));
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                let v = value.to_ascii_lowercase();
                if v.contains("close") {
                    close = true;
                } else if v.contains("keep-alive") {
                    close = false;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.stream.read_line(line).await?;
                let size_text = line.trim_end().split(';').next().unwrap_or_default();
                let size = usize::from_str_radix(size_text.trim(), 16)
                    .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
                if size == 0 {
                    // Trailers, then the empty line.
                    loop {
                        line.clear();
                        if self.stream.read_line(line).await? == 0 || line.trim_end().is_empty() {
                            break;
                        }
                    }
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                self.stream.read_exact(&mut body[start..]).await?;
                line.clear();
                self.stream.read_line(line).await?;
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.stream.read_exact(&mut body).await?;
        } else if status >= 200 && status != 204 && status != 304 {
            self.stream.read_to_end(&mut body).await?;
            close = true;
        }
        self.closing = close;
        Ok(Answer { status, body })
    }
}

/// The first value of `field` in a JSON (`"field":"v"` or `"field":["v"`) or XML
/// (`<field>v</field>`) body.
pub fn extract(body: &[u8], field: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let json_key = format!("\"{field}\"");
    if let Some(at) = text.find(&json_key) {
        let rest = text[at + json_key.len()..].trim_start();
        let rest = rest.strip_prefix(':')?.trim_start();
        let rest = rest.strip_prefix('[').unwrap_or(rest).trim_start();
        let rest = rest.strip_prefix('"')?;
        return rest.find('"').map(|end| rest[..end].to_string());
    }
    let open = format!("<{field}>");
    let at = text.find(&open)?;
    let rest = &text[at + open.len()..];
    rest.find('<').map(|end| rest[..end].trim().to_string())
}

/// The error code of an ECS (`"Code":"…"`) or AWS (`<Code>…</Code>`) error body.
pub fn error_code(body: &[u8]) -> Option<String> {
    extract(body, "Code")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_from_json_objects_arrays_and_xml() {
        assert_eq!(
            extract(br#"{"RequestId":"r","ImageId":"m-1"}"#, "ImageId").as_deref(),
            Some("m-1")
        );
        assert_eq!(
            extract(
                br#"{"InstanceIdSets":{"InstanceIdSet": [ "i-9" ]}}"#,
                "InstanceIdSet"
            )
            .as_deref(),
            Some("i-9")
        );
        assert_eq!(
            extract(b"<r><imageId>ami-1</imageId></r>", "imageId").as_deref(),
            Some("ami-1")
        );
        assert_eq!(
            error_code(b"<Response><Errors><Error><Code>InvalidAMIID.NotFound</Code>").as_deref(),
            Some("InvalidAMIID.NotFound")
        );
        assert_eq!(extract(b"{}", "ImageId"), None);
    }

    #[tokio::test]
    async fn reads_length_chunked_and_close_delimited_answers() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await.unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .await
                .unwrap();
            let _ = s.read(&mut buf).await.unwrap();
            s.write_all(b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                .await
                .unwrap();
            let _ = s.read(&mut buf).await.unwrap();
            s.write_all(b"HTTP/1.0 200 OK\r\n\r\nuntil-eof")
                .await
                .unwrap();
        });
        let mut conn = Conn::connect(&addr).await.unwrap();
        let mut line = String::new();
        let a = conn
            .round_trip(b"GET / HTTP/1.1\r\n\r\n", &mut line)
            .await
            .unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, &b"ok"[..]));
        assert!(!conn.is_closing());
        let b = conn
            .round_trip(b"GET / HTTP/1.1\r\n\r\n", &mut line)
            .await
            .unwrap();
        assert_eq!((b.status, b.body.as_slice()), (403, &b"abcde"[..]));
        let c = conn
            .round_trip(b"GET / HTTP/1.1\r\n\r\n", &mut line)
            .await
            .unwrap();
        assert_eq!((c.status, c.body.as_slice()), (200, &b"until-eof"[..]));
        assert!(conn.is_closing());
        server.await.unwrap();
    }
}
