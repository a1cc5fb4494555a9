// Reading a child process's output in tests.

/** The first whole line of a stream (a child's stdout): a chunk may end mid-line. */
export async function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += String(chunk);
    const nl = text.indexOf('\n');
    if (nl >= 0) return text.slice(0, nl);
  }
  throw new Error(`no line before the end of the output: ${JSON.stringify(text)}`);
}
