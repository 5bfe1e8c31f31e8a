//! A fault-injecting loopback HTTP receiver: answers each request as its
//! script says (a status with headers and body, or a stall), then 204,
//! and records every request it read. Keeps connections alive, as the
//! sink's client does.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status, extra headers and a body.
    Status(u16, Vec<(&'static str, String)>, &'static str),
    /// No answer for this long, then the connection is closed.
    Stall(Duration),
}

/// A request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: Instant,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct Scripted {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Scripted {
    pub fn start(script: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("its address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let recorded = Arc::clone(&requests);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (recorded, script) = (Arc::clone(&recorded), Arc::clone(&script));
                std::thread::spawn(move || serve(conn, &recorded, &script));
            }
        });
        Self { addr, requests }
    }

    pub fn url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(conn: TcpStream, recorded: &Mutex<Vec<Recorded>>, script: &Mutex<VecDeque<Reply>>) {
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((n, v)) = l.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        recorded.lock().unwrap().push(Recorded {
            at: Instant::now(),
            headers,
            body,
        });
        let reply = script.lock().unwrap().pop_front();
        let conn = reader.get_mut();
        match reply {
            Some(Reply::Stall(d)) => {
                std::thread::sleep(d);
                return;
            }
            Some(Reply::Status(status, extra, text)) => {
                let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", text.len());
                for (n, v) in extra {
                    head.push_str(&format!("{n}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(text.as_bytes());
            }
            None => {
                let _ = conn.write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
            }
        }
    }
}
