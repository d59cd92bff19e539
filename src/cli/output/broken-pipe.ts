/**
 * `ssh-egress check -o json | head` must not end in a stack trace: when the reader of stdout goes away
 * (EPIPE), stop quietly with the exit status so far, as a shell tool is expected to.
 * Returns the function that removes the handler (dial handles its own stdout: it is the stream).
 */
export function exitQuietlyOnBrokenPipe(exitCode: () => number): () => void {
  const onError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') process.exit(exitCode());
    throw err;
  };
  process.stdout.on('error', onError);
  return () => process.stdout.off('error', onError);
}
