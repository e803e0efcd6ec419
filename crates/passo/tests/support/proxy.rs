//! A TCP proxy the test controls, standing between one Passo node and PostgreSQL, so the
//! test can cut that node off from the database and heal it again.
//!
//! [`Proxy::cut`] makes it a black hole, as a network partition is: bytes already on their
//! way are held (each pump stops after the read it was in, so the kernel's buffers fill
//! behind it and the sender's writes end up blocking), and new connections are accepted but
//! not connected through. Not refused: a partitioned host does not answer RST, and a node
//! that only notices its database is gone through a refusal would be tested on the easy
//! case. The node has to find out by its own clock that its lease ran out.
//!
//! [`Proxy::heal`] forwards again, on the connections open through the cut too: what the
//! node sent during the cut (a commit made under a lease that expired meanwhile) reaches
//! PostgreSQL late, after another node may have taken the lease over, which is the write
//! that fencing must refuse. Connections accepted during the cut are connected upstream
//! then.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

pub struct Proxy {
    addr: String,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    cut: Mutex<bool>,
    changed: Condvar,
    /// Set when the proxy is dropped: every pump and the accept loop end.
    closed: AtomicBool,
    /// Every socket of every connection, to shut them down at drop.
    sockets: Mutex<Vec<TcpStream>>,
    /// Bytes that arrived while cut (held until heal).
    held: AtomicU64,
    /// Connections accepted while cut.
    accepted_cut: AtomicU64,
}

impl State {
    fn is_cut(&self) -> bool {
        *self.cut.lock().unwrap()
    }

    /// Returns once forwarding is on (false when the proxy closed meanwhile).
    fn wait_open(&self) -> bool {
        let mut cut = self.cut.lock().unwrap();
        while *cut && !self.closed.load(Ordering::Relaxed) {
            cut = self.changed.wait(cut).unwrap();
        }
        !self.closed.load(Ordering::Relaxed)
    }

    fn keep(&self, s: &TcpStream) {
        if let Ok(c) = s.try_clone() {
            self.sockets.lock().unwrap().push(c);
        }
    }
}

impl Proxy {
    /// A proxy on a free loopback port forwarding to `upstream` (HOST:PORT).
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new(State::default());
        let (st, up) = (state.clone(), upstream.to_string());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.closed.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                st.keep(&conn);
                if st.is_cut() {
                    st.accepted_cut.fetch_add(1, Ordering::Relaxed);
                }
                let (st, up) = (st.clone(), up.clone());
                std::thread::spawn(move || connect_through(conn, &up, st));
            }
        });
        Proxy { addr, state }
    }

    /// HOST:PORT to give the node instead of PostgreSQL's.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Stops forwarding: a black hole in both directions, for old and new connections.
    pub fn cut(&self) {
        *self.state.cut.lock().unwrap() = true;
    }

    /// Forwards again, delivering what was held.
    pub fn heal(&self) {
        *self.state.cut.lock().unwrap() = false;
        self.state.changed.notify_all();
    }

    /// Bytes that arrived (either way) while cut.
    pub fn held_bytes(&self) -> u64 {
        self.state.held.load(Ordering::Relaxed)
    }

    /// Connections accepted while cut.
    pub fn accepted_while_cut(&self) -> u64 {
        self.state.accepted_cut.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.closed.store(true, Ordering::Relaxed);
        self.heal();
        for s in self.state.sockets.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        // Wakes the accept loop so that it sees `closed`.
        let _ = TcpStream::connect_timeout(&self.addr.parse().unwrap(), Duration::from_secs(1));
    }
}

/// Connects `client` to `upstream` once forwarding is on, then pumps both ways.
fn connect_through(client: TcpStream, upstream: &str, st: Arc<State>) {
    if !st.wait_open() {
        return;
    }
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    st.keep(&server);
    let (c2, s2) = match (client.try_clone(), server.try_clone()) {
        (Ok(c), Ok(s)) => (c, s),
        _ => return,
    };
    let st2 = st.clone();
    std::thread::spawn(move || pump(c2, s2, st2));
    pump(server, client, st);
}

/// Copies `from` to `to`, holding each read while the proxy is cut.
fn pump(mut from: TcpStream, mut to: TcpStream, st: Arc<State>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if st.is_cut() {
            st.held.fetch_add(n as u64, Ordering::Relaxed);
        }
        if !st.wait_open() || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
