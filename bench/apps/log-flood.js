'use strict';
// Prints LINES numbered lines ("line <n>") with console.log in a tight loop, as
// fast as its stdout takes them (a pipe: each write blocks while the reader
// lags, so nothing is dropped on the app's side), then idles.
const lines = Number(process.env.LINES || 100_000);
for (let i = 0; i < lines; i++) console.log(`line ${i}`);
setInterval(() => {}, 1 << 30);
