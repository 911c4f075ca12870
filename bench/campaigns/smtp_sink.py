#!/usr/bin/env python3
"""A loopback SMTP sink for bench/campaigns/run.sh: accepts every message, keeps nothing but a
count (and the Message-IDs, to count duplicates), answers as fast as asyncio allows. Both sides
of the benchmark send to it, so its own cost is the same for both.

    smtp_sink.py PORT COUNT_FILE
"""
import asyncio
import signal
import sys

count = 0
ids = set()
dupes = 0


async def session(reader, writer):
    global count, dupes
    writer.write(b"220 sink ESMTP\r\n")
    await writer.drain()
    while True:
        line = await reader.readline()
        if not line:
            break
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            writer.write(b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
        elif verb == b"DATA":
            writer.write(b"354 go on\r\n")
            await writer.drain()
            mid = None
            while True:
                l = await reader.readline()
                if not l or l == b".\r\n":
                    break
                if mid is None and l[:11].lower() == b"message-id:":
                    mid = l[11:].strip()
            count += 1
            if mid is not None:
                if mid in ids:
                    dupes += 1
                ids.add(mid)
            writer.write(b"250 queued\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 ok\r\n")
        await writer.drain()
    writer.close()


def dump(path):
    with open(path, "w") as f:
        f.write(f"{count} {len(ids)} {dupes}\n")


async def main(port, path):
    server = await asyncio.start_server(session, "127.0.0.1", port)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set_result, None)
    # The count is written every second: the script reads it between the two senders.
    async def tick():
        while True:
            dump(path)
            await asyncio.sleep(1)
    t = asyncio.create_task(tick())
    await stop
    t.cancel()
    dump(path)
    server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
