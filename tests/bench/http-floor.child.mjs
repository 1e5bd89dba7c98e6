// The host bench's HTTP floor (http-floor.ts): a bare node:http server that answers every POST
// with the same bytes, doing no work: it reads the body, parses it as JSON (as any server must)
// and writes one prebuilt buffer of the size it was started with. What the lean client then
// measures is the least that moving the request and the file over loopback HTTP can cost here.
import http from "node:http";

const size = Number(process.argv[2]);
if (!Number.isInteger(size) || size <= 0) throw new Error(`http-floor: a body size in bytes, not '${process.argv[2]}'`);
const body = Buffer.alloc(size, 1);
const server = http.createServer((req, res) => {
  const parts = [];
  req.on("data", (d) => parts.push(d));
  req.on("end", () => {
    JSON.parse(Buffer.concat(parts).toString());
    res.writeHead(200, { "content-type": "audio/wav", "content-length": String(size) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => process.send?.(server.address().port));
process.on("disconnect", () => process.exit(0));
