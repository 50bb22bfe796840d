import type { MessageView } from '../../src/sandbox/index.ts';

/** Follows GET /sandbox/events and keeps every message created, until the sandbox closes the stream. */
export function followMessages(url: string): { messages: MessageView[]; ended: Promise<void> } {
  const messages: MessageView[] = [];
  const ended = (async () => {
    const res = await fetch(`${url}/sandbox/events`);
    if (!res.body) throw new Error('no event stream');
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      const frames = buffer.split('\n\n');
      buffer = frames.pop() ?? '';
      for (const frame of frames) {
        const lines = frame.split('\n');
        if (!lines.includes('event: message')) continue;
        const data = lines.find((l) => l.startsWith('data: '));
        if (data) messages.push(JSON.parse(data.slice('data: '.length)) as MessageView);
      }
    }
  })();
  return { messages, ended };
}
