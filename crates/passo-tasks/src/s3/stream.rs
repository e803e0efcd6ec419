//! Object bodies as blocking readers, so a 10 GB object is read a chunk at a time.
//!
//! A local object is its file, read through a buffer. A remote object's body is an async
//! stream of chunks: a task on the runtime pulls it into a bounded channel and [`Body`]
//! takes chunks off the other end, so at most [`CHANNEL_CHUNKS`] chunks wait in memory and a
//! slow reader holds the download back rather than letting it pile up.
//!
//! Reading blocks the thread, so read from `spawn_blocking` or a plain thread, never on a
//! runtime worker (tokio panics if a worker blocks on the channel, which beats a deadlock).

use super::Error;
use bytes::Bytes;
use futures::StreamExt;
use object_store::{GetResult, GetResultPayload};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use tokio::sync::mpsc;

/// An object's content, read as it arrives.
pub type Body = Box<dyn BufRead + Send>;

/// How many chunks a remote body may fetch ahead of its reader.
pub const CHANNEL_CHUNKS: usize = 8;

/// The buffer a local file is read through.
const FILE_BUFFER: usize = 256 * 1024;

/// The body of a get: the file itself when the store is local, else the bridged stream.
/// Must be called inside a tokio runtime (the remote bridge spawns its feeding task there).
pub(crate) fn body(got: GetResult) -> Result<Body, Error> {
    let range = got.range.clone();
    match got.payload {
        GetResultPayload::File(mut file, _) => {
            file.seek(SeekFrom::Start(range.start))
                .map_err(|e| Error::Store(e.to_string()))?;
            let part = file.take(range.end - range.start);
            Ok(Box::new(BufReader::with_capacity(FILE_BUFFER, part)))
        }
        GetResultPayload::Stream(stream) => Ok(Box::new(ChannelReader::spawn(stream))),
    }
}

/// The object as a file, for readers that need to seek (Parquet reads from its end): a local
/// object's own file, a remote one downloaded chunk by chunk into an unnamed temporary file
/// (gone when closed).
pub(crate) async fn file(got: GetResult) -> Result<std::fs::File, Error> {
    match got.payload {
        GetResultPayload::File(mut file, _) => {
            file.seek(SeekFrom::Start(0))
                .map_err(|e| Error::Store(e.to_string()))?;
            Ok(file)
        }
        GetResultPayload::Stream(mut stream) => {
            use tokio::io::AsyncWriteExt;
            let io = |e: std::io::Error| Error::Store(format!("a temporary file: {e}"));
            let mut out = tokio::fs::File::from_std(tempfile::tempfile().map_err(io)?);
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| Error::Store(e.to_string()))?;
                out.write_all(&chunk).await.map_err(io)?;
            }
            out.flush().await.map_err(io)?;
            let mut file = out.into_std().await;
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            Ok(file)
        }
    }
}

/// The reading end of a remote body.
struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    chunk: Bytes,
    pos: usize,
    done: bool,
}

impl ChannelReader {
    fn spawn(
        mut stream: futures::stream::BoxStream<'static, object_store::Result<Bytes>>,
    ) -> ChannelReader {
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        tokio::spawn(async move {
            while let Some(chunk) = stream.next().await {
                let failed = chunk.is_err();
                let item = chunk.map_err(|e| std::io::Error::other(e.to_string()));
                // A dropped reader closes the channel: stop downloading.
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        ChannelReader {
            rx,
            chunk: Bytes::new(),
            pos: 0,
            done: false,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ChannelReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.pos >= self.chunk.len() && !self.done {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                None => self.done = true,
            }
        }
        Ok(&self.chunk[self.pos.min(self.chunk.len())..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.chunk.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// The remote bridge: chunks from an async stream, read on a blocking thread, with a
    /// failed chunk ending the body as an I/O error.
    #[test]
    fn a_stream_reads_as_a_blocking_body() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let chunks: Vec<object_store::Result<Bytes>> = (0..1000)
            .map(|i| Ok(Bytes::from(format!("line {i}\n"))))
            .collect();
        let text = rt.block_on(async {
            let mut body = ChannelReader::spawn(futures::stream::iter(chunks).boxed());
            tokio::task::spawn_blocking(move || {
                let mut lines = 0;
                let mut line = String::new();
                while body.read_line(&mut line).unwrap() > 0 {
                    lines += 1;
                }
                (lines, line)
            })
            .await
            .unwrap()
        });
        assert_eq!(text.0, 1000);
        let failing: Vec<object_store::Result<Bytes>> = vec![
            Ok(Bytes::from_static(b"ab")),
            Err(object_store::Error::NotImplemented {
                operation: "x".into(),
                implementer: "y".into(),
            }),
        ];
        let err = rt.block_on(async {
            let mut body = ChannelReader::spawn(futures::stream::iter(failing).boxed());
            tokio::task::spawn_blocking(move || {
                let mut s = String::new();
                body.read_to_string(&mut s).unwrap_err()
            })
            .await
            .unwrap()
        });
        assert_eq!(err.kind(), std::io::ErrorKind::Other);
    }
}
