/**
 * Runs `call` with a deadline: when it has not answered after `timeoutMs`, the returned promise
 * rejects with `timeoutError()` (callers make it a transient error, so the event is retried). The
 * call itself is not cancelled; a late answer is ignored.
 */
export const callWithDeadline = async <T>(
  call: () => Promise<T>,
  timeoutMs: number,
  timeoutError: () => Error,
): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), timeoutMs);
  });
  try {
    return await Promise.race([call(), deadline]);
  } finally {
    clearTimeout(timer);
  }
};
