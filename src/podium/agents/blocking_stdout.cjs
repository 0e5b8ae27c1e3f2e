// Loaded into gemini (NODE_OPTIONS=--require) by podium. Node writes to a pipe asynchronously, and gemini ends
// with process.exit() without waiting for its output: what is still queued then (the end of a long line, the
// result after it) is lost, and the job reads as ended without a result. Blocking writes are never queued.
for (const stream of [process.stdout, process.stderr]) {
  try {
    stream._handle?.setBlocking?.(true);
  } catch {
    // not a pipe podium reads (a terminal, a file): already written synchronously
  }
}
