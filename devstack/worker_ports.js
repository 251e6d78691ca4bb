// Preloaded into firebase-tools by devstack/stack.py (NODE_OPTIONS=--require): how the
// Functions emulator reaches its Python workers, made safe. Both failures below answered a
// request with a bare 500 "socket hang up" ({"code":"ECONNRESET"}) and failed a test now and
// then.
//
// Ports: the emulator starts each new worker on a port from portfinder, which only checks
// that the port is free at that instant, from a random start in 8081-9080; the worker binds
// it a second or two later, once our code has loaded. Two workers started together could be
// handed the same port. Here a port is handed out once per HOLD_MS, one request at a time.
//
// Connections: the emulator sends requests to a worker through node's keep-alive agent
// (idle sockets kept 5 s), while a threaded gunicorn worker closes an idle connection after
// 2 s; with firebase-tools' event loop busy, a request could go out on a socket the worker
// had just closed. Here each request to a worker opens a connection of its own. (Our stacks
// now run gunicorn's sync worker, THREADS=1 in devstack/stack.py, which closes every
// connection after its answer; this keeps the guarantee whatever the worker class.)
"use strict";

const HOLD_MS = 120000;

function install() {
  const path = require("path");
  const tools = path.dirname(require.resolve("firebase-tools/package.json"));
  const portfinder = require(require.resolve("portfinder", { paths: [tools] }));
  if (portfinder.__workerPortsOnce) {
    return;
  }
  const find = portfinder.getPortPromise.bind(portfinder);
  const handedOut = new Map(); // port -> when it was handed out
  let queue = Promise.resolve();

  async function fresh(options) {
    const now = Date.now();
    for (const [port, at] of handedOut) {
      if (now - at > HOLD_MS) {
        handedOut.delete(port);
      }
    }
    let start = (options && options.port) || 8000;
    for (;;) {
      const port = await find({ ...options, port: start });
      if (!handedOut.has(port)) {
        handedOut.set(port, now);
        return port;
      }
      start = port + 1;
    }
  }

  portfinder.getPortPromise = function (options) {
    const next = queue.then(() => fresh(options));
    queue = next.catch(() => undefined);
    return next;
  };
  portfinder.__workerPortsOnce = true;

  const emulator = require(path.join(tools, "lib", "emulator", "functionsEmulator.js"));
  const reqOpts = emulator.TCPConn.prototype.httpReqOpts;
  emulator.TCPConn.prototype.httpReqOpts = function () {
    return { ...reqOpts.call(this), agent: false };
  };
}

// Only firebase-tools starts workers; other node processes started from its environment
// (a browser test's driver) are left as they are.
if (/(^|[\\/])firebase(\.js)?$/.test(process.argv[1] || "")) {
  try {
    install();
  } catch (error) {
    process.emitWarning(`worker ports: not installed (${error.message})`);
  }
}
