'use strict';
// The example app: a tiny HTTP service that says which instance answered.
const http = require('node:http');

const port = Number(process.env.PORT || 3000);
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ hello: process.env.GREETING || 'world', pid: process.pid, instance: process.env.NODE_APP_INSTANCE }) + '\n');
});
server.listen(port, () => {
  console.log(`hello listening on :${port}`);
  if (process.send) process.send('ready'); // for wait_ready
});
process.on('SIGINT', () => server.close(() => process.exit(0)));
