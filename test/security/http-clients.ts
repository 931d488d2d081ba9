/**
 * Attacking HTTP clients on raw sockets (fetch cannot send a request slowly or keep writing after
 * the answer): a slowloris that trickles headers or a body, and an uploader that keeps sending an
 * oversized body while it reads the response.
 */
import { connect, type Socket } from 'node:net';

export interface SlowOutcome {
  /** Milliseconds from connecting until the server closed the connection. */
  closedAfterMs: number;
  /** Everything the server sent. */
  received: string;
  /** Bytes the client managed to send before the close. */
  sent: number;
}

/**
 * Connects to 127.0.0.1:port, writes `head` at once, then one byte of `trickle` every
 * `intervalMs` (none when it is empty: an idle client) until the server closes the connection
 * (or `giveUpMs` passes: the test fails).
 */
export function slowloris(
  port: number,
  head: string,
  trickle: string,
  intervalMs = 100,
  giveUpMs = 20_000,
): Promise<SlowOutcome> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket: Socket = connect(port, '127.0.0.1');
    let received = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`the server kept a slow client for ${giveUpMs} ms (sent ${sent} bytes)`));
    }, giveUpMs);
    const finish = (): void => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedAfterMs: Date.now() - started, received, sent });
    };
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('close', finish);
    socket.on('error', () => undefined); // a reset is a close too; 'close' follows
    socket.on('connect', () => {
      socket.write(head);
      sent += head.length;
      if (trickle === '') return; // only hold the connection
      let i = 0;
      timer = setInterval(() => {
        if (socket.destroyed || !socket.writable) return;
        socket.write(trickle[i % trickle.length]);
        sent++;
        i++;
      }, intervalMs);
    });
  });
}

export interface UploadOutcome {
  /** The response as far as it was read; empty when the connection was reset before an answer. */
  response: string;
  /** An error the socket reported (ECONNRESET, EPIPE), if any. */
  error?: string;
}

/**
 * Sends `head` and then `bodyBytes` bytes in 64 KiB chunks (framed as HTTP chunks when `chunked`),
 * reading the answer all along; resolves once the server closed the connection.
 */
export function upload(
  port: number,
  head: string,
  bodyBytes: number,
  chunked = false,
): Promise<UploadOutcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    let error: string | undefined;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    socket.on('data', (data: Buffer) => (response += data.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    socket.on('close', () => resolve({ response, error }));
    socket.on('connect', () => {
      socket.write(head);
      let left = bodyBytes;
      const pump = (): void => {
        while (left > 0 && !socket.destroyed) {
          const n = Math.min(left, chunk.length);
          left -= n;
          const data = n === chunk.length ? chunk : chunk.subarray(0, n);
          const framed = chunked
            ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), data, Buffer.from('\r\n')])
            : data;
          if (!socket.write(framed)) {
            socket.once('drain', pump);
            return;
          }
        }
        if (!socket.destroyed) socket.end(chunked ? '0\r\n\r\n' : '');
      };
      pump();
    });
  });
}
