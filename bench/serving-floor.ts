/**
 * The floor of the serving benchmark: a bare node:http server that reads the request body and
 * answers a fixed JSON body of the same size as a prediction. Nothing a model server does can be
 * faster on the same machine. Prints its URL on stdout; stops on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const body = JSON.stringify({ predictions: [15.350413445364625] });
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
